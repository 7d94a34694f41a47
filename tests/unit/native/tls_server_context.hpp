#pragma once

#include <boost/asio/ssl/context.hpp>

#include "pki.hpp"

namespace stompwire::test {

inline boost::asio::ssl::context serverTlsContext(bool requireClientCert = false) {
  namespace ssl = boost::asio::ssl;
  const Pki& pki = testPki();
  ssl::context ctx(ssl::context::tls_server);
  ctx.use_certificate_chain(boost::asio::buffer(pki.serverCert));
  ctx.use_private_key(boost::asio::buffer(pki.serverKey), ssl::context::pem);
  if (requireClientCert) {
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    ctx.add_certificate_authority(boost::asio::buffer(pki.caCert));
  }
  return ctx;
}

}  // namespace stompwire::test
