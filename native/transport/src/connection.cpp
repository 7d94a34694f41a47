#include "connection.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include "tls.hpp"

namespace stompwire::native::detail {

namespace asio = boost::asio;

std::shared_ptr<asio::ssl::context> SharedConfig::tlsContext(std::string& detail) {
  std::lock_guard lock(mutex_);
  if (!context_ && error_.empty()) {
    context_ = buildTlsContext(options.tls, error_);
  }
  detail = error_;
  return context_;
}

ConnectionBase::ConnectionBase(asio::any_io_executor executor, TransportListener& listener,
                               std::shared_ptr<SharedConfig> config)
    : executor_(std::move(executor)), config_(std::move(config)), listener_(&listener), deadline_(executor_) {}

ConnectionBase::~ConnectionBase() = default;

void ConnectionBase::start(Url url, std::span<const std::string_view> subprotocols) {
  if (state_ != State::idle) return;
  url_ = std::move(url);
  offered_.assign(subprotocols.begin(), subprotocols.end());
  state_ = State::connecting;
  armDeadline(options().connectTimeout, "connect");
  doConnect();
}

void ConnectionBase::send(std::string_view data, bool binary) {
  if (state_ != State::connecting && state_ != State::open) {
    log("send() after close() or failure: message of " + std::to_string(data.size()) + " bytes dropped");
    return;
  }
  queue_.push_back({std::string(data), binary});
  buffered_ += data.size();
  // Messages sent while connecting wait for the handshake.
  if (state_ == State::open && !writing_) writeNext();
}

void ConnectionBase::close(int code, std::string_view reason) {
  switch (state_) {
    case State::idle:
    case State::connecting: {
      state_ = State::closed;
      terminate();
      // Reported like a browser does: the attempt ends with an unclean close, from a posted handler.
      asio::post(executor_, [self = shared_from_this()] {
        if (self->terminal_) return;
        self->terminal_ = true;
        if (self->listener_) self->listener_->onClose(1006, "closed before the connection was established", false);
      });
      return;
    }
    case State::open:
      closeCode_ = sanitizeCloseCode(code);
      closeReason_ = std::string(reason.substr(0, 123));  // a close frame's payload is at most 125 bytes
      state_ = State::closing;
      armDeadline(options().closeTimeout, "close handshake");
      if (!writing_) doClose(closeCode_, closeReason_);
      return;
    case State::closing:
    case State::closed:
      return;
  }
}

void ConnectionBase::detach() {
  listener_ = nullptr;
  // The message being written must outlive the write operation, which may still touch it (Beast masks
  // the payload as it goes) until it sees the closed socket.
  if (writing_ && !queue_.empty()) {
    queue_.erase(queue_.begin() + 1, queue_.end());
  } else {
    queue_.clear();
  }
  buffered_ = 0;
  if (state_ != State::closed) {
    state_ = State::closed;
    terminate();
  }
}

void ConnectionBase::failLater(std::error_code code, std::string detail) {
  state_ = State::connecting;
  asio::post(executor_, [self = shared_from_this(), code, detail = std::move(detail)]() mutable {
    self->fail(code, std::move(detail));
  });
}

void ConnectionBase::connected(std::string_view subprotocol) {
  if (stopped()) return;
  state_ = State::open;
  armDeadline(Millis{0}, {});
  log("open " + url_.toString() + (subprotocol.empty() ? std::string() : " subprotocol " + std::string(subprotocol)));
  if (listener_) listener_->onOpen(subprotocol);
  // The listener may have closed or destroyed the transport from onOpen.
  if (state_ == State::open && !writing_ && !queue_.empty()) writeNext();
}

void ConnectionBase::deliverMessage(std::string_view data, bool binary) {
  if (stopped() || !listener_) return;
  listener_->onMessage(data, binary);
}

void ConnectionBase::writeNext() {
  writing_ = true;
  doWrite(queue_.front());
}

void ConnectionBase::writeDone(const boost::system::error_code& ec) {
  if (stopped()) return;
  writing_ = false;
  if (!queue_.empty()) {
    buffered_ -= queue_.front().data.size();
    queue_.pop_front();
  }
  if (ec) {
    fail(mapError(ec), "write: " + describe(ec));
    return;
  }
  if (!queue_.empty()) {
    writeNext();
  } else if (state_ == State::closing) {
    doClose(closeCode_, closeReason_);
  }
}

void ConnectionBase::terminate() {
  ++deadlineGeneration_;
  deadline_.cancel();
  abortIo();
}

void ConnectionBase::fail(std::error_code code, std::string detail) {
  if (terminal_) return;
  terminal_ = true;
  state_ = State::closed;
  terminate();
  log("error " + url_.toString() + ": " + detail);
  if (listener_) listener_->onError(code);
  if (listener_) listener_->onClose(1006, detail, false);
}

void ConnectionBase::finish(int code, std::string reason, bool clean) {
  if (terminal_) return;
  terminal_ = true;
  state_ = State::closed;
  terminate();
  log("closed " + url_.toString() + " code " + std::to_string(code) + (clean ? " clean" : " unclean") +
      (reason.empty() ? std::string() : ": " + reason));
  if (listener_) listener_->onClose(code, reason, clean);
}

void ConnectionBase::armDeadline(Millis timeout, std::string phase) {
  const auto generation = ++deadlineGeneration_;
  deadline_.cancel();
  if (timeout <= Millis::zero()) return;
  deadlineTimeout_ = timeout;
  deadlinePhase_ = std::move(phase);
  deadline_.expires_after(timeout);
  deadline_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
    if (ec || generation != self->deadlineGeneration_) return;
    self->onDeadline();
  });
}

