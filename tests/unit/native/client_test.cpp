// native::makeClient: the core Client over the Beast transport and the Asio scheduler, against a
// minimal STOMP responder in the in-test WebSocket server.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>

#include <stompwire/native/client.hpp>

#include "mini_broker.hpp"
#include "support.hpp"
#include "ws_server.hpp"

using namespace std::chrono_literals;
using stompwire::ClientState;
using stompwire::test::MiniBroker;
using stompwire::test::runUntil;
namespace native = stompwire::native;
namespace asio = boost::asio;

namespace {

stompwire::PublishParams pub(std::string destination, std::string body, bool receipt) {
  stompwire::PublishParams p;
  p.destination = std::move(destination);
  p.body = std::move(body);
  p.receipt = receipt;
  return p;
}

native::ClientOptions clientOptions(std::uint16_t port) {
  native::ClientOptions o;
  o.brokerURL = "ws://127.0.0.1:" + std::to_string(port) + "/ws";
  o.heartbeatIncoming = stompwire::Millis(0);
  o.heartbeatOutgoing = stompwire::Millis(0);
  o.reconnect.initialDelay = stompwire::Millis(10);
  o.reconnect.maxDelay = stompwire::Millis(50);
  return o;
}

// A server on its own io_context and thread, so the client side can run on several threads.
struct ServerThread {
  asio::io_context ioc;
  MiniBroker broker;
  std::unique_ptr<stompwire::test::WsServer> server;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
  std::thread thread;

  ServerThread() {
    stompwire::test::WsServerConfig cfg;
    cfg.respond = broker;
    server = stompwire::test::startPlainWsServer(ioc, cfg);
    thread = std::thread([this] { ioc.run(); });
  }
  ~ServerThread() {
    asio::post(ioc, [this] { server.reset(); });
    work.reset();
    ioc.stop();
    thread.join();
    server.reset();
  }
  std::uint16_t port() const { return server->port(); }
  void dropAll() {
    std::promise<void> done;
    asio::post(ioc, [&] {
      server->dropAll();
      done.set_value();
    });
    done.get_future().wait();
  }
};

}  // namespace

TEST_CASE("makeClient: connects, subscribes, publishes with a receipt and receives the message") {
  asio::io_context ioc;
  ServerThread server;
  auto client = native::makeClient(ioc.get_executor(), clientOptions(server.port()));
  std::vector<std::string> received;
  std::vector<ClientState> states;
  client->onStateChange([&](const stompwire::StateChange& c) { states.push_back(c.state); });
  auto sub = client->subscribe("/topic/a", [&](const stompwire::Message& m) { received.emplace_back(m.body()); });
  client->activate();
  REQUIRE(runUntil(ioc, [&] { return client->connected(); }));
  auto handle = client->publish(pub("/topic/a", "hello native", true));
  REQUIRE(runUntil(ioc, [&] { return handle.done() && !received.empty(); }));
  CHECK(handle.status() == stompwire::PublishStatus::completed);
  CHECK(received == std::vector<std::string>{"hello native"});
  CHECK(states.front() == ClientState::connecting);
  CHECK(states.back() == ClientState::connected);
  bool deactivated = false;
  client->deactivate({}, [&] { deactivated = true; });
  REQUIRE(runUntil(ioc, [&] { return deactivated; }));
  CHECK(client->state() == ClientState::inactive);
}

TEST_CASE("makeClient: invalid options are reported, or thrown by the throwing overload") {
  asio::io_context ioc;
  native::ClientOptions o;  // no brokerURL
  std::error_code ec;
  std::string what;
  CHECK(native::makeClient(ioc.get_executor(), o, ec, &what) == nullptr);
  CHECK(ec == stompwire::errc::invalid_argument);
  CHECK(what == "brokerURL");
  CHECK_THROWS_AS(native::makeClient(ioc.get_executor(), o), std::system_error);

  // A URL no transport can open is refused here, not retried forever by the reconnect policy.
  for (const char* url : {"http://127.0.0.1:8080/ws", "ws://", "ws://[::1/ws", "ws://host:99999/ws"}) {
    CAPTURE(url);
    o.brokerURL = url;
    what.clear();
    CHECK(native::makeClient(ioc.get_executor(), o, ec, &what) == nullptr);
    CHECK(ec == stompwire::errc::invalid_argument);
    CHECK(what == "brokerURL");
  }
  o.brokerURL = "stomp+ssl://[::1]:61614";
  CHECK(native::makeClient(ioc.get_executor(), o, ec, &what) != nullptr);
  CHECK(!ec);
}

TEST_CASE("makeClient: reconnects after the server drops the connection and keeps the subscription") {
  asio::io_context ioc;
  ServerThread server;
  auto client = native::makeClient(ioc.get_executor(), clientOptions(server.port()));
  std::vector<std::string> received;
  client->subscribe("/topic/r", [&](const stompwire::Message& m) { received.emplace_back(m.body()); });
  client->activate();
  REQUIRE(runUntil(ioc, [&] { return client->connected(); }));
  server.dropAll();
  REQUIRE(runUntil(ioc, [&] { return client->state() != ClientState::connected; }));
  REQUIRE(runUntil(ioc, [&] { return client->connected(); }));
  CHECK(server.broker.state->connects >= 2);
  auto h = client->publish(pub("/topic/r", "after reconnect", true));
  REQUIRE(runUntil(ioc, [&] { return h.done() && !received.empty(); }));
  CHECK(received.back() == "after reconnect");
}

