// A throw-away PKI generated at test time with OpenSSL: a CA, a server certificate for
// localhost/127.0.0.1 and a client certificate, as PEM strings and as files.
#pragma once

#include <string>

namespace stompwire::test {

struct Pki {
  std::string caCert, caKey;
  std::string serverCert, serverKey;  // SAN DNS:localhost, IP:127.0.0.1, signed by the CA
  std::string clientCert, clientKey;  // signed by the CA, clientAuth
  std::string otherCaCert;            // an unrelated CA
  std::string dir;                    // where the files below live
  std::string caFile, otherCaFile, clientCertFile, clientKeyFile;
};

// Generated once per test process.
const Pki& testPki();

}  // namespace stompwire::test