void ConnectionBase::onDeadline() {
  const std::string what =
      deadlinePhase_ + " timed out after " + std::to_string(deadlineTimeout_.count()) + " ms (" + url_.toString() + ")";
  if (state_ == State::closing) {
    finish(1006, what, false);
  } else {
    fail(errc::connect_timeout, what);
  }
}

void ConnectionBase::log(std::string_view text) const {
  if (options().log) options().log(text);
}

namespace {

class FailedConnection final : public ConnectionBase {
 public:
  using ConnectionBase::ConnectionBase;

 private:
  void doConnect() override {}
  void doWrite(const Outgoing&) override {}
  void doClose(int, const std::string&) override {}
  void abortIo() noexcept override {}
};

}  // namespace

std::shared_ptr<ConnectionBase> makeFailedConnection(asio::any_io_executor executor, TransportListener& listener,
                                                     std::shared_ptr<SharedConfig> config) {
  return std::make_shared<FailedConnection>(std::move(executor), listener, std::move(config));
}

std::string describe(const boost::system::error_code& ec) {
  return ec.message() + " [" + ec.category().name() + ":" + std::to_string(ec.value()) + "]";
}

std::error_code mapError(const boost::system::error_code& ec) {
  namespace ws = boost::beast::websocket;
  if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
      ec == asio::ssl::error::stream_truncated || ec == ws::error::closed) {
    return errc::connection_closed;
  }
  if (ec == asio::error::timed_out || ec == boost::beast::error::timeout) return errc::connect_timeout;
  if (ec == ws::error::message_too_big || ec == ws::error::buffer_overflow) return errc::frame_too_large;
  return errc::transport_error;
}

int sanitizeCloseCode(int code) noexcept {
  if (code == 1000 || (code >= 3000 && code <= 4999)) return code;
  // 1001..1014 are the protocol's own; 1005/1006/1015 must never be sent.
  if (code >= 1001 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) return code;
  return 1000;
}

bool validHeaderName(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos) return false;
  }
  return true;
}

bool validHeaderValue(std::string_view value) noexcept {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

}  // namespace stompwire::native::detail
