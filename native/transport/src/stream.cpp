// stomp:// and stomp+ssl:// — STOMP straight over TCP or TLS. No framing below STOMP: each read's bytes
// go to the core, whose incremental parser reassembles frames split across reads.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <type_traits>

#include "connection.hpp"
#include "tls.hpp"

namespace stompwire::native::detail {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

template <bool Tls>
class StreamConnection final : public ConnectionBase {
  using Stream = std::conditional_t<Tls, asio::ssl::stream<tcp::socket>, tcp::socket>;

 public:
  StreamConnection(asio::any_io_executor executor, TransportListener& listener, std::shared_ptr<SharedConfig> config,
                   std::shared_ptr<asio::ssl::context> context)
      : ConnectionBase(executor, listener, std::move(config)),
        context_(std::move(context)),
        resolver_(executor),
        stream_(makeStream(executor, context_.get())) {}

 private:
  static Stream makeStream(asio::any_io_executor executor, asio::ssl::context* context) {
    if constexpr (Tls) {
      return Stream(executor, *context);
    } else {
      (void)context;
      return Stream(executor);
    }
  }

  tcp::socket& socket() {
    if constexpr (Tls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void doConnect() override {
    resolver_.async_resolve(url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
                            [self = self<StreamConnection>()](const error_code& ec, tcp::resolver::results_type r) {
                              self->onResolve(ec, std::move(r));
                            });
  }

  void onResolve(const error_code& ec, const tcp::resolver::results_type& results) {
    if (stopped()) return;
    if (ec) return fail(errc::transport_error, "resolve " + url_.host + ": " + describe(ec));
    asio::async_connect(socket(), results,
                        [self = self<StreamConnection>()](const error_code& e, const tcp::endpoint&) {
                          self->onConnect(e);
                        });
  }

  void onConnect(const error_code& ec) {
    if (stopped()) return;
    if (ec) {
      return fail(ec == asio::error::timed_out ? std::error_code(errc::connect_timeout) : mapError(ec),
                  "connect " + url_.hostHeader() + ": " + describe(ec));
    }
    error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (Tls) {
      armDeadline(options().handshakeTimeout, "TLS handshake");
      std::string problem = prepareTlsClient(stream_.native_handle(), url_, options().tls);
      if (!problem.empty()) return fail(errc::invalid_argument, problem);
      stream_.async_handshake(asio::ssl::stream_base::client,
                              [self = self<StreamConnection>()](const error_code& e) { self->onHandshake(e); });
    } else {
      onHandshake({});
    }
  }

  void onHandshake(const error_code& ec) {
    if (stopped()) return;
    if (ec) {
      std::string text = "TLS handshake with " + url_.hostHeader() + ": ";
      if constexpr (Tls) {
        text += describeTls(ec, stream_.native_handle());
      } else {
        text += describe(ec);
      }
      return fail(errc::transport_error, text);
    }
    readNext();
    connected("");
  }

  void readNext() {
    stream_.async_read_some(asio::buffer(readBuffer_), [self = self<StreamConnection>()](const error_code& ec,
                                                                                          std::size_t n) {
      self->onRead(ec, n);
    });
  }

  void onRead(const error_code& ec, std::size_t n) {
    if (stopped()) return;
    if (!ec) {
      deliverMessage(std::string_view(readBuffer_.data(), n), true);
      if (!stopped()) readNext();
      return;
    }
    if (closing_) {
      if constexpr (Tls) {
        if (ec == asio::error::operation_aborted) return startTlsShutdown();
      }
      // EOF after our shutdown: the peer has everything we sent.
      const bool clean = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      if (clean) return finish(closeCode_, closeReason_, true);
      return finish(1006, "close: " + describe(ec), false);
    }
    if (ec == asio::error::eof) {
      // A STOMP server closes the stream after an ERROR frame or a DISCONNECT receipt: that is its close.
      return finish(1000, "connection closed by peer", true);
    }
    fail(mapError(ec), "read: " + describe(ec));
  }

  void doWrite(const Outgoing& message) override {
    asio::async_write(stream_, asio::buffer(message.data),
                      [self = self<StreamConnection>()](const error_code& ec, std::size_t) { self->writeDone(ec); });
  }

  void doClose(int, const std::string&) override {
    closing_ = true;
    error_code ignored;
    if constexpr (Tls) {
      // close_notify needs the stream to itself: stop the pending read first (onRead continues).
      socket().cancel(ignored);
    } else {
      socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  void startTlsShutdown() {
    if constexpr (Tls) {
      stream_.async_shutdown([self = self<StreamConnection>()](const error_code& ec) {
        if (self->stopped()) return;
        const bool clean = !ec || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
        if (clean) return self->finish(self->closeCode_, self->closeReason_, true);
        self->finish(1006, "TLS shutdown: " + describe(ec), false);
      });
    }
  }

  void abortIo() noexcept override {
    resolver_.cancel();
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  std::shared_ptr<asio::ssl::context> context_;
  tcp::resolver resolver_;
  Stream stream_;
  std::array<char, 64 * 1024> readBuffer_{};
  bool closing_ = false;
};

}  // namespace

std::shared_ptr<ConnectionBase> makeStreamConnection(asio::any_io_executor executor, TransportListener& listener,
                                                     std::shared_ptr<SharedConfig> config,
                                                     std::shared_ptr<asio::ssl::context> context) {
  if (context) {
    return std::make_shared<StreamConnection<true>>(std::move(executor), listener, std::move(config),
                                                    std::move(context));
  }
  return std::make_shared<StreamConnection<false>>(std::move(executor), listener, std::move(config), nullptr);
}

}  // namespace stompwire::native::detail
