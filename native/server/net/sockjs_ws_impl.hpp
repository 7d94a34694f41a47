// The framed WebSocket transport of SockJS (/sockjs/{server}/{session}/websocket): text frames "o",
// "h", "a[...]", "c[...]" out; JSON arrays of strings (or one JSON string) in. Instantiated per
// stream type by sockjs_plain.cpp and sockjs_tls.cpp.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

#include "net/sockjs_session.hpp"

namespace stompwire::server::net {

template <class Stream>
class SockJsWs final : public SockJsReceiver, public std::enable_shared_from_this<SockJsWs<Stream>> {
 public:
  SockJsWs(State& st, Stream&& stream, std::shared_ptr<SockJsSession> session)
      : st_(st), ws_(std::move(stream)), session_(std::move(session)) {}

  void run(Request req) {
    namespace websocket = beast::websocket;
    websocket::stream_base::timeout t{};
    t.handshake_timeout = Millis(st_.config.handshakeTimeoutMs);
    t.idle_timeout = websocket::stream_base::none();  // SockJS heart-beats and STOMP decide liveness
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "stompwire-server"); }));
    // JSON quoting can grow a STOMP frame up to 6x (\u0000); the broker enforces the real limit.
    ws_.read_message_max(6 * st_.config.maxFrameSize + 4096);
    ws_.auto_fragment(false);
    ws_.text(true);
    ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return self->gone();
      self->session_->attach(self, SockJsTransport::websocket);
      self->doRead();
    });
  }

  void sendFrame(std::string frame, bool last) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), f = std::move(frame), last]() mutable {
      if (self->done_) return;
      self->queued_ += f.size();
      if (self->queued_ > self->st_.config.sendBufferLimit) {
        self->st_.metrics.slowConsumerDisconnects++;
        return self->kill();
      }
      self->queue_.push_back(std::move(f));
      if (last) {
        self->closeAfter_ = true;
        self->notify_ = std::move(self->session_);  // the session let go of us
      }
      if (!self->writing_) self->doWrite();
    });
  }

  void abortConnection() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->session_.reset();
      self->kill();
    });
  }

 private:
  void doRead() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->gone();
      auto data = self->buffer_.cdata();
      std::string_view payload(static_cast<const char*>(data.data()), data.size());
      if (!payload.empty() && self->session_) {
        auto messages = sockJsParseMessages(payload, true);
        if (!messages) {
          sockJsRegistry(self->st_).badRequests++;
          self->buffer_.consume(self->buffer_.size());
          return self->closeWith(3000, "Broken framing.");
        }
        self->session_->receive(*messages);
      }
      self->buffer_.consume(self->buffer_.size());
      if (self->buffer_.capacity() > 16 * 1024) self->buffer_.shrink_to_fit();
      if (!self->done_) self->doRead();
    });
  }

  void doWrite() {
    if (done_) return;
    if (queue_.empty()) {
      if (closeAfter_) closeWith(1000, "Normal closure");
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front()), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->gone();
      if (self->queue_.empty()) return;  // gone() while this write was in flight
      self->queued_ -= self->queue_.front().size();
      self->queue_.pop_front();
      self->doWrite();
    });
  }

  void closeWith(int code, const char* reason) {
    if (closeStarted_ || done_) return;
    closeStarted_ = true;
    if (session_) {
      session_->receiverGone(this);
      session_.reset();
    }
    beast::websocket::close_reason r;
    r.code = static_cast<std::uint16_t>(code);
    r.reason = reason;
    ws_.async_close(r, [self = this->shared_from_this()](beast::error_code) { self->gone(); });
  }

  void kill() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    gone();
  }

  void gone() {
    if (done_) return;
    done_ = true;
    if (!writing_) queue_.clear();  // an in-flight write still points into queue_.front()
    if (session_) {
      session_->receiverGone(this);
      session_.reset();
    }
    if (notify_) notify_->lastFrameWritten();
    notify_.reset();
  }

  State& st_;
  beast::websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<SockJsSession> session_;
  std::shared_ptr<SockJsSession> notify_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  bool writing_ = false, closeAfter_ = false, closeStarted_ = false, done_ = false;
};

template <class Stream>
void startSockJsWebSocket(State& st, Stream stream, Request req, std::shared_ptr<SockJsSession> session) {
  std::make_shared<SockJsWs<Stream>>(st, std::move(stream), std::move(session))->run(std::move(req));
}

}  // namespace stompwire::server::net