TEST_CASE("makeClient: destroying the client inside its own callback is safe") {
  asio::io_context ioc;
  ServerThread server;
  auto client = native::makeClient(ioc.get_executor(), clientOptions(server.port()));
  int afterDestroy = 0;
  bool destroyed = false;
  client->onStateChange([&](const stompwire::StateChange&) {
    if (destroyed) ++afterDestroy;
  });
  client->onConnect([&](const stompwire::Frame&) {
    client.reset();
    destroyed = true;
  });
  client->activate();
  REQUIRE(runUntil(ioc, [&] { return destroyed; }));
  runUntil(ioc, [] { return false; }, 50ms);
  CHECK(afterDestroy == 0);
}

TEST_CASE("makeClient: destroying the client from another thread while it connects is safe") {
  asio::io_context ioc;
  ServerThread server;
  auto work = asio::make_work_guard(ioc);
  std::vector<std::thread> io;
  for (int i = 0; i < 2; ++i) io.emplace_back([&] { ioc.run(); });
  for (int round = 0; round < 20; ++round) {
    auto client = native::makeClient(ioc.get_executor(), clientOptions(server.port()));
    std::atomic<int> calls{0};
    client->onStateChange([&](const stompwire::StateChange&) { ++calls; });
    client->activate();
    if (round % 2) client->subscribe("/topic/x", [](const stompwire::Message&) {});
    client.reset();  // from this thread, with the io threads running the attempt
  }
  work.reset();
  ioc.stop();
  for (auto& t : io) t.join();
  SUCCEED("no crash, no sanitizer report");
}

TEST_CASE("makeClient: 4 threads publish and subscribe while the connection drops; callbacks stay on the io threads, one at a time") {
  asio::io_context ioc;
  ServerThread server;
  auto o = clientOptions(server.port());
  o.offlineQueue.maxMessages = 10000;
  o.offlineQueue.maxBytes = 10 * 1024 * 1024;
  auto client = native::makeClient(ioc.get_executor(), o);

  std::mutex idsMutex;
  std::set<std::thread::id> ioThreads, callbackThreads;
  std::atomic<int> inCallback{0}, overlaps{0}, delivered{0};
  auto enter = [&] {
    if (++inCallback > 1) ++overlaps;
    std::lock_guard l(idsMutex);
    callbackThreads.insert(std::this_thread::get_id());
  };
  client->onStateChange([&](const stompwire::StateChange&) {
    enter();
    --inCallback;
  });
  client->subscribe("/topic/mt", [&](const stompwire::Message&) {
    enter();
    ++delivered;
    --inCallback;
  });

  auto work = asio::make_work_guard(ioc);
  std::vector<std::thread> io;
  for (int i = 0; i < 2; ++i) {
    io.emplace_back([&] {
      {
        std::lock_guard l(idsMutex);
        ioThreads.insert(std::this_thread::get_id());
      }
      ioc.run();
    });
  }
  std::promise<void> firstConnect;
  std::atomic<bool> connectedOnce{false};
  client->onConnect([&](const stompwire::Frame&) {
    if (!connectedOnce.exchange(true)) firstConnect.set_value();
  });
  client->activate();
  // Publishing starts on a live connection, so the drop below cuts through traffic in flight.
  REQUIRE(firstConnect.get_future().wait_for(10s) == std::future_status::ready);

  constexpr int kThreads = 4, kPerThread = 150;
  std::vector<std::thread> producers;
  std::vector<std::vector<stompwire::PublishHandle>> handles(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        handles[t].push_back(client->publish(pub("/topic/mt", std::to_string(t) + ":" + std::to_string(i), true)));
        if (i % 25 == 0) {
          auto s = client->subscribe("/topic/other" + std::to_string(t), [](const stompwire::Message&) {});
          client->unsubscribe(s);
        }
        if (t == 0 && i == kPerThread / 2) server.dropAll();
      }
    });
  }
  for (auto& p : producers) p.join();

  // Every publish completes: receipts, offline queue and re-send across the drop.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool allDone = false;
  int failedCount = 0;
  while (!allDone && std::chrono::steady_clock::now() < deadline) {
    client->withLock([&](stompwire::Client&) {
      allDone = true;
      failedCount = 0;
      for (auto& v : handles) {
        for (auto& h : v) {
          allDone = allDone && h.done();
          failedCount += h.status() == stompwire::PublishStatus::failed;
        }
      }
    });
    if (!allDone) {
      std::promise<void> tick;  // wait for the io threads to make progress, without sleeping blind
      asio::post(client->executor(), [&] { tick.set_value(); });
      tick.get_future().wait_for(50ms);
    }
  }
  CHECK(allDone);
  CHECK(failedCount == 0);
  CHECK(delivered >= kThreads * kPerThread);  // at-least-once
  CHECK(server.broker.state->connects >= 2);    // the drop happened and the client came back

  client.reset();
  work.reset();
  ioc.stop();
  for (auto& t : io) t.join();
  CHECK(overlaps == 0);
  for (auto id : callbackThreads) CHECK(ioThreads.count(id) == 1);
}
