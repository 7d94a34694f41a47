// wss:// against the in-test TLS WebSocket server with a certificate generated at test time.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <stompwire/error.hpp>
#include <stompwire/native/transport.hpp>

#include "pki.hpp"
#include "support.hpp"
#include "tls_server_context.hpp"
#include "ws_server.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using stompwire::errc;
using stompwire::Transport;
using stompwire::test::Event;
using stompwire::test::RecordingListener;
using stompwire::test::runUntil;
using stompwire::test::testPki;
namespace native = stompwire::native;
using tcp = boost::asio::ip::tcp;

namespace {

const auto& kProtocols = stompwire::test::kStompProtocols;

// The harness (and its io_context) is constructed before the server that runs on it.
struct TlsFixture : stompwire::test::TransportHarness {
  explicit TlsFixture(bool requireClientCert = false)
      : serverTls(stompwire::test::serverTlsContext(requireClientCert)),
        server(stompwire::test::startTlsWsServer(ioc, {}, serverTls)) {
    options.tls.caFile = testPki().caFile;
  }
  boost::asio::ssl::context serverTls;
  std::unique_ptr<stompwire::test::WsServer> server;

  std::string url() const { return "wss://127.0.0.1:" + std::to_string(server->port()) + "/ws"; }
  void open() { TransportHarness::open(url()); }
  std::string closeReason() const { return listener.closed() ? listener.first(Event::close)->data : ""; }
};

}  // namespace

TEST_CASE("wss: a certificate from a trusted CA passes (IP SAN), with round trip and clean close") {
  TlsFixture f;
  f.open();
  REQUIRE(f.waitEnd());
  INFO(f.closeReason());
  REQUIRE(f.listener.opened());
  CHECK(f.listener.first(Event::open)->data == "v12.stomp");
  f.transport->send("over TLS", false);
  f.transport->send(std::string(300000, 'b'), true);
  REQUIRE(runUntil(f.ioc, [&] { return f.listener.count(Event::message) == 2; }));
  CHECK(f.listener.events[1].data == "over TLS");
  CHECK(f.listener.events[2].data.size() == 300000);
  f.transport->close(1000, "done");
  REQUIRE(runUntil(f.ioc, [&] { return f.listener.closed(); }));
  CHECK(f.listener.first(Event::close)->flag);
  CHECK(f.listener.first(Event::close)->code == 1000);
  CHECK(f.listener.count(Event::error) == 0);
}

TEST_CASE("wss: the DNS name in the certificate passes through serverName") {
  TlsFixture f;
  f.options.tls.serverName = "localhost";
  f.open();
  REQUIRE(f.waitEnd());
  INFO(f.closeReason());
  CHECK(f.listener.opened());
}

TEST_CASE("wss: an unknown CA fails with a clear verification error") {
  TlsFixture f;
  SECTION("system store only") { f.options.tls.caFile.clear(); }
  SECTION("another CA") { f.options.tls.caFile = testPki().otherCaFile; }
  f.open();
  REQUIRE(f.waitEnd());
  CHECK_FALSE(f.listener.opened());
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == errc::transport_error);
  CHECK_THAT(f.closeReason(), ContainsSubstring("TLS handshake"));
  CHECK_THAT(f.closeReason(), ContainsSubstring("certificate verification failed: unable to get local issuer certificate"));
  CHECK(f.server->upgraded == 0);
}

TEST_CASE("wss: a wrong host name fails") {
  TlsFixture f;
  f.options.tls.serverName = "wrong.example";
  f.open();
  REQUIRE(f.waitEnd());
  CHECK_FALSE(f.listener.opened());
  CHECK(f.listener.first(Event::error)->ec == errc::transport_error);
  CHECK_THAT(f.closeReason(), ContainsSubstring("hostname mismatch"));
}

TEST_CASE("wss: a wrong IP address fails") {
  TlsFixture f;
  f.options.tls.serverName = "127.0.0.2";  // only names the expected identity; we still connect to 127.0.0.1
  f.open();
  REQUIRE(f.waitEnd());
  CHECK_FALSE(f.listener.opened());
  CHECK_THAT(f.closeReason(), ContainsSubstring("IP address mismatch"));
}

