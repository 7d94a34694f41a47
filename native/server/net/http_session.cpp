// HTTP side of a connection: /healthz, /metrics, the /ws upgrade with its checks (origin, JWT, max
// connections), the fault-injection admin endpoints and optional static files.
#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/detail.hpp"
#include "net/sockjs.hpp"
#include "net/url_util.hpp"

namespace stompwire::server::net {

namespace {

namespace websocket = beast::websocket;

bool isLoopback(const std::string& ip) { return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127."); }

std::string chooseSubprotocol(std::string_view offered) {
  bool has[3] = {false, false, false};
  while (!offered.empty()) {
    auto comma = offered.find(',');
    auto item = offered.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "v10.stomp") has[0] = true;
    if (item == "v11.stomp") has[1] = true;
    if (item == "v12.stomp") has[2] = true;
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  return has[2] ? "v12.stomp" : has[1] ? "v11.stomp" : has[0] ? "v10.stomp" : "";
}

std::string_view mimeType(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  HttpSession(State& st, Stream&& stream, std::string remote)
      : st_(st), stream_(std::move(stream)), remote_(std::move(remote)) {}
  HttpSession(State& st, Stream&& stream, beast::flat_buffer&& buffer, std::string remote)
      : st_(st), stream_(std::move(stream)), remote_(std::move(remote)), buffer_(std::move(buffer)) {}

  // Continues on a kept-alive connection handed back by the SockJS endpoint.
  void resume() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->doRead(); });
  }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

