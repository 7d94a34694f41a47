// Internal: what every native transport shares (event delivery rules, write queue, deadlines, error
// mapping). The Beast/Asio specifics live in ws_plain.cpp, ws_tls.cpp and stream.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "stompwire/error.hpp"
#include "stompwire/native/transport.hpp"
#include "stompwire/native/url.hpp"

namespace boost::asio::ssl {
class context;
}

namespace stompwire::native::detail {

// Options plus the TLS context built from them, shared by every transport of one factory.
class SharedConfig {
 public:
  explicit SharedConfig(TransportOptions o) : options(std::move(o)) {}
  const TransportOptions options;
  // Builds the context on first use. On failure returns null and sets detail.
  std::shared_ptr<boost::asio::ssl::context> tlsContext(std::string& detail);

 private:
  std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::string error_;
};

class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  ConnectionBase(boost::asio::any_io_executor executor, TransportListener& listener,
                 std::shared_ptr<SharedConfig> config);
  virtual ~ConnectionBase();
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;

  void start(Url url, std::span<const std::string_view> subprotocols);
  void send(std::string_view data, bool binary);
  void close(int code, std::string_view reason);
  std::size_t bufferedAmount() const noexcept { return buffered_; }
  // The Transport is being destroyed: deliver nothing more and abort the I/O. Handlers still queued
  // keep this object alive until they have run (and found it detached).
  void detach();
  // A failure found inside open(): reported from a posted handler, never from open() itself.
  void failLater(std::error_code code, std::string detail);

 protected:
  enum class State { idle, connecting, open, closing, closed };
  struct Outgoing {
    std::string data;
    bool binary;
  };

  // --- implemented by each transport ---
  // Resolve, connect and run the handshakes; then call connected() or fail().
  virtual void doConnect() = 0;
  // Write one message; then call writeDone().
  virtual void doWrite(const Outgoing& message) = 0;
  // The write queue has drained after close(): run the closing handshake, then call finish().
  virtual void doClose(int code, const std::string& reason) = 0;
  // Close sockets, cancel resolves: every pending handler completes soon. Must not deliver events.
  virtual void abortIo() noexcept = 0;

  // --- called by each transport from its completion handlers ---
  bool stopped() const noexcept { return state_ == State::closed; }
  void connected(std::string_view subprotocol);
  void deliverMessage(std::string_view data, bool binary);
  void writeDone(const boost::system::error_code& ec);
  // onError(code) then onClose(1006, detail, false); at most once per connection.
  void fail(std::error_code code, std::string detail);
  // onClose(code, reason, clean) without onError; at most once per connection.
  void finish(int code, std::string reason, bool clean);
  // Timeout for the current phase (0 or less: none). On expiry the connection fails with
  // errc::connect_timeout (connecting) or is dropped (closing).
  void armDeadline(Millis timeout, std::string phase);
  void log(std::string_view text) const;
  const TransportOptions& options() const noexcept { return config_->options; }

  template <class Derived>
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(shared_from_this());
  }

  boost::asio::any_io_executor executor_;
  std::shared_ptr<SharedConfig> config_;
  Url url_;
  std::vector<std::string> offered_;
  State state_ = State::idle;
  int closeCode_ = 1000;
  std::string closeReason_;

 private:
  void writeNext();
  void onDeadline();
  void terminate();

  TransportListener* listener_;
  std::deque<Outgoing> queue_;
  std::size_t buffered_ = 0;
  bool writing_ = false;
  bool terminal_ = false;  // onClose delivered or about to be
  boost::asio::steady_timer deadline_;
  std::uint64_t deadlineGeneration_ = 0;
  Millis deadlineTimeout_{0};
  std::string deadlinePhase_;
};

// "Connection refused [system:111]": the original error stays visible in logs and close reasons.
std::string describe(const boost::system::error_code& ec);
// Asio/Beast/SSL error -> the stompwire::errc the core understands.
std::error_code mapError(const boost::system::error_code& ec);
// Close codes the application may send (RFC 6455 7.4); others become 1000.
int sanitizeCloseCode(int code) noexcept;
bool validHeaderName(std::string_view name) noexcept;
bool validHeaderValue(std::string_view value) noexcept;

// Per-scheme constructors, one translation unit each (Beast is expensive to compile).
std::shared_ptr<ConnectionBase> makePlainWsConnection(boost::asio::any_io_executor executor,
                                                      TransportListener& listener,
                                                      std::shared_ptr<SharedConfig> config);
std::shared_ptr<ConnectionBase> makeTlsWsConnection(boost::asio::any_io_executor executor,
                                                    TransportListener& listener, std::shared_ptr<SharedConfig> config,
                                                    std::shared_ptr<boost::asio::ssl::context> context);
std::shared_ptr<ConnectionBase> makeStreamConnection(boost::asio::any_io_executor executor,
                                                     TransportListener& listener,
                                                     std::shared_ptr<SharedConfig> config,
                                                     std::shared_ptr<boost::asio::ssl::context> context);
// A connection that only ever reports the failure given to failLater().
std::shared_ptr<ConnectionBase> makeFailedConnection(boost::asio::any_io_executor executor,
                                                     TransportListener& listener,
                                                     std::shared_ptr<SharedConfig> config);

}  // namespace stompwire::native::detail
