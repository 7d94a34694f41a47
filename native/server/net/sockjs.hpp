// Entry points of the SockJS endpoint for the HTTP router (http_session.cpp). Internal to net/.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include "net/detail.hpp"

namespace stompwire::server::net {

inline bool isSockJsPath(std::string_view path) { return path == "/sockjs" || path.starts_with("/sockjs/"); }

// Serves one request under /sockjs (the stream and any bytes read past the request are handed over).
// Requests that end normally hand the connection back through resumeHttp() when it is kept alive.
void startSockJs(State& st, beast::tcp_stream stream, beast::flat_buffer buffer, Request req, std::string remote);
void startSockJs(State& st, beast::ssl_stream<beast::tcp_stream> stream, beast::flat_buffer buffer, Request req,
                 std::string remote);

// http_session.cpp: continue reading requests on a kept-alive connection.
void resumeHttp(State& st, beast::tcp_stream stream, beast::flat_buffer buffer, std::string remote);
void resumeHttp(State& st, beast::ssl_stream<beast::tcp_stream> stream, beast::flat_buffer buffer, std::string remote);

// The /metrics lines of the SockJS endpoint (sockjs_session.cpp).
std::string renderSockJsMetrics(State& st);

}  // namespace stompwire::server::net
