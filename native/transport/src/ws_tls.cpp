// wss:// — the TLS instantiation of WsConnection.
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "tls.hpp"
#include "ws_connection.hpp"

namespace stompwire::native::detail {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <>
struct WsLayer<TlsStream> {
  static constexpr bool kTls = true;
  static websocket::stream<TlsStream> make(boost::asio::any_io_executor executor, boost::asio::ssl::context* context) {
    return websocket::stream<TlsStream>(executor, *context);
  }
  static std::string prepare(TlsStream& stream, const Url& url, const TlsOptions& tls) {
    return prepareTlsClient(stream.native_handle(), url, tls);
  }
  template <class Handler>
  static void handshake(TlsStream& stream, Handler&& handler) {
    stream.async_handshake(boost::asio::ssl::stream_base::client, std::forward<Handler>(handler));
  }
  static std::string describe(TlsStream& stream, const beast::error_code& ec) {
    return describeTls(ec, stream.native_handle());
  }
};

std::shared_ptr<ConnectionBase> makeTlsWsConnection(boost::asio::any_io_executor executor, TransportListener& listener,
                                                    std::shared_ptr<SharedConfig> config,
                                                    std::shared_ptr<boost::asio::ssl::context> context) {
  return std::make_shared<WsConnection<TlsStream>>(std::move(executor), listener, std::move(config),
                                                   std::move(context));
}

}  // namespace stompwire::native::detail
