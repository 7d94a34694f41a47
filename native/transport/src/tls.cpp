#include "tls.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "connection.hpp"

namespace stompwire::native::detail {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> buildTlsContext(const TlsOptions& tls, std::string& detail) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                       ec);
  if (tls.insecureSkipVerify) {
    context->set_verify_mode(ssl::verify_none, ec);
  } else {
    context->set_verify_mode(ssl::verify_peer, ec);
    if (tls.useSystemCaStore) {
      context->set_default_verify_paths(ec);
      if (ec) {
        detail = "cannot load the system CA store: " + describe(ec);
        return nullptr;
      }
    }
  }
  if (!tls.caFile.empty()) {
    context->load_verify_file(tls.caFile, ec);
    if (ec) {
      detail = "cannot load CA file '" + tls.caFile + "': " + describe(ec);
      return nullptr;
    }
  }
  if (!tls.caDir.empty()) {
    context->add_verify_path(tls.caDir, ec);
    if (ec) {
      detail = "cannot use CA directory '" + tls.caDir + "': " + describe(ec);
      return nullptr;
    }
  }
  if (!tls.certFile.empty() || !tls.keyFile.empty()) {
    if (tls.certFile.empty() || tls.keyFile.empty()) {
      detail = "a client certificate needs both certFile and keyFile";
      return nullptr;
    }
    context->use_certificate_chain_file(tls.certFile, ec);
    if (ec) {
      detail = "cannot load client certificate '" + tls.certFile + "': " + describe(ec);
      return nullptr;
    }
    context->use_private_key_file(tls.keyFile, ssl::context::pem, ec);
    if (ec) {
      detail = "cannot load client key '" + tls.keyFile + "': " + describe(ec);
      return nullptr;
    }
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      detail = "client key '" + tls.keyFile + "' does not match certificate '" + tls.certFile + "'";
      return nullptr;
    }
  }
  return context;
}

std::string prepareTlsClient(SSL* ssl, const Url& url, const TlsOptions& tls) {
  const std::string& name = tls.serverName.empty() ? url.host : tls.serverName;
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(name, ec);
  const bool ipLiteral = !ec;
  // RFC 6066: SNI carries host names only, never IP literals.
  if (!ipLiteral && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return "cannot set SNI host name '" + name + "'";
  }
  if (tls.insecureSkipVerify) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = ipLiteral ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) return "cannot set the expected certificate name '" + name + "'";
  return {};
}

std::string describeTls(const boost::system::error_code& ec, SSL* ssl) {
  std::string text = describe(ec);
  const long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    text += ": certificate verification failed: ";
    text += X509_verify_cert_error_string(verify);
  }
  return text;
}

}  // namespace stompwire::native::detail
