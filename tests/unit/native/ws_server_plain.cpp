#include "ws_server_impl.hpp"

namespace stompwire::test {

template <>
struct ServerLayer<beast::tcp_stream> {
  static websocket::stream<beast::tcp_stream> make(tcp::socket socket, boost::asio::ssl::context*) {
    return websocket::stream<beast::tcp_stream>(std::move(socket));
  }
  template <class Handler>
  static void handshake(beast::tcp_stream&, Handler&& handler) {
    handler(beast::error_code{});
  }
};

std::unique_ptr<WsServer> startPlainWsServer(boost::asio::io_context& ioc, WsServerConfig config) {
  return std::make_unique<WsServerImpl<beast::tcp_stream>>(ioc, std::move(config), nullptr);
}

}  // namespace stompwire::test
