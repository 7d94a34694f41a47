// Shared set-up for the Client tests: a client on a fake network and a manual clock, with every event
// logged as text so a test can assert the exact sequence.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <memory>
#include <string>
#include <vector>

#include "fake_transport.hpp"
#include "manual_scheduler.hpp"
#include "stompwire/client.hpp"

namespace stompwire::test {

using namespace std::chrono_literals;

// errc name for our codes, "other" for foreign categories (e.g. a transport's std::errc).
inline std::string codeName(std::error_code ec) {
  if (ec.category() == stompwire_category()) return std::string(errcName(static_cast<errc>(ec.value())));
  return "other";
}

inline ClientOptions testOptions() {
  ClientOptions o;
  o.brokerURL = "ws://127.0.0.1:1/ws";
  o.heartbeatIncoming = 0ms;
  o.heartbeatOutgoing = 0ms;
  o.connectionTimeout = 5000ms;
  o.receiptTimeout = 0ms;
  o.reconnect.initialDelay = 1000ms;
  o.reconnect.maxDelay = 8000ms;
  o.reconnect.multiplier = 2.0;
  o.reconnect.resetAfter = 10000ms;
  return o;
}

struct ClientFixture {
  ManualScheduler sched;
  FakeNetwork net;
  double random = 0.5;  // jitter factor handed to the client
  std::unique_ptr<Client> client;
  std::vector<std::string> log;

  explicit ClientFixture(ClientOptions o = testOptions()) { make(std::move(o)); }

  void make(ClientOptions o) {
    auto r = Client::create(std::move(o), net.factory(), sched, [this] { return random; });
    REQUIRE_FALSE(r.error);
    client = std::move(r.client);
    client->onStateChange([this](const StateChange& c) {
      std::string s = "state:" + std::string(toString(c.state));
      if (c.reason) s += "(" + codeName(c.reason) + ")";
      log.push_back(s);
    });
    client->onConnect([this](const Frame&) { log.push_back("connect"); });
    client->onDisconnect([this](std::error_code ec) {
      log.push_back(ec ? "disconnect:" + codeName(ec) : "disconnect");
    });
    client->onStompError([this](const Frame& f) { log.push_back("stomp-error:" + f.body); });
    client->onWebSocketClose([this](const CloseEvent& e) { log.push_back("ws-close:" + std::to_string(e.code)); });
    client->onWebSocketError([this](std::error_code) { log.push_back("ws-error"); });
    client->onUnhandledMessage([this](const Message& m) { log.push_back("unhandled:" + std::string(m.body())); });
  }

  // Plays the server through the open and CONNECTED of the latest attempt.
  FakeLink& serverAccepts(std::string_view version = "1.2", std::string_view heartbeat = "0,0") {
    sched.runPosted();
    REQUIRE(net.count() > 0);
    FakeLink& l = net.last();
    REQUIRE(l.opened);
    l.accept();
    l.connected(version, heartbeat);
    sched.runPosted();
    return l;
  }

  FakeLink& activateAndConnect(std::string_view version = "1.2", std::string_view heartbeat = "0,0") {
    client->activate();
    return serverAccepts(version, heartbeat);
  }

  bool logged(std::string_view s) const {
    for (auto& l : log)
      if (l == s) return true;
    return false;
  }
  std::size_t countLogged(std::string_view s) const {
    std::size_t n = 0;
    for (auto& l : log) n += l == s;
    return n;
  }
  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (auto& l : log)
      if (l.rfind("state:", 0) == 0) out.push_back(l);
    return out;
  }
};

inline std::string message(std::string_view sub, std::string_view body, std::string_view id = "m-1",
                           std::string_view ack = "") {
  std::vector<std::pair<std::string, std::string>> h{
      {"destination", "/topic/t"}, {"subscription", std::string(sub)}, {"message-id", std::string(id)}};
  if (!ack.empty()) h.push_back({"ack", std::string(ack)});
  return stompFrame("MESSAGE", h, body);
}

inline std::string receipt(std::string_view id) { return stompFrame("RECEIPT", {{"receipt-id", std::string(id)}}); }

}  // namespace stompwire::test
