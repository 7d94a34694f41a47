// ws:// transport against the in-test Beast server on 127.0.0.1.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <stompwire/error.hpp>
#include <stompwire/native/transport.hpp>

#include "support.hpp"
#include "ws_server.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using stompwire::errc;
using stompwire::Transport;
using stompwire::test::Event;
using stompwire::test::RecordingListener;
using stompwire::test::runUntil;
using stompwire::test::startPlainWsServer;
using stompwire::test::WsServerConfig;
namespace native = stompwire::native;
using tcp = boost::asio::ip::tcp;

namespace {

const auto& kProtocols = stompwire::test::kStompProtocols;

struct Fixture : stompwire::test::TransportHarness {
  std::vector<std::string> logs;

  Fixture() {
    options.log = [this](std::string_view line) { logs.emplace_back(line); };
  }
  bool waitOpen() { return waitEnd() && listener.opened(); }
  bool waitClosed() { return runUntil(ioc, [&] { return listener.closed(); }); }
  std::string url(std::uint16_t port, const std::string& path = "/ws") {
    return "ws://127.0.0.1:" + std::to_string(port) + path;
  }
};

}  // namespace

TEST_CASE("ws: opens, reports the negotiated subprotocol and sends the extra headers") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.options.headers = {{"Authorization", "Bearer t0ken"}, {"X-Trace", "42"}};
  f.options.userAgent = "stompwire-test";
  f.open(f.url(server->port(), "/stomp?access_token=q"));
  CHECK(f.listener.events.empty());  // nothing from inside open()
  REQUIRE(f.waitOpen());
  CHECK(f.listener.first(Event::open)->data == "v12.stomp");
  CHECK(server->lastRequest["authorization"] == "Bearer t0ken");
  CHECK(server->lastRequest["x-trace"] == "42");
  CHECK(server->lastRequest["user-agent"] == "stompwire-test");
  CHECK(server->lastRequest["sec-websocket-protocol"] == "v12.stomp, v11.stomp, v10.stomp");
  CHECK(server->lastRequest["host"] == "127.0.0.1:" + std::to_string(server->port()));
  CHECK(f.listener.count(Event::error) == 0);
}

TEST_CASE("ws: subprotocol negotiation") {
  Fixture f;
  WsServerConfig cfg;
  SECTION("server supports only 1.1") {
    cfg.supported = {"v11.stomp"};
    auto server = startPlainWsServer(f.ioc, cfg);
    f.open(f.url(server->port()));
    REQUIRE(f.waitOpen());
    CHECK(f.listener.first(Event::open)->data == "v11.stomp");
  }
  SECTION("server picks none: open with an empty subprotocol") {
    cfg.supported = {};
    auto server = startPlainWsServer(f.ioc, cfg);
    f.open(f.url(server->port()));
    REQUIRE(f.waitOpen());
    CHECK(f.listener.first(Event::open)->data.empty());
  }
  SECTION("client offers none") {
    auto server = startPlainWsServer(f.ioc, cfg);
    f.open(f.url(server->port()), {});
    REQUIRE(f.waitOpen());
    CHECK(f.listener.first(Event::open)->data.empty());
    CHECK(server->lastRequest.count("sec-websocket-protocol") == 0);
  }
  SECTION("server picks one that was not offered: protocol error") {
    cfg.forceProtocol = "mqtt";
    auto server = startPlainWsServer(f.ioc, cfg);
    f.open(f.url(server->port()));
    REQUIRE(f.waitClosed());
    CHECK_FALSE(f.listener.opened());
    REQUIRE(f.listener.first(Event::error));
    CHECK(f.listener.first(Event::error)->ec == errc::protocol_error);
    CHECK_THAT(f.listener.first(Event::close)->data, ContainsSubstring("mqtt"));
  }
}

TEST_CASE("ws: text and binary messages round-trip with their type") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  const std::string binary("\x00\x01\xff\x00 bytes", 10);
  f.transport->send("SEND\ndestination:/q\n\nhi\0", false);
  f.transport->send(binary, true);
  REQUIRE(runUntil(f.ioc, [&] { return f.listener.count(Event::message) == 2; }));
  REQUIRE(server->received.size() == 2);
  CHECK_FALSE(server->received[0].binary);
  CHECK(server->received[1].binary);
  CHECK(server->received[1].data == binary);
  const Event& text = f.listener.events[1];
  const Event& bin = f.listener.events[2];
  CHECK(text.data == "SEND\ndestination:/q\n\nhi");
  CHECK_FALSE(text.flag);
  CHECK(bin.data == binary);
  CHECK(bin.flag);
}

