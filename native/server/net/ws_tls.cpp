// wss:// sessions.
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/ws_session_impl.hpp"

namespace stompwire::server::net {

void startTlsWebSocket(State& state, beast::ssl_stream<beast::tcp_stream> stream, Request req, SessionInfo info,
                       std::string subprotocol) {
  std::make_shared<WsSession<beast::ssl_stream<beast::tcp_stream>>>(state, std::move(stream), std::move(info))
      ->run(std::move(req), std::move(subprotocol));
}

}  // namespace stompwire::server::net
