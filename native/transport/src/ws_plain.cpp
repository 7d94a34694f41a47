// ws:// — the plain-TCP instantiation of WsConnection.
#include "ws_connection.hpp"

namespace stompwire::native::detail {

template <>
struct WsLayer<beast::tcp_stream> {
  static constexpr bool kTls = false;
  static websocket::stream<beast::tcp_stream> make(boost::asio::any_io_executor executor, boost::asio::ssl::context*) {
    return websocket::stream<beast::tcp_stream>(executor);
  }
};

std::shared_ptr<ConnectionBase> makePlainWsConnection(boost::asio::any_io_executor executor,
                                                      TransportListener& listener,
                                                      std::shared_ptr<SharedConfig> config) {
  return std::make_shared<WsConnection<beast::tcp_stream>>(std::move(executor), listener, std::move(config), nullptr);
}

}  // namespace stompwire::native::detail
