#include "ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <variant>

#include "stompwire/parser.hpp"
#include "stompwire/serializer.hpp"

namespace stompwire::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  asio::io_context ioc;
  asio::ssl::context sslCtx{asio::ssl::context::tls_client};
  using Plain = websocket::stream<beast::tcp_stream>;
  using Tls = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
  std::variant<std::monostate, std::unique_ptr<Plain>, std::unique_ptr<Tls>> ws;
  websocket::response_type response;
  std::string body;
  beast::flat_buffer buffer;
  FrameParser parser{ParserLimits{}, Version::v1_2};
  std::deque<Frame> frames;
  std::size_t beats = 0;
  bool open = false;
  std::optional<int> closeCode;
  std::string closeReason;

  template <class F>
  void with(F&& f) {
    if (auto* p = std::get_if<std::unique_ptr<Plain>>(&ws)) f(**p);
    else if (auto* t = std::get_if<std::unique_ptr<Tls>>(&ws)) f(**t);
  }

  // A read stays pending across calls, so a read that times out loses nothing and the connection
  // stays usable.
  bool reading = false, readDone = false;
  beast::error_code readEc;

  // Runs the io_context until `done` or the deadline.
  template <class Done>
  bool runUntil(Done&& done, std::chrono::steady_clock::time_point deadline) {
    ioc.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline)
      if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) ioc.restart();
    return done();
  }

  // Runs one async operation to completion or until the deadline; on timeout the socket is closed
  // so the operation completes (with an error) before returning.
  template <class Init>
  beast::error_code run(Init&& init, std::chrono::milliseconds timeout) {
    std::optional<beast::error_code> result;
    init([&](beast::error_code ec, auto&&...) { result = ec; });
    if (!runUntil([&] { return result.has_value(); }, std::chrono::steady_clock::now() + timeout)) {
      with([](auto& s) {
        beast::error_code ignored;
        beast::get_lowest_layer(s).socket().close(ignored);
      });
      runUntil([&] { return result.has_value(); }, std::chrono::steady_clock::now() + 5s);
      open = false;
      return beast::error::timeout;
    }
    return *result;
  }

  void noteClose(beast::error_code ec) {
    open = false;
    with([&](auto& s) {
      if (ec == websocket::error::closed) {
        closeCode = s.reason().code;
        closeReason = std::string(s.reason().reason.c_str());
      } else if (!closeCode) {
        closeCode = 1006;
      }
    });
  }

  // One WebSocket message into the parser. False on timeout (connection still open) or close.
  bool pump(std::chrono::milliseconds timeout) {
    if (!open) return false;
    if (!reading) {
      reading = true;
      readDone = false;
      with([&](auto& s) {
        s.async_read(buffer, [this](beast::error_code ec, std::size_t) {
          reading = false;
          readDone = true;
          readEc = ec;
        });
      });
    }
    if (!runUntil([&] { return readDone; }, std::chrono::steady_clock::now() + timeout)) return false;
    readDone = false;
    if (readEc) {
      noteClose(readEc);
      return false;
    }
    auto data = buffer.cdata();
    std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    parser.feed(bytes, [&](const FrameView& v) { frames.push_back(v.toFrame()); }, [&] { beats++; });
    buffer.consume(buffer.size());
    return true;
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) { impl_->sslCtx.set_verify_mode(asio::ssl::verify_none); }
WsClient::~WsClient() = default;

int WsClient::connect(const std::string& host, std::uint16_t port, const WsOptions& o, std::chrono::milliseconds timeout) {
  auto& im = *impl_;
  tcp::socket sock(im.ioc);
  tcp::endpoint ep(asio::ip::make_address(host), port);
  beast::error_code ec;
  sock.open(ep.protocol(), ec);
  if (o.receiveBuffer > 0) sock.set_option(asio::socket_base::receive_buffer_size(o.receiveBuffer), ec);
  sock.connect(ep, ec);
  if (ec) return 0;
  auto decorate = [&](auto& s) {
    s.set_option(websocket::stream_base::decorator([o](websocket::request_type& req) {
      if (!o.subprotocols.empty()) req.set(beast::http::field::sec_websocket_protocol, o.subprotocols);
      for (auto& [k, v] : o.headers) req.set(k, v);
    }));
    s.read_message_max(64 * 1024 * 1024);
  };
  std::string hostHeader = host + ":" + std::to_string(port);
  if (o.tls) {
    auto s = std::make_unique<Impl::Tls>(beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(sock)), im.sslCtx));
    decorate(*s);
    auto& ref = *s;
    im.ws = std::move(s);
    ec = im.run([&](auto h) { ref.next_layer().async_handshake(asio::ssl::stream_base::client, std::move(h)); }, timeout);
    if (ec) return 0;
    ec = im.run([&](auto h) { ref.async_handshake(im.response, hostHeader, o.target, std::move(h)); }, timeout);
  } else {
    auto s = std::make_unique<Impl::Plain>(beast::tcp_stream(std::move(sock)));
    decorate(*s);
    auto& ref = *s;
    im.ws = std::move(s);
    ec = im.run([&](auto h) { ref.async_handshake(im.response, hostHeader, o.target, std::move(h)); }, timeout);
  }
  im.body = im.response.body();
  if (!ec) {
    im.open = true;
    return 101;
  }
  return ec == websocket::error::upgrade_declined ? static_cast<int>(im.response.result_int()) : 0;
}

const std::string& WsClient::responseBody() const { return impl_->body; }
std::string WsClient::subprotocol() const {
  return std::string(impl_->response[beast::http::field::sec_websocket_protocol]);
}

bool WsClient::send(std::string_view data, bool binary, std::chrono::milliseconds timeout) {
  auto& im = *impl_;
  if (!im.open) return false;
  beast::error_code ec;
  im.with([&](auto& s) {
    s.binary(binary);
    ec = im.run([&](auto h) { s.async_write(asio::buffer(data), std::move(h)); }, timeout);
  });
  if (ec) im.noteClose(ec);
  return !ec;
}

bool WsClient::sendFrame(const Frame& f, std::chrono::milliseconds timeout) {
  std::string out;
  serialize(f, out);
  return send(out, false, timeout);
}

std::optional<Frame> WsClient::readFrame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& im = *impl_;
  while (im.frames.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !im.pump(left)) return std::nullopt;
  }
  Frame f = std::move(im.frames.front());
  im.frames.pop_front();
  return f;
}

std::optional<Frame> WsClient::readUntil(std::string_view command, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = readFrame(left);
    if (!f) return std::nullopt;
    if (f->command == command) return f;
  }
}

std::optional<int> WsClient::waitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& im = *impl_;
  while (im.open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    im.pump(left);
  }
  return im.closeCode;
}

std::string WsClient::closeReason() const { return impl_->closeReason; }
std::size_t WsClient::heartbeats() const { return impl_->beats; }
bool WsClient::isOpen() const { return impl_->open; }

std::optional<Frame> WsClient::stompConnect(const std::vector<Header>& headers, std::chrono::milliseconds timeout) {
  Frame c("CONNECT", {{"accept-version", "1.2"}, {"host", "/"}, {"heart-beat", "0,0"}});
  for (auto& h : headers) c.set(h.name, h.value);
  if (!sendFrame(c, timeout)) return std::nullopt;
  return readFrame(timeout);
}

std::string jsonField(const std::string& json, const std::string& field) {
  auto key = "\"" + field + "\":";
  auto p = json.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  if (json[p] == '"') return json.substr(p + 1, json.find('"', p + 1) - p - 1);
  return json.substr(p, json.find_first_of(",}", p) - p);
}

}  // namespace stompwire::test
