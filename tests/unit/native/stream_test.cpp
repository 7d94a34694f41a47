// stomp:// and stomp+ssl:// against an in-test TCP / TLS echo server.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <list>

#include <stompwire/error.hpp>
#include <stompwire/native/transport.hpp>

#include "pki.hpp"
#include "support.hpp"
#include "tls_server_context.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using stompwire::errc;
using stompwire::test::Event;
using stompwire::test::RecordingListener;
using stompwire::test::runUntil;
namespace asio = boost::asio;
namespace native = stompwire::native;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// Echoes bytes back; records them; can close, reset or stay silent.
template <bool Tls>
class EchoServer {
  using Stream = std::conditional_t<Tls, asio::ssl::stream<tcp::socket>, tcp::socket>;
  struct Session : std::enable_shared_from_this<Session> {
    Session(EchoServer& s, Stream st) : server(s), stream(std::move(st)) {}
    EchoServer& server;
    Stream stream;
    std::array<char, 8192> buf{};
    bool gone = false;
    tcp::socket& socket() {
      if constexpr (Tls) return stream.next_layer(); else return stream;
    }
    void start() {
      if constexpr (Tls) {
        stream.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
          if (!ec && !self->gone) self->read();
        });
      } else {
        read();
      }
    }
    void read() {
      stream.async_read_some(asio::buffer(buf), [self = this->shared_from_this()](error_code ec, std::size_t n) {
        if (self->gone) return;
        if (ec) {
          self->server.sawEof = self->server.sawEof || ec == asio::error::eof;
          if constexpr (Tls) {
            if (ec == asio::error::eof) {
              self->stream.async_shutdown([self](error_code) {
                error_code ignored;
                self->socket().close(ignored);
              });
              return;
            }
          }
          error_code ignored;
          self->socket().close(ignored);
          return;
        }
        self->server.received.append(self->buf.data(), n);
        if (!self->server.echo) return self->read();
        asio::async_write(self->stream, asio::buffer(self->buf.data(), n), [self](error_code e, std::size_t) {
          if (!e && !self->gone) self->read();
        });
      });
    }
  };

 public:
  explicit EchoServer(asio::io_context& ioc, asio::ssl::context* tls = nullptr)
      : tls_(tls), acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  ~EchoServer() {
    for (auto& s : sessions_) s->gone = true;
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void send(const std::string& data) {
    for (auto& s : sessions_) asio::async_write(s->stream, asio::buffer(data), [s, keep = data](error_code, std::size_t) {});
  }
  void closeAll() {
    for (auto& s : sessions_) {
      error_code ignored;
      s->socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }
  void resetAll() {
    for (auto& s : sessions_) {
      error_code ignored;
      s->socket().set_option(asio::socket_base::linger(true, 0), ignored);
      s->socket().close(ignored);
      s->gone = true;
    }
  }
  std::string received;
  bool sawEof = false;
  bool echo = true;
  int accepted = 0;

 private:
  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      ++accepted;
      std::shared_ptr<Session> s;
      if constexpr (Tls) {
        s = std::make_shared<Session>(*this, Stream(std::move(socket), *tls_));
      } else {
        s = std::make_shared<Session>(*this, std::move(socket));
      }
      sessions_.push_back(s);
      s->start();
      accept();
    });
  }
  asio::ssl::context* tls_;
  tcp::acceptor acceptor_;
  std::list<std::shared_ptr<Session>> sessions_;
};

const std::vector<std::string_view> kProtocols = {"v12.stomp"};

std::unique_ptr<stompwire::Transport> openTransport(asio::io_context& ioc, RecordingListener& l, const std::string& url,
                                                    native::TransportOptions options = {}) {
  auto factory = native::makeTransportFactory(ioc.get_executor(), std::move(options));
  auto t = factory(l);
  t->open(url, kProtocols);
  return t;
}

}  // namespace

TEST_CASE("stomp: bytes round-trip over TCP; frames may arrive in several reads") {
  asio::io_context ioc;
  EchoServer<false> server(ioc);
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp://127.0.0.1:" + std::to_string(server.port()));
  CHECK(l.events.empty());
  REQUIRE(runUntil(ioc, [&] { return l.opened() || l.closed(); }));
  REQUIRE(l.opened());
  CHECK(l.first(Event::open)->data.empty());  // no subprotocol on a raw stream
  std::string expected = std::string("CONNECT\naccept-version:1.2\n\n\0", 29);
  t->send(expected, false);
  std::string big(1024 * 1024, 'm');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = '\n';
  t->send(big, false);
  expected += big;
  REQUIRE(runUntil(ioc, [&] { return l.receivedSize == expected.size(); }));
  CHECK(l.received() == expected);
  CHECK(server.received == expected);
  CHECK(l.count(Event::message) > 2);  // the megabyte came back in many reads
  CHECK(t->bufferedAmount() == 0);
}