TEST_CASE("wss: insecureSkipVerify accepts the unknown certificate") {
  TlsFixture f;
  f.options.tls.caFile.clear();
  f.options.tls.serverName = "wrong.example";
  f.options.tls.insecureSkipVerify = true;
  f.open();
  REQUIRE(f.waitEnd());
  INFO(f.closeReason());
  CHECK(f.listener.opened());
}

TEST_CASE("wss: client certificate for a server that requires one") {
  TlsFixture f(true);
  SECTION("given: passes") {
    f.options.tls.certFile = testPki().clientCertFile;
    f.options.tls.keyFile = testPki().clientKeyFile;
    f.open();
    REQUIRE(f.waitEnd());
    INFO(f.closeReason());
    CHECK(f.listener.opened());
  }
  SECTION("missing: fails") {
    f.open();
    REQUIRE(f.waitEnd());
    CHECK_FALSE(f.listener.opened());
    CHECK(f.listener.first(Event::error));
  }
}

TEST_CASE("wss: unusable TLS files are invalid_argument with the file named") {
  TlsFixture f;
  SECTION("CA file") {
    f.options.tls.caFile = "/nonexistent/ca.pem";
    f.open();
    REQUIRE(f.waitEnd());
    CHECK_THAT(f.closeReason(), ContainsSubstring("cannot load CA file '/nonexistent/ca.pem'"));
  }
  SECTION("key without certificate") {
    f.options.tls.keyFile = testPki().clientKeyFile;
    f.open();
    REQUIRE(f.waitEnd());
    CHECK_THAT(f.closeReason(), ContainsSubstring("needs both certFile and keyFile"));
  }
  SECTION("key that does not match") {
    f.options.tls.certFile = testPki().clientCertFile;
    f.options.tls.keyFile = testPki().caFile;  // not a key at all
    f.open();
    REQUIRE(f.waitEnd());
    CHECK_THAT(f.closeReason(), ContainsSubstring("cannot load client key"));
  }
  REQUIRE(f.listener.first(Event::error));
  CHECK(f.listener.first(Event::error)->ec == errc::invalid_argument);
  CHECK(f.server->accepted == 0);
}

TEST_CASE("wss: a server that never answers the TLS handshake times out") {
  boost::asio::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  native::TransportOptions options;
  options.handshakeTimeout = 150ms;
  RecordingListener listener;
  auto t = native::makeTransport(ioc.get_executor(), listener, options);
  t->open("wss://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/", kProtocols);
  REQUIRE(runUntil(ioc, [&] { return listener.closed(); }));
  CHECK(listener.first(Event::error)->ec == errc::connect_timeout);
  CHECK_THAT(listener.first(Event::close)->data, ContainsSubstring("TLS handshake timed out after 150 ms"));
}

TEST_CASE("wss: destruction during the TLS handshake and with writes pending") {
  TlsFixture f;
  SECTION("handshake") {
    f.open();
    REQUIRE(runUntil(f.ioc, [&] { return f.server->accepted > 0; }));
    f.transport.reset();
  }
  SECTION("writes") {
    f.open();
    REQUIRE(f.waitEnd());
    REQUIRE(f.listener.opened());
    for (int i = 0; i < 50; ++i) f.transport->send(std::string(20000, 'w'), true);
    f.transport.reset();
  }
  const auto before = f.listener.events.size();
  runUntil(f.ioc, [] { return false; }, 100ms);
  CHECK(f.listener.events.size() == before);
}

TEST_CASE("factory: two wss transports from one factory (one shared TLS context) both connect") {
  TlsFixture f;
  auto factory = native::makeTransportFactory(f.ioc.get_executor(), f.options);
  RecordingListener a, b;
  auto ta = factory(a);
  auto tb = factory(b);
  ta->open(f.url(), kProtocols);
  tb->open(f.url(), kProtocols);
  REQUIRE(runUntil(f.ioc, [&] { return a.opened() && b.opened(); }));
}
