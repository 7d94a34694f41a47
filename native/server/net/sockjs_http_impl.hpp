// The HTTP side of the SockJS endpoint, as a template over the stream (plain or TLS), instantiated
// by sockjs_plain.cpp and sockjs_tls.cpp. Responses are written by hand (status line, headers, then
// chunks), because a streaming receiver writes frames into one response for as long as it lives.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <deque>

#include "net/sockjs.hpp"
#include "net/sockjs_session.hpp"
#include "net/url_util.hpp"

namespace stompwire::server::net {

// sockjs_ws_impl.hpp: the framed WebSocket transport of one session.
template <class Stream>
void startSockJsWebSocket(State& st, Stream stream, Request req, std::shared_ptr<SockJsSession> session);

namespace sockjs_detail {

bool validCallback(std::string_view cb);
std::string iframeHtml(State& st);
std::string iframeEtag(State& st);
std::string htmlfilePrelude(std::string_view callback);
std::string infoJson(State& st);
// Origin, JWT and connection-count rules of /ws, for a request that creates a session. On refusal
// returns {status, body, extra header line}.
struct Refusal {
  int status;
  std::string body;
  std::string extraHeader;
};
std::optional<Refusal> admit(State& st, const Request& req, std::string_view query, const std::string& remote, bool tls,
                             SessionInfo& info);
const char* reasonPhrase(int status);

}  // namespace sockjs_detail

template <class Stream>
class SockJsHttp final : public SockJsReceiver, public std::enable_shared_from_this<SockJsHttp<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  SockJsHttp(State& st, Stream&& stream, beast::flat_buffer&& buffer, Request&& req, std::string remote)
      : st_(st), stream_(std::move(stream)), buffer_(std::move(buffer)), req_(std::move(req)), remote_(std::move(remote)) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->handle(); });
  }

  void sendFrame(std::string frame, bool last) override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), f = std::move(frame), last]() mutable {
      self->onFrame(std::move(f), last);
    });
  }

  void abortConnection() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->ended_ = true;
      self->closeSocket();
      self->notifyLast();
    });
  }

 private:
  using Transport = SockJsTransport;

  void handle() {
    std::string_view target = req_.target();
    auto q = target.find('?');
    std::string path(target.substr(0, q));
    query_ = q == std::string_view::npos ? std::string{} : std::string(target.substr(q + 1));
    std::string rest = path.substr(7);  // after "/sockjs"
    auto method = req_.method();
    bool upgrade = beast::websocket::is_upgrade(req_);

    if (rest.empty() || rest == "/") {
      if (method != http::verb::get && method != http::verb::head) return simple(405, "GET only\n");
      return respond(200, "Welcome to SockJS!\n", "text/plain; charset=UTF-8");
    }
    if (rest == "/info") {
      if (method == http::verb::options) return options("OPTIONS, GET");
      if (method != http::verb::get) return simple(405, "GET only\n");
      if (!originOk()) return refuse(403, "origin not allowed\n");
      return respond(200, sockjs_detail::infoJson(st_), "application/json; charset=UTF-8",
                     "Cache-Control: no-store, no-cache, no-transform, must-revalidate, max-age=0\r\n");
    }
    if (rest.starts_with("/iframe") && rest.ends_with(".html")) {
      auto etag = sockjs_detail::iframeEtag(st_);
      if (req_[http::field::if_none_match] == etag) return respond(304, "", "", "ETag: " + etag + "\r\n", false);
      return respond(200, sockjs_detail::iframeHtml(st_), "text/html; charset=UTF-8",
                     "Cache-Control: public, max-age=31536000\r\nETag: " + etag + "\r\n", false);
    }
    if (rest == "/websocket") return simple(400, "Can \"Upgrade\" only to \"WebSocket\".");

    // /{server}/{session}/{transport}
    std::vector<std::string_view> parts;
    std::string_view r = std::string_view(rest).substr(1);
    while (true) {
      auto slash = r.find('/');
      parts.push_back(r.substr(0, slash));
      if (slash == std::string_view::npos) break;
      r.remove_prefix(slash + 1);
    }
    auto validId = [](std::string_view s) {
      return !s.empty() && s.size() <= 64 && s.find('.') == std::string_view::npos;
    };
    if (parts.size() != 3 || !validId(parts[0]) || !validId(parts[1])) return simple(404, "not found\n");
    key_ = std::string(parts[1]);
    std::string_view t = parts[2];

    if (t == "websocket") {
      if (!upgrade) return simple(400, "Can \"Upgrade\" only to \"WebSocket\".");
      if (!st_.config.sockjsWebsocket) return simple(404, "WebSocket transport disabled\n");
      return websocketTransport();
    }
    if (t == "xhr_send" || t == "jsonp_send") {
      if (method == http::verb::options && t == "xhr_send") return options("OPTIONS, POST");
      if (method != http::verb::post) return simple(405, "POST only\n");
      return sendTransport(t == "jsonp_send");
    }
    if (t == "xhr" || t == "xhr_streaming") {
      if (method == http::verb::options) return options("OPTIONS, POST");
      if (method != http::verb::post) return simple(405, "POST only\n");
      return receiverTransport(t == "xhr" ? Transport::xhrPolling : Transport::xhrStreaming);
    }
    if (t == "eventsource" || t == "htmlfile" || t == "jsonp") {
      if (method != http::verb::get) return simple(405, "GET only\n");
      return receiverTransport(t == "eventsource" ? Transport::eventsource
                               : t == "htmlfile"  ? Transport::htmlfile
                                                  : Transport::jsonp);
    }
    return simple(404, "not found\n");
  }

  bool originOk() {
    return st_.origins.allowed(req_[http::field::origin], req_[http::field::host], kTls);
  }

  // CORS as sockjs-node does it: the caller's origin (with credentials) or '*'.
  std::string corsHeaders() {
    std::string origin(req_[http::field::origin]);
    std::string h;
    if (origin.empty() || origin == "null") h = "Access-Control-Allow-Origin: *\r\n";
    else h = "Access-Control-Allow-Origin: " + origin + "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
    return h;
  }

  std::string statusLine(int status) {
    return "HTTP/1.1 " + std::to_string(status) + " " + sockjs_detail::reasonPhrase(status) + "\r\nServer: stompwire-server\r\n";
  }

  void simple(int status, std::string body) {
    if (status >= 400) sockJsRegistry(st_).badRequests++;
    respond(status, std::move(body), "text/plain; charset=UTF-8");
  }

  void refuse(int status, std::string body, std::string extra = {}) {
    sockJsRegistry(st_).badRequests++;
    respond(status, std::move(body), "text/plain; charset=UTF-8", std::move(extra));
  }

  void options(std::string_view methods) {
    std::string extra = "Cache-Control: public, max-age=31536000\r\nAccess-Control-Max-Age: 31536000\r\n"
                        "Access-Control-Allow-Methods: " + std::string(methods) + "\r\n";
    auto reqHeaders = req_[http::field::access_control_request_headers];
    if (!reqHeaders.empty()) extra += "Access-Control-Allow-Headers: " + std::string(reqHeaders) + "\r\n";
    respond(204, "", "", std::move(extra));
  }

  // A complete response; the connection then serves the next request or closes.
  void respond(int status, std::string body, std::string_view type, std::string extra = {}, bool cors = true) {
    std::string out = statusLine(status);
    if (cors) out += corsHeaders();
    if (!type.empty()) out += "Content-Type: " + std::string(type) + "\r\n";
    if (extra.find("Cache-Control") == std::string::npos) out += "Cache-Control: no-store, no-cache, no-transform, must-revalidate, max-age=0\r\n";
    out += extra;
    bool keep = req_.keep_alive() && !st_.shuttingDown;
    if (status != 204 && status != 304) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (req_.method() != http::verb::head) out += body;
    auto sp = std::make_shared<std::string>(std::move(out));
    asio::async_write(stream_, asio::buffer(*sp), [self = this->shared_from_this(), sp, keep](beast::error_code ec, std::size_t) {
      if (ec) return self->closeSocket();
      if (keep) return resumeHttp(self->st_, std::move(self->stream_), std::move(self->buffer_), self->remote_);
      self->closeSocket();
    });
  }

  void sendTransport(bool jsonp) {
    auto session = sockJsRegistry(st_).find(key_);
    if (!session || session->remote() != remote_) return refuse(404, "No such session\n");  // as sockjs-node: sends never create sessions
    if (!originOk()) return refuse(403, "origin not allowed\n");
    std::string payload = std::move(req_.body());
    if (jsonp) {
      // application/x-www-form-urlencoded "d=<json>", or the JSON itself.
      auto type = req_[http::field::content_type];
      if (type.starts_with("application/x-www-form-urlencoded")) {
        auto d = queryParam(payload, "d");
        payload = d ? *d : std::string{};
      }
    }
    if (payload.empty()) return refuse(500, "Payload expected.");
    auto messages = sockJsParseMessages(payload, false);
    if (!messages) return refuse(500, "Broken JSON encoding.");
    session->receive(*messages);
    if (jsonp) return respond(200, "ok", "text/plain; charset=UTF-8");
    respond(204, "", "text/plain; charset=UTF-8");
  }

  void websocketTransport() {
    if (!originOk()) return refuse(403, "origin not allowed\n");
    SessionInfo info;
    if (auto no = sockjs_detail::admit(st_, req_, query_, remote_, kTls, info)) return refuse(no->status, no->body, no->extraHeader);
    // WebSocket sessions are not addressable by id: a later HTTP request cannot join them.
    auto session = std::make_shared<SockJsSession>(st_, std::string{}, Transport::websocket, remote_);
    if (!session->openBroker(std::move(info))) {
      st_.wsCount--;
      return refuse(503, "shutting down\n");
    }
    beast::get_lowest_layer(stream_).expires_never();
    startSockJsWebSocket<Stream>(st_, std::move(stream_), std::move(req_), std::move(session));
  }

  void receiverTransport(Transport transport) {
    transport_ = transport;
    if (transport == Transport::htmlfile || transport == Transport::jsonp) {
      auto cb = queryParam(query_, "c");
      if (!cb) cb = queryParam(query_, "callback");
      if (!cb) return refuse(500, "\"callback\" parameter required");
      if (!sockjs_detail::validCallback(*cb)) return refuse(500, "invalid \"callback\" parameter");
      callback_ = *cb;
    }
    auto& reg = sockJsRegistry(st_);
    auto session = reg.find(key_);
    if (!originOk()) return refuse(403, "origin not allowed\n");
    if (session && session->remote() != remote_) return refuse(404, "No such session\n");
    if (!session) {
      SessionInfo info;
      if (auto no = sockjs_detail::admit(st_, req_, query_, remote_, kTls, info)) return refuse(no->status, no->body, no->extraHeader);
      auto [s, created] = reg.findOrCreate(st_, key_, transport, remote_);
      if (created && !s->openBroker(std::move(info))) {
        reg.erase(key_, s.get());
        st_.wsCount--;
        return refuse(503, "shutting down\n");
      }
      if (!created) st_.wsCount--;  // another request created it meanwhile
      session = std::move(s);
    }
    session_ = session;

    chunked_ = req_.version() >= 11;
    std::string head = statusLine(200) + corsHeaders();
    switch (transport) {
      case Transport::eventsource: head += "Content-Type: text/event-stream\r\n"; break;
      case Transport::htmlfile: head += "Content-Type: text/html; charset=UTF-8\r\n"; break;
      default: head += "Content-Type: application/javascript; charset=UTF-8\r\n"; break;
    }
    head += "Cache-Control: no-store, no-cache, no-transform, must-revalidate, max-age=0\r\n";
    if (chunked_) head += "Transfer-Encoding: chunked\r\n";
    head += "Connection: close\r\n\r\n";  // a receiver's connection ends with its response
    queueRaw(std::move(head));
    switch (transport) {
      case Transport::xhrStreaming: queueBody(std::string(2048, 'h') + "\n"); break;
      case Transport::eventsource: queueBody("\r\n"); break;
      case Transport::htmlfile: queueBody(sockjs_detail::htmlfilePrelude(callback_)); break;
      default: break;
    }
    watchPeer();
    session->attach(this->shared_from_this(), transport);
  }

  void onFrame(std::string frame, bool last) {
    if (ended_) return;
    std::string body;
    switch (transport_) {
      case Transport::eventsource: body = "data: " + frame + "\r\n\r\n"; break;
      case Transport::htmlfile: body = "<script>\np(" + sockJsQuote(frame) + ");\n</script>\r\n"; break;
      case Transport::jsonp: body = "/**/" + callback_ + "(" + sockJsQuote(frame) + ");\r\n"; break;
      default: body = frame + "\n"; break;
    }
    queueBody(std::move(body));
    if (last) {
      if (chunked_) queueRaw("0\r\n\r\n");
      lastQueued_ = true;
      notify_ = std::move(session_);
    }
  }

  void queueBody(std::string body) {
    if (body.empty()) return;
    if (chunked_) {
      char size[20];
      std::snprintf(size, sizeof size, "%zx\r\n", body.size());
      body.insert(0, size);
      body += "\r\n";
    }
    queueRaw(std::move(body));
  }

  void queueRaw(std::string bytes) {
    queued_ += bytes.size();
    if (queued_ > st_.config.sendBufferLimit) {
      // The client does not read its stream: the same rule as a slow WebSocket consumer.
      st_.metrics.slowConsumerDisconnects++;
      ended_ = true;
      closeSocket();
      if (session_) session_->receiverGone(this);
      session_.reset();
      return;
    }
    queue_.push_back(std::move(bytes));
    if (!writing_) doWrite();
  }

  void doWrite() {
    if (queue_.empty() || ended_) {
      if (lastQueued_ && !ended_) {
        ended_ = true;
        closeSocket();
        notifyLast();
      }
      return;
    }
    writing_ = true;
    asio::async_write(stream_, asio::buffer(queue_.front()), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->peerGone();
      if (self->queue_.empty()) return;  // the peer went away while this write was in flight
      self->queued_ -= self->queue_.front().size();
      self->queue_.pop_front();
      self->doWrite();
    });
  }

  // A pending read tells us when the client goes away while we wait for frames.
  void watchPeer() {
    beast::get_lowest_layer(stream_).expires_never();
    stream_.async_read_some(buffer_.prepare(512), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->peerGone();
      self->buffer_.commit(n);
      if (self->buffer_.size() > 64 * 1024) return self->peerGone();
      if (!self->ended_) self->watchPeer();
    });
  }

  void peerGone() {
    bool wasEnded = ended_;
    ended_ = true;
    if (!writing_) queue_.clear();  // an in-flight write still points into queue_.front()
    closeSocket();
    if (!wasEnded && session_) session_->receiverGone(this);
    session_.reset();
    notifyLast();
  }

  void notifyLast() {
    if (notify_) notify_->lastFrameWritten();
    notify_.reset();
  }

  void closeSocket() {
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    if (!sock.is_open()) return;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }

  State& st_;
  Stream stream_;
  beast::flat_buffer buffer_;
  Request req_;
  std::string remote_;
  std::string query_, key_, callback_;
  Transport transport_ = Transport::xhrStreaming;
  std::shared_ptr<SockJsSession> session_;
  std::shared_ptr<SockJsSession> notify_;  // set once the session handed us its last frame
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  bool chunked_ = true, writing_ = false, lastQueued_ = false, ended_ = false;
};

}  // namespace stompwire::server::net
