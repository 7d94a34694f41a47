// ws:// sessions: one instantiation of WsSession per TU keeps each TU's compile time and memory down.
#include "net/ws_session_impl.hpp"

namespace stompwire::server::net {

void startPlainWebSocket(State& state, beast::tcp_stream stream, Request req, SessionInfo info, std::string subprotocol) {
  std::make_shared<WsSession<beast::tcp_stream>>(state, std::move(stream), std::move(info))
      ->run(std::move(req), std::move(subprotocol));
}

}  // namespace stompwire::server::net