TEST_CASE("ws: a 4 MiB message arrives whole, in one onMessage") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  std::string big(4 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  f.transport->send(big, true);
  CHECK(f.transport->bufferedAmount() == big.size());
  REQUIRE(runUntil(f.ioc, [&] { return f.listener.count(Event::message) == 1; }));
  CHECK(f.listener.events.back().data == big);
  CHECK(f.transport->bufferedAmount() == 0);
}

TEST_CASE("ws: an incoming message above maxMessageSize fails with frame_too_large") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.options.maxMessageSize = 1000;
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  f.transport->send(std::string(1001, 'y'), false);  // the server echoes it back
  REQUIRE(f.waitClosed());
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == errc::frame_too_large);
  CHECK(f.listener.count(Event::message) == 0);
  CHECK(f.listener.count(Event::close) == 1);
}

TEST_CASE("ws: many sends keep their order; bufferedAmount counts unwritten bytes") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  // Sent while connecting: queued until the handshake is done.
  f.transport->send("early", false);
  CHECK(f.transport->bufferedAmount() == 5);
  REQUIRE(f.waitOpen());
  constexpr int kCount = 2000;
  std::size_t bytes = 0;
  for (int i = 0; i < kCount; ++i) {
    std::string m = "message " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 300), '.');
    bytes += m.size();
    f.transport->send(m, i % 2 == 1);
  }
  CHECK(f.transport->bufferedAmount() >= bytes);
  REQUIRE(runUntil(f.ioc, [&] { return f.listener.count(Event::message) == kCount + 1; }, 30s));
  CHECK(f.transport->bufferedAmount() == 0);
  REQUIRE(server->received.size() == kCount + 1);
  CHECK(server->received[0].data == "early");
  bool inOrder = true;
  for (int i = 0; i < kCount; ++i) {
    const auto& r = server->received[static_cast<std::size_t>(i + 1)];
    const std::string prefix = "message " + std::to_string(i);
    if (r.data.compare(0, prefix.size(), prefix) != 0 || r.binary != (i % 2 == 1)) inOrder = false;
  }
  CHECK(inOrder);
  // The echoes too.
  CHECK(f.listener.events[1].data == "early");
  CHECK(f.listener.events.back().data.rfind("message " + std::to_string(kCount - 1), 0) == 0);
}

TEST_CASE("ws: client close handshake reports the code, cleanly") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  f.transport->send("last words", false);
  f.transport->close(4000, "bye");
  CHECK_FALSE(f.listener.closed());  // never from inside close()
  f.transport->send("after close", false);  // dropped
  f.transport->close(1000, "twice");        // ignored
  REQUIRE(f.waitClosed());
  const Event* c = f.listener.first(Event::close);
  CHECK(c->code == 4000);
  CHECK(c->flag);
  CHECK(f.listener.count(Event::error) == 0);
  REQUIRE_FALSE(server->received.empty());
  CHECK(server->received.front().data == "last words");  // flushed before the close frame
  CHECK(server->received.size() == 1);
  REQUIRE(runUntil(f.ioc, [&] { return server->clientCloseCode != 0; }));
  CHECK(server->clientCloseCode == 4000);
}

TEST_CASE("ws: reserved close codes are replaced by 1000") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  f.transport->close(1006, "");
  REQUIRE(f.waitClosed());
  REQUIRE(runUntil(f.ioc, [&] { return server->clientCloseCode != 0; }));
  CHECK(server->clientCloseCode == 1000);
}

TEST_CASE("ws: server-initiated close is clean and carries the server's code and reason") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  server->closeAll(4001, "server going away");
  REQUIRE(f.waitClosed());
  const Event* c = f.listener.first(Event::close);
  CHECK(c->code == 4001);
  CHECK(c->data == "server going away");
  CHECK(c->flag);
  CHECK(f.listener.count(Event::error) == 0);
}

TEST_CASE("ws: a close the server never answers times out as unclean") {
  Fixture f;
  WsServerConfig cfg;
  cfg.readAfterOpen = false;
  auto server = startPlainWsServer(f.ioc, cfg);
  f.options.closeTimeout = 200ms;
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  const auto start = std::chrono::steady_clock::now();
  f.transport->close(1000, "");
  REQUIRE(f.waitClosed());
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  const Event* c = f.listener.first(Event::close);
  CHECK(c->code == 1006);
  CHECK_FALSE(c->flag);
  CHECK_THAT(c->data, ContainsSubstring("close handshake timed out"));
}

