// Native transports: STOMP over WebSocket (ws://, wss://, Boost.Beast) and over a raw TCP or TLS stream
// (stomp://, stomp+ssl://), behind the portable stompwire::Transport contract.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stompwire/transport.hpp>

namespace stompwire::native {

struct TlsOptions {
  // Peer verification is on unless this is set. For tests against self-signed certificates only:
  // it accepts any certificate and any host name, so an active attacker can read everything.
  bool insecureSkipVerify = false;
  // Trust the system CA store (OpenSSL's default paths) in addition to caFile / caDir.
  bool useSystemCaStore = true;
  std::string caFile;    // PEM bundle of extra trusted CAs
  std::string caDir;     // c_rehash'ed directory of extra trusted CAs
  std::string certFile;  // client certificate chain (PEM), for servers that ask for one
  std::string keyFile;   // its private key (PEM, unencrypted)
  // Name used for SNI and the certificate check instead of the URL's host (the URL's host is still
  // what is resolved and connected to). Empty: the URL's host.
  std::string serverName;
};

struct TransportOptions {
  // Resolve + TCP connect. Zero or negative: no limit.
  Millis connectTimeout{10'000};
  // TLS handshake + WebSocket upgrade, each phase.
  Millis handshakeTimeout{10'000};
  // From close() to the peer's close reply (WebSocket) / EOF (stream); then the socket is dropped.
  Millis closeTimeout{5'000};
  // Extra headers on the WebSocket upgrade request, e.g. {"Authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> headers;
  bool permessageDeflate = false;
  // Largest incoming WebSocket message; a larger one fails the connection with errc::frame_too_large.
  std::size_t maxMessageSize = 16 * 1024 * 1024;
  std::string userAgent = "stompwire";
  TlsOptions tls;
  // Diagnostics: every failure with the original Asio/Beast/OpenSSL error text, and protocol events.
  // Called on the transport's executor.
  std::function<void(std::string_view)> log;
};

// Makes one transport (one connection attempt). Its events and all its I/O run on executor; call it
// (including its destructor) from that executor only: in a multi-threaded io_context, pass a strand.
std::unique_ptr<Transport> makeTransport(boost::asio::any_io_executor executor, TransportListener& listener,
                                         TransportOptions options);

// The factory the client core takes. The implementation is chosen when open() sees the URL's scheme;
// the TLS context (CA store, client certificate) is built once, on the first secure connection, and
// shared by every transport this factory makes.
TransportFactory makeTransportFactory(boost::asio::any_io_executor executor, TransportOptions options);

}  // namespace stompwire::native
