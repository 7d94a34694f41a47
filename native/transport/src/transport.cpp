#include "stompwire/native/transport.hpp"

#include "connection.hpp"

namespace stompwire::native {
namespace {

using detail::ConnectionBase;
using detail::SharedConfig;

// Picks the connection type from the URL's scheme when open() is called.
class NativeTransport final : public Transport {
 public:
  NativeTransport(boost::asio::any_io_executor executor, TransportListener& listener,
                  std::shared_ptr<SharedConfig> config)
      : executor_(std::move(executor)), listener_(listener), config_(std::move(config)) {}

  ~NativeTransport() override {
    if (connection_) connection_->detach();
  }

  void open(std::string_view url, std::span<const std::string_view> subprotocols) override {
    if (connection_) return;  // one attempt per transport
    Url parsed;
    if (auto ec = parseUrl(url, parsed)) {
      return failLater(errc::invalid_argument, "invalid URL '" + std::string(url) + "': " + ec.message());
    }
    std::shared_ptr<boost::asio::ssl::context> context;
    if (parsed.secure()) {
      std::string detail;
      context = config_->tlsContext(detail);
      if (!context) return failLater(errc::invalid_argument, "TLS configuration: " + detail);
    }
    switch (parsed.scheme) {
      case UrlScheme::ws: connection_ = detail::makePlainWsConnection(executor_, listener_, config_); break;
      case UrlScheme::wss:
        connection_ = detail::makeTlsWsConnection(executor_, listener_, config_, std::move(context));
        break;
      case UrlScheme::stomp:
      case UrlScheme::stompSsl:
        connection_ = detail::makeStreamConnection(executor_, listener_, config_, std::move(context));
        break;
    }
    connection_->start(std::move(parsed), subprotocols);
  }

  void send(std::string_view data, bool binary) override {
    if (connection_) connection_->send(data, binary);
  }

  void close(int code, std::string_view reason) override {
    if (connection_) connection_->close(code, reason);
  }

  std::size_t bufferedAmount() const override { return connection_ ? connection_->bufferedAmount() : 0; }

 private:
  void failLater(std::error_code code, std::string detail) {
    connection_ = detail::makeFailedConnection(executor_, listener_, config_);
    connection_->failLater(code, std::move(detail));
  }

  boost::asio::any_io_executor executor_;
  TransportListener& listener_;
  std::shared_ptr<SharedConfig> config_;
  std::shared_ptr<ConnectionBase> connection_;
};

}  // namespace

std::unique_ptr<Transport> makeTransport(boost::asio::any_io_executor executor, TransportListener& listener,
                                         TransportOptions options) {
  return std::make_unique<NativeTransport>(std::move(executor), listener,
                                           std::make_shared<SharedConfig>(std::move(options)));
}

TransportFactory makeTransportFactory(boost::asio::any_io_executor executor, TransportOptions options) {
  auto config = std::make_shared<SharedConfig>(std::move(options));
  return [executor = std::move(executor), config](TransportListener& listener) -> std::unique_ptr<Transport> {
    return std::make_unique<NativeTransport>(executor, listener, config);
  };
}

}  // namespace stompwire::native