TEST_CASE("ws: the peer disappearing gives one error and one close") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  server->dropAll();
  REQUIRE(f.waitClosed());
  runUntil(f.ioc, [] { return false; }, 50ms);  // anything else would show up now
  CHECK(f.listener.count(Event::error) == 1);
  CHECK(f.listener.count(Event::close) == 1);
  CHECK(f.listener.first(Event::error)->ec == errc::connection_closed);
  CHECK(f.listener.events.back().kind == Event::close);
  CHECK(f.listener.events.back().code == 1006);
  CHECK_FALSE(f.listener.events.back().flag);
  CHECK_FALSE(f.listener.afterClose);
  // And the original error is in the log.
  bool logged = false;
  for (const auto& l : f.logs) logged = logged || l.find("read:") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("ws: connection refused") {
  Fixture f;
  std::uint16_t port;
  {
    tcp::acceptor a(f.ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  f.open(f.url(port));
  REQUIRE(f.waitClosed());
  CHECK_FALSE(f.listener.opened());
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == errc::transport_error);
  CHECK_THAT(f.listener.first(Event::close)->data, ContainsSubstring("refused"));
  CHECK(f.listener.events.size() == 2);
}

TEST_CASE("ws: a server that accepts TCP but never answers the upgrade times out") {
  Fixture f;
  tcp::acceptor silent(f.ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));  // never accepts
  f.options.handshakeTimeout = 150ms;
  f.open(f.url(silent.local_endpoint().port()));
  REQUIRE(f.waitClosed());
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == errc::connect_timeout);
  CHECK_THAT(f.listener.first(Event::close)->data, ContainsSubstring("WebSocket handshake timed out after 150 ms"));
}

TEST_CASE("ws: TCP connect timeout when the listen queue is full") {
  Fixture f;
  tcp::acceptor full(f.ioc);
  full.open(tcp::v4());
  full.bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  full.listen(0);  // never accepts; one pending connection fills the queue, later SYNs are dropped
  const auto endpoint = full.local_endpoint();
  std::vector<std::unique_ptr<tcp::socket>> fillers;
  int connectedFillers = 0;
  for (int i = 0; i < 3; ++i) {
    fillers.push_back(std::make_unique<tcp::socket>(f.ioc));
    fillers.back()->async_connect(endpoint, [&](boost::system::error_code ec) { connectedFillers += !ec; });
  }
  REQUIRE(runUntil(f.ioc, [&] { return connectedFillers >= 1; }));
  f.options.connectTimeout = 150ms;
  f.options.handshakeTimeout = 5s;
  f.open(f.url(endpoint.port()));
  REQUIRE(f.waitClosed());
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == errc::connect_timeout);
  CHECK_THAT(f.listener.first(Event::close)->data, ContainsSubstring("connect timed out after 150 ms"));
}

TEST_CASE("ws: HTTP rejection of the upgrade maps to unauthorized / forbidden / transport_error") {
  Fixture f;
  WsServerConfig cfg;
  int status = 0;
  errc expected{};
  SECTION("401") { status = 401; expected = errc::unauthorized; }
  SECTION("403") { status = 403; expected = errc::forbidden; }
  SECTION("404") { status = 404; expected = errc::transport_error; }
  cfg.rejectStatus = status;
  auto server = startPlainWsServer(f.ioc, cfg);
  f.open(f.url(server->port()));
  REQUIRE(f.waitClosed());
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == expected);
  CHECK_THAT(f.listener.first(Event::close)->data, ContainsSubstring("HTTP " + std::to_string(status)));
}

TEST_CASE("ws: bad URL and bad header are errors delivered after open() returns") {
  Fixture f;
  SECTION("URL") {
    f.open("http://127.0.0.1:1/");
    CHECK(f.listener.events.empty());
    REQUIRE(f.waitClosed());
    CHECK(f.listener.first(Event::error)->ec == errc::invalid_argument);
    CHECK_THAT(f.listener.first(Event::close)->data, ContainsSubstring("unsupported URL scheme"));
  }
  SECTION("header injection") {
    auto server = startPlainWsServer(f.ioc, {});
    f.options.headers = {{"X-Evil", "a\r\nInjected: yes"}};
    f.open(f.url(server->port()));
    CHECK(f.listener.events.empty());
    REQUIRE(f.waitClosed());
    CHECK(f.listener.first(Event::error)->ec == errc::invalid_argument);
    CHECK(server->upgraded == 0);
  }
  CHECK(f.listener.count(Event::close) == 1);
}

TEST_CASE("ws: close() before the connection is open ends the attempt, after close() returns") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  f.transport->send("never", false);
  f.transport->close(1000, "");
  CHECK(f.listener.events.empty());
  REQUIRE(f.waitClosed());
  runUntil(f.ioc, [] { return false; }, 30ms);
  CHECK(f.listener.events.size() == 1);
  CHECK(f.listener.events[0].code == 1006);
  CHECK_FALSE(f.listener.events[0].flag);
  CHECK(server->received.empty());
}

