#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "ws_server_impl.hpp"

namespace stompwire::test {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <>
struct ServerLayer<TlsStream> {
  static websocket::stream<TlsStream> make(tcp::socket socket, boost::asio::ssl::context* tls) {
    return websocket::stream<TlsStream>(beast::tcp_stream(std::move(socket)), *tls);
  }
  template <class Handler>
  static void handshake(TlsStream& stream, Handler&& handler) {
    stream.async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(handler));
  }
};

std::unique_ptr<WsServer> startTlsWsServer(boost::asio::io_context& ioc, WsServerConfig config,
                                           boost::asio::ssl::context& tls) {
  return std::make_unique<WsServerImpl<TlsStream>>(ioc, std::move(config), &tls);
}

}  // namespace stompwire::test
