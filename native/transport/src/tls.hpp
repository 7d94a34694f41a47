// Internal: OpenSSL client setup shared by wss:// and stomp+ssl://.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "stompwire/native/transport.hpp"
#include "stompwire/native/url.hpp"

namespace stompwire::native::detail {

// TLS 1.2+, peer verification against the system store and/or the given CA file/dir, optional client
// certificate. Returns null and sets detail when a file cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> buildTlsContext(const TlsOptions& tls, std::string& detail);

// SNI and the host name (or IP) check for one connection. Returns an error text, empty on success.
std::string prepareTlsClient(SSL* ssl, const Url& url, const TlsOptions& tls);

// The handshake error plus OpenSSL's verification result ("certificate verify failed: hostname mismatch").
std::string describeTls(const boost::system::error_code& ec, SSL* ssl);

}  // namespace stompwire::native::detail