TEST_CASE("ws: callbacks may send and close re-entrantly") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.listener.hook = [&](const Event& e) {
    if (e.kind == Event::open) f.transport->send("from onOpen", false);
    if (e.kind == Event::message) f.transport->close(4002, "from onMessage");
  };
  f.open(f.url(server->port()));
  REQUIRE(f.waitClosed());
  CHECK(f.listener.count(Event::message) == 1);
  CHECK(f.listener.first(Event::close)->code == 4002);
  CHECK(f.listener.first(Event::close)->flag);
}

TEST_CASE("ws: destroying the transport with operations pending delivers nothing more") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  SECTION("while resolving/connecting") {
    f.open(f.url(server->port()));
    f.transport.reset();
  }
  SECTION("while the handshake is in flight") {
    f.open(f.url(server->port()));
    REQUIRE(runUntil(f.ioc, [&] { return server->accepted > 0; }));
    f.transport.reset();
  }
  SECTION("with writes queued and a read pending") {
    f.open(f.url(server->port()));
    REQUIRE(f.waitOpen());
    for (int i = 0; i < 100; ++i) f.transport->send(std::string(10000, 'z'), true);
    f.transport.reset();
  }
  SECTION("during a close handshake") {
    f.open(f.url(server->port()));
    REQUIRE(f.waitOpen());
    f.transport->close(1000, "");
    f.transport.reset();
  }
  SECTION("from inside onOpen") {
    f.listener.hook = [&](const Event& e) {
      if (e.kind == Event::open) {
        f.transport->send("x", false);
        f.transport.reset();
      }
    };
    f.open(f.url(server->port()));
    REQUIRE(runUntil(f.ioc, [&] { return f.listener.opened(); }));
  }
  SECTION("from inside onError") {
    f.listener.hook = [&](const Event& e) {
      if (e.kind == Event::error) f.transport.reset();
    };
    f.open(f.url(server->port()));
    REQUIRE(f.waitOpen());
    server->dropAll();
    REQUIRE(runUntil(f.ioc, [&] { return f.listener.count(Event::error) == 1; }));
    CHECK_FALSE(f.listener.closed());  // destroyed before its onClose
  }
  const auto before = f.listener.events.size();
  runUntil(f.ioc, [] { return false; }, 100ms);
  CHECK(f.listener.events.size() == before);
  CHECK(f.transport == nullptr);
}

TEST_CASE("ws: permessage-deflate is offered when enabled and messages still round-trip") {
  Fixture f;
  WsServerConfig cfg;
  cfg.deflate = true;
  auto server = startPlainWsServer(f.ioc, cfg);
  f.options.permessageDeflate = true;
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  CHECK_THAT(server->lastRequest["sec-websocket-extensions"], ContainsSubstring("permessage-deflate"));
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "MESSAGE\ndestination:/topic/a\n\nhello\n";
  f.transport->send(text, false);
  REQUIRE(runUntil(f.ioc, [&] { return f.listener.count(Event::message) == 1; }));
  CHECK(f.listener.events.back().data == text);
}

TEST_CASE("ws: permessage-deflate is not offered by default") {
  Fixture f;
  WsServerConfig cfg;
  cfg.deflate = true;
  auto server = startPlainWsServer(f.ioc, cfg);
  f.open(f.url(server->port()));
  REQUIRE(f.waitOpen());
  CHECK(server->lastRequest.count("sec-websocket-extensions") == 0);
}

TEST_CASE("ws: a transport is used once: a second open() is ignored") {
  Fixture f;
  auto server = startPlainWsServer(f.ioc, {});
  f.open(f.url(server->port()));
  f.transport->open(f.url(server->port()), kProtocols);
  REQUIRE(f.waitOpen());
  runUntil(f.ioc, [] { return false; }, 30ms);
  CHECK(server->accepted == 1);
  CHECK(f.listener.count(Event::open) == 1);
}

TEST_CASE("factory: makes independent transports that share options") {
  boost::asio::io_context ioc;
  auto server = startPlainWsServer(ioc, {});
  native::TransportOptions options;
  options.headers = {{"X-From", "factory"}};
  auto factory = native::makeTransportFactory(ioc.get_executor(), options);
  RecordingListener a, b;
  auto ta = factory(a);
  auto tb = factory(b);
  const std::string url = "ws://127.0.0.1:" + std::to_string(server->port()) + "/";
  ta->open(url, kProtocols);
  tb->open(url, kProtocols);
  REQUIRE(runUntil(ioc, [&] { return a.opened() && b.opened(); }));
  ta->send("to a", false);
  tb->send("to b", false);
  REQUIRE(runUntil(ioc, [&] { return a.count(Event::message) == 1 && b.count(Event::message) == 1; }));
  CHECK(a.received() == "to a");
  CHECK(b.received() == "to b");
  CHECK(server->lastRequest["x-from"] == "factory");
}
