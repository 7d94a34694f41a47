// The WebSocket side of one STOMP session, as a template over the stream (plain or TLS). Included
// only by ws_plain.cpp and ws_tls.cpp, each instantiating one stream type (compile cost).
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

#include "net/detail.hpp"

namespace stompwire::server::net {

namespace websocket = beast::websocket;

// WebSocket text frames must be UTF-8; STOMP bodies may be anything, so those go out as binary.
inline bool isUtf8(std::string_view s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { ++i; continue; }
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    std::uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

template <class Stream>
class WsSession final : public Connection, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(State& st, Stream&& stream, SessionInfo info)
      : st_(st), ws_(std::move(stream)), timer_(ws_.get_executor()), info_(std::move(info)) {}

  void run(Request req, std::string subprotocol) {
    const auto& c = st_.config;
    websocket::stream_base::timeout t{};
    t.handshake_timeout = Millis(c.handshakeTimeoutMs);  // also bounds the closing handshake
    t.idle_timeout = websocket::stream_base::none();    // STOMP heart-beats decide liveness
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([sp = std::move(subprotocol)](websocket::response_type& res) {
      res.set(http::field::server, "stompwire-server");
      if (!sp.empty()) res.set(http::field::sec_websocket_protocol, sp);
    }));
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    pmd.server_max_window_bits = 12;  // smaller windows: deflate state costs memory per connection
    pmd.client_max_window_bits = 12;
    pmd.memLevel = 4;
    ws_.set_option(pmd);
    // Frames up to --max-frame-size get a STOMP ERROR from the broker; a WebSocket message far above
    // it is refused by Beast (close 1009) before it is buffered.
    ws_.read_message_max(4 * c.maxFrameSize + 4096);
    ws_.auto_fragment(false);
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::onAccept, this->shared_from_this()));
  }

  void deliver(std::string data) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), d = std::move(data)]() mutable {
      self->onDeliver(std::move(d));
    });
  }

  void closeAfterFlush(int code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), code, r = std::move(reason)]() mutable {
      if (self->done_ || self->closing_) return;
      self->closing_ = true;
      self->closeCode_ = code;
      self->closeReason_ = std::move(r);
      if (!self->writing_ && self->queue_.empty()) self->doClose();
    });
  }

  void abort() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ec;
      beast::get_lowest_layer(self->ws_).socket().close(ec);
      self->finish();
    });
  }

 private:
  void onAccept(beast::error_code ec) {
    if (ec) {
      st_.wsCount--;
      st_.metrics.reject(Reject::badRequest);
      log(Level::debug, "ws.accept_failed", {{"remote", info_.remoteAddress}, {"error", ec.message()}});
      return;
    }
    {
      std::lock_guard lock(st_.mu);
      if (!st_.shuttingDown) {
        id_ = st_.broker.open(info_, State::now());
        st_.conns.emplace(id_, this->shared_from_this());
        registered_ = true;
      }
    }
    if (!registered_) {  // shutdown began during the handshake
      st_.wsCount--;
      ws_.async_close(websocket::close_code::going_away, [self = this->shared_from_this()](beast::error_code) {});
      return;
    }
    st_.metrics.connectionsTotal++;
    st_.metrics.connectionsCurrent++;
    log(Level::debug, "ws.open", {{"session", std::to_string(id_)}, {"remote", info_.remoteAddress}});
    info_ = {};  // the broker has its copy
    doRead();
  }

  void doRead() { ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::onRead, this->shared_from_this())); }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec) return finish();
    auto data = buffer_.cdata();
    auto start = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(st_.mu);
      st_.broker.receive(id_, std::string_view(static_cast<const char*>(data.data()), data.size()), State::now());
    }
    st_.metrics.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > 16 * 1024) buffer_.shrink_to_fit();  // idle connections stay small
    if (!done_) doRead();
  }

  void onDeliver(std::string data) {
    if (done_ || closing_) return;
    queued_ += data.size();
    if (queued_ > st_.config.sendBufferLimit) return slowConsumer("send buffer full");
    queue_.push_back(std::move(data));
    if (!writing_) doWrite();
  }

  void doWrite() {
    if (done_ || queue_.empty()) return;
    writing_ = true;
    auto stall = Millis(st_.stallUntilMs.load());
    if (stall > State::now()) {
      timer_.expires_after(stall - State::now());
      timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        self->writing_ = false;
        if (!ec) self->doWrite();
      });
      return;
    }
    const std::string& msg = queue_.front();
    ws_.text(isUtf8(msg));
    auto gen = ++writeGen_;
    timer_.expires_after(Millis(st_.config.sendTimeoutMs));
    timer_.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (!ec && self->writing_ && self->writeGen_ == gen) self->slowConsumer("send timeout");
    });
    ws_.async_write(asio::buffer(msg), beast::bind_front_handler(&WsSession::onWrite, this->shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    ++writeGen_;
    timer_.cancel();
    if (ec || done_) return finish();
    queued_ -= queue_.front().size();
    queue_.pop_front();
    if (!queue_.empty()) return doWrite();
    if (closing_) doClose();
  }

  void doClose() {
    if (closeStarted_ || done_) return;
    closeStarted_ = true;
    websocket::close_reason reason;
    reason.code = static_cast<std::uint16_t>(closeCode_);
    reason.reason = closeReason_;
    ws_.async_close(reason,
                    [self = this->shared_from_this()](beast::error_code) { self->finish(); });
  }

  void slowConsumer(const char* why) {
    log(Level::warn, "ws.slow_consumer", {{"session", std::to_string(id_)}, {"reason", why},
                                          {"queued_bytes", std::to_string(queued_)}});
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    finish();
    st_.metrics.slowConsumerDisconnects++;  // after finish(): the gauges already reflect it
  }

  void finish() {
    if (done_) return;
    done_ = true;
    // A write in flight (a send timeout, a slow consumer) still points into the front message until its
    // handler runs, whatever happened to the socket: keep that one alive with the session.
    if (writing_ && !queue_.empty()) {
      queue_.erase(std::next(queue_.begin()), queue_.end());
    } else {
      queue_.clear();
    }
    queued_ = 0;
    timer_.cancel();
    if (!registered_) return;
    bool drained = false;
    {
      std::lock_guard lock(st_.mu);
      st_.broker.disconnected(id_);
      st_.conns.erase(id_);
      drained = st_.shuttingDown && st_.conns.empty();
    }
    st_.metrics.connectionsCurrent--;
    st_.wsCount--;
    log(Level::debug, "ws.close", {{"session", std::to_string(id_)}});
    if (drained && st_.onDrained) asio::post(st_.ioc, st_.onDrained);
  }

  State& st_;
  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  asio::steady_timer timer_;  // send timeout, or a fault-injected stall
  SessionInfo info_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  SessionId id_ = 0;
  std::uint64_t writeGen_ = 0;
  int closeCode_ = 1000;
  std::string closeReason_;
  bool registered_ = false, writing_ = false, closing_ = false, closeStarted_ = false, done_ = false;
};

}  // namespace stompwire::server::net