TEST_CASE("stomp: client close flushes, shuts down and reports a clean close") {
  asio::io_context ioc;
  EchoServer<false> server(ioc);
  server.echo = false;
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp://127.0.0.1:" + std::to_string(server.port()));
  REQUIRE(runUntil(ioc, [&] { return l.opened(); }));
  t->send(std::string("DISCONNECT\n\n\0", 13), false);
  t->close(1000, "bye");
  CHECK_FALSE(l.closed());
  REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
  CHECK(l.first(Event::close)->code == 1000);
  CHECK(l.first(Event::close)->flag);
  CHECK(l.count(Event::error) == 0);
  CHECK(server.sawEof);
  CHECK(server.received == std::string("DISCONNECT\n\n\0", 13));
}

TEST_CASE("stomp: the server closing the stream is a clean close; a reset is an error") {
  asio::io_context ioc;
  EchoServer<false> server(ioc);
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp://127.0.0.1:" + std::to_string(server.port()));
  REQUIRE(runUntil(ioc, [&] { return l.opened() && server.accepted == 1; }));
  SECTION("EOF") {
    server.send(std::string("ERROR\nmessage:bye\n\n\0", 20));
    server.closeAll();
    REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
    CHECK(l.count(Event::error) == 0);
    CHECK(l.first(Event::close)->flag);
    CHECK(l.received() == std::string("ERROR\nmessage:bye\n\n\0", 20));
  }
  SECTION("RST") {
    server.resetAll();
    REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
    REQUIRE(l.count(Event::error) == 1);
    CHECK(l.first(Event::error)->ec == errc::connection_closed);
    CHECK_FALSE(l.first(Event::close)->flag);
    CHECK_THAT(l.first(Event::close)->data, ContainsSubstring("reset"));
  }
  CHECK(l.count(Event::close) == 1);
  CHECK(l.events.back().kind == Event::close);
}

TEST_CASE("stomp: connection refused and close() while connecting") {
  asio::io_context ioc;
  std::uint16_t port;
  {
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp://127.0.0.1:" + std::to_string(port));
  SECTION("refused") {
    REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
    CHECK(l.first(Event::error)->ec == errc::transport_error);
    CHECK_THAT(l.first(Event::close)->data, ContainsSubstring("refused"));
  }
  SECTION("closed by the client first") {
    t->close(1000, "");
    REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
    CHECK(l.events.size() == 1);
  }
}

TEST_CASE("stomp+ssl: TLS round trip with a trusted CA, clean close with TLS shutdown") {
  asio::io_context ioc;
  auto serverTls = stompwire::test::serverTlsContext();
  EchoServer<true> server(ioc, &serverTls);
  native::TransportOptions options;
  options.tls.caFile = stompwire::test::testPki().caFile;
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp+ssl://127.0.0.1:" + std::to_string(server.port()), options);
  REQUIRE(runUntil(ioc, [&] { return l.opened() || l.closed(); }));
  INFO((l.closed() ? l.first(Event::close)->data : ""));
  REQUIRE(l.opened());
  std::string payload(200000, 's');
  t->send(payload, false);
  REQUIRE(runUntil(ioc, [&] { return l.receivedSize == payload.size(); }));
  CHECK(l.received() == payload);
  t->close(1000, "done");
  REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
  CHECK(l.first(Event::close)->flag);
  CHECK(l.count(Event::error) == 0);
  REQUIRE(runUntil(ioc, [&] { return server.sawEof; }));  // our close_notify arrived
}

TEST_CASE("stomp+ssl: an unknown CA fails") {
  asio::io_context ioc;
  auto serverTls = stompwire::test::serverTlsContext();
  EchoServer<true> server(ioc, &serverTls);
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp+ssl://127.0.0.1:" + std::to_string(server.port()));
  REQUIRE(runUntil(ioc, [&] { return l.closed(); }));
  CHECK_FALSE(l.opened());
  CHECK(l.first(Event::error)->ec == errc::transport_error);
  CHECK_THAT(l.first(Event::close)->data, ContainsSubstring("unable to get local issuer certificate"));
}

TEST_CASE("stomp: destruction with reads and writes pending delivers nothing more") {
  asio::io_context ioc;
  EchoServer<false> server(ioc);
  RecordingListener l;
  auto t = openTransport(ioc, l, "stomp://127.0.0.1:" + std::to_string(server.port()));
  REQUIRE(runUntil(ioc, [&] { return l.opened(); }));
  for (int i = 0; i < 64; ++i) t->send(std::string(65536, 'd'), false);
  t.reset();
  const auto before = l.events.size();
  runUntil(ioc, [] { return false; }, 100ms);
  CHECK(l.events.size() == before);
}
