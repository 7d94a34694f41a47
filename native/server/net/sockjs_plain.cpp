// SockJS over http:// (one stream type per TU keeps compile time and memory down).
#include "net/sockjs_http_impl.hpp"
#include "net/sockjs_ws_impl.hpp"

namespace stompwire::server::net {

void startSockJs(State& st, beast::tcp_stream stream, beast::flat_buffer buffer, Request req, std::string remote) {
  std::make_shared<SockJsHttp<beast::tcp_stream>>(st, std::move(stream), std::move(buffer), std::move(req), std::move(remote))
      ->run();
}

}  // namespace stompwire::server::net