 private:
  void begin() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(Millis(st_.config.handshakeTimeoutMs));
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          if (ec == beast::error::timeout) self->st_.metrics.reject(Reject::handshakeTimeout);
          log(Level::debug, "tls.handshake_failed", {{"remote", self->remote_}, {"error", ec.message()}});
          return;
        }
        self->doRead();
      });
    } else {
      doRead();
    }
  }

  void doRead() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(st_.config.maxHeaderSize));
    // SockJS sends carry JSON-quoted STOMP frames (up to 6x longer); 413 above.
    parser_->body_limit(std::max<std::uint64_t>(64 * 1024, 6 * st_.config.maxFrameSize + 4096));
    beast::get_lowest_layer(stream_).expires_after(Millis(st_.config.handshakeTimeoutMs));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::onRead, this->shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return closeStream();
    if (ec == beast::error::timeout) {
      st_.metrics.reject(Reject::handshakeTimeout);
      log(Level::info, "http.timeout", {{"remote", remote_}});
      return;  // tcp_stream already closed the socket
    }
    if (ec == http::error::header_limit) {
      st_.metrics.reject(Reject::headerTooLarge);
      return reply(simple(http::status::request_header_fields_too_large, "request header too large\n", 11), false);
    }
    if (ec == http::error::body_limit) {
      st_.metrics.reject(Reject::badRequest);
      return reply(simple(http::status::payload_too_large, "request body too large\n", 11), false);
    }
    if (ec) {
      st_.metrics.reject(Reject::badRequest);
      if (ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
        return reply(simple(http::status::bad_request, "bad request\n", 11), false);
      return;
    }
    st_.metrics.httpRequests++;
    handle(parser_->release());
  }

  http::response<http::string_body> simple(http::status status, std::string body, unsigned version,
                                           std::string_view type = "text/plain; charset=utf-8") {
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "stompwire-server");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  void handle(Request req) {
    std::string_view target = req.target();
    auto q = target.find('?');
    std::string path(target.substr(0, q));
    std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    auto v = req.version();
    bool keep = req.keep_alive();

    if (isSockJsPath(path) && !(path == "/sockjs/websocket" && websocket::is_upgrade(req))) {
      beast::get_lowest_layer(stream_).expires_never();
      return startSockJs(st_, std::move(stream_), std::move(buffer_), std::move(req), remote_);
    }
    if (websocket::is_upgrade(req)) {
      // /sockjs/websocket is SockJS's raw WebSocket: plain STOMP over WebSocket, like /ws.
      if (path == "/sockjs/websocket" && !st_.config.sockjsWebsocket)
        return reply(simple(http::status::not_found, "WebSocket transport disabled\n", v), false);
      if (path != "/ws" && path != "/sockjs/websocket") return reply(simple(http::status::not_found, "no WebSocket endpoint at " + path + "\n", v), false);
      return upgrade(std::move(req), query);
    }
    if (path == "/healthz") {
      if (st_.shuttingDown) return reply(simple(http::status::service_unavailable, "shutting down\n", v), false);
      return reply(simple(http::status::ok, "ok\n", v), keep);
    }
    if (path == "/metrics") {
      std::string text;
      {
        std::lock_guard lock(st_.mu);
        auto& b = st_.broker;
        text = st_.metrics.render(b.stats(), b.sessionCount(), b.subscriptionCount(), b.queuedMessageCount(),
                                  b.pendingAckCount());
      }
      text += renderSockJsMetrics(st_);
      return reply(simple(http::status::ok, std::move(text), v, "text/plain; version=0.0.4; charset=utf-8"), keep);
    }
    if (path.starts_with("/admin/fault/")) return fault(path, query, req.method(), v, keep);
    if (!st_.config.staticDir.empty() && (req.method() == http::verb::get || req.method() == http::verb::head))
      return serveStatic(path, v, keep);
    return reply(simple(http::status::not_found, "not found\n", v), keep);
  }

  void fault(const std::string& path, std::string_view query, http::verb method, unsigned v, bool keep) {
    // Off unless --fault-injection, and then only for loopback clients.
    if (!st_.config.faultInjection || !isLoopback(remote_))
      return reply(simple(http::status::not_found, "not found\n", v), keep);
    if (method != http::verb::post) return reply(simple(http::status::method_not_allowed, "use POST\n", v), keep);
    std::string action = path.substr(13);
    if (action == "drop") {
      std::size_t n = 0;
      {
        std::lock_guard lock(st_.mu);
        for (auto& [id, c] : st_.conns) c->abort();
        n = st_.conns.size();
      }
      log(Level::warn, "fault.drop", {{"connections", std::to_string(n)}});
      return reply(simple(http::status::ok, "{\"dropped\":" + std::to_string(n) + "}\n", v, "application/json"), keep);
    }
    if (action == "stall") {
      auto ms = queryParam(query, "ms");
      long n = ms ? std::strtol(ms->c_str(), nullptr, 10) : 0;
      if (n < 0 || n > 600000) return reply(simple(http::status::bad_request, "ms in 0..600000\n", v), keep);
      st_.stallUntilMs = (State::now() + Millis(n)).count();
      log(Level::warn, "fault.stall", {{"ms", std::to_string(n)}});
      return reply(simple(http::status::ok, "{\"stalled_ms\":" + std::to_string(n) + "}\n", v, "application/json"), keep);
    }
    if (action == "heartbeats") {
      auto pause = queryParam(query, "pause");
      bool paused = pause && (*pause == "1" || *pause == "true");
      {
        std::lock_guard lock(st_.mu);
        st_.broker.setHeartbeatsPaused(paused);
      }
      log(Level::warn, "fault.heartbeats", {{"paused", paused ? "true" : "false"}});
      return reply(simple(http::status::ok, std::string("{\"heartbeats_paused\":") + (paused ? "true" : "false") + "}\n", v,
                          "application/json"), keep);
    }
    return reply(simple(http::status::not_found, "unknown fault\n", v), keep);
  }

  void serveStatic(std::string path, unsigned v, bool keep) {
    if (path.find("..") != std::string::npos || path.find('\0') != std::string::npos)
      return reply(simple(http::status::bad_request, "bad path\n", v), keep);
    if (path.empty() || path.back() == '/') path += "index.html";
    std::filesystem::path file = std::filesystem::path(st_.config.staticDir) / path.substr(1);
    std::ifstream in(file, std::ios::binary);
    std::error_code fec;
    if (!in || !std::filesystem::is_regular_file(file, fec)) return reply(simple(http::status::not_found, "not found\n", v), keep);
    std::ostringstream body;
    body << in.rdbuf();
    return reply(simple(http::status::ok, body.str(), v, mimeType(file)), keep);
  }

  void upgrade(Request req, std::string_view query) {
    auto v = req.version();
    if (st_.shuttingDown) {
      st_.metrics.reject(Reject::shuttingDown);
      return reply(simple(http::status::service_unavailable, "shutting down\n", v), false);
    }
    auto origin = req[http::field::origin];
    if (!st_.origins.allowed(origin, req[http::field::host], kTls)) {
      st_.metrics.reject(Reject::origin);
      log(Level::info, "ws.reject", {{"reason", "origin"}, {"origin", std::string(origin)}, {"remote", remote_}});
      return reply(simple(http::status::forbidden, "origin not allowed\n", v), false);
    }
    SessionInfo info;
    info.remoteAddress = remote_;
    if (!st_.config.jwtSecret.empty()) {
      std::string token;
      auto auth = req[http::field::authorization];
      if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) token = std::string(auth.substr(7));
      else if (auto t = queryParam(query, "access_token")) token = *t;
      if (!token.empty() || st_.config.users.empty()) {
        auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        auto r = token.empty() ? JwtResult{std::nullopt, "missing token"} : verifyJwt(token, st_.jwt, now);
        if (!r.principal) {
          st_.metrics.reject(Reject::unauthorized);
          log(Level::info, "ws.reject", {{"reason", "unauthorized"}, {"detail", r.error}, {"remote", remote_}});
          auto res = simple(http::status::unauthorized, r.error + "\n", v);
          res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
          return reply(std::move(res), false);
        }
        info.principal = std::move(r.principal);
      }
    }
    if (st_.wsCount.fetch_add(1) >= st_.config.maxConnections) {
      st_.wsCount--;
      st_.metrics.reject(Reject::maxConnections);
      log(Level::warn, "ws.reject", {{"reason", "max_connections"}, {"remote", remote_}});
      return reply(simple(http::status::service_unavailable, "too many connections\n", v), false);
    }
    auto sp = chooseSubprotocol(req[http::field::sec_websocket_protocol]);
    beast::get_lowest_layer(stream_).expires_never();
    if constexpr (kTls) startTlsWebSocket(st_, std::move(stream_), std::move(req), std::move(info), std::move(sp));
    else startPlainWebSocket(st_, std::move(stream_), std::move(req), std::move(info), std::move(sp));
  }

  void reply(http::response<http::string_body> res, bool keepAlive) {
    res.keep_alive(keepAlive);
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    beast::get_lowest_layer(stream_).expires_after(Millis(st_.config.handshakeTimeoutMs));
    http::async_write(stream_, *sp, [self = this->shared_from_this(), sp, keepAlive](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (keepAlive) return self->doRead();
      self->closeStream();
    });
  }

  void closeStream() {
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ec;
        beast::get_lowest_layer(self->stream_).socket().close(ec);
      });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  State& st_;
  Stream stream_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void resumeHttp(State& st, beast::tcp_stream stream, beast::flat_buffer buffer, std::string remote) {
  std::make_shared<HttpSession<beast::tcp_stream>>(st, std::move(stream), std::move(buffer), std::move(remote))->resume();
}

void resumeHttp(State& st, beast::ssl_stream<beast::tcp_stream> stream, beast::flat_buffer buffer, std::string remote) {
  std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(st, std::move(stream), std::move(buffer),
                                                                      std::move(remote))
      ->resume();
}

void startHttp(State& state, tcp::socket socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  std::string remote = ec ? "unknown" : ep.address().to_string();
  if (state.ssl) {
    std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
        state, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *state.ssl), std::move(remote))
        ->run();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(state, beast::tcp_stream(std::move(socket)), std::move(remote))->run();
  }
}

}  // namespace stompwire::server::net
