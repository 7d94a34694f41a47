#include "pki.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace stompwire::test {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert makeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuerKey, long serial) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (!issuer) {
    addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExt(cert.get(), signer, NID_subject_key_identifier, "hash");
  }
  (void)issuerKey;
  return cert;
}

void sign(X509* cert, EVP_PKEY* key) { check(X509_sign(cert, key, EVP_sha256()) > 0, "sign"); }

std::string pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

std::string pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  check(static_cast<bool>(out), "write file");
}

Pki generate() {
  Pki pki;
  Key caKey(EVP_EC_gen("P-256"));
  check(caKey != nullptr, "CA key");
  Cert ca = makeCert(caKey.get(), "stompwire test CA", nullptr, nullptr, 1);
  sign(ca.get(), caKey.get());

  Key serverKey(EVP_EC_gen("P-256"));
  Cert server = makeCert(serverKey.get(), "localhost", ca.get(), caKey.get(), 2);
  addExt(server.get(), ca.get(), NID_basic_constraints, "CA:FALSE");
  addExt(server.get(), ca.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  addExt(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  addExt(server.get(), ca.get(), NID_authority_key_identifier, "keyid");
  sign(server.get(), caKey.get());

  Key clientKey(EVP_EC_gen("P-256"));
  Cert client = makeCert(clientKey.get(), "stompwire test client", ca.get(), caKey.get(), 3);
  addExt(client.get(), ca.get(), NID_basic_constraints, "CA:FALSE");
  addExt(client.get(), ca.get(), NID_ext_key_usage, "clientAuth");
  addExt(client.get(), ca.get(), NID_authority_key_identifier, "keyid");
  sign(client.get(), caKey.get());

  Key otherKey(EVP_EC_gen("P-256"));
  Cert other = makeCert(otherKey.get(), "unrelated CA", nullptr, nullptr, 4);
  sign(other.get(), otherKey.get());

  pki.caCert = pem(ca.get());
  pki.caKey = pem(caKey.get());
  pki.serverCert = pem(server.get());
  pki.serverKey = pem(serverKey.get());
  pki.clientCert = pem(client.get());
  pki.clientKey = pem(clientKey.get());
  pki.otherCaCert = pem(other.get());

  std::string tmpl = std::string(STOMPWIRE_BINARY_DIR) + "/test-pki-XXXXXX";
  check(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  pki.dir = tmpl;
  pki.caFile = pki.dir + "/ca.pem";
  pki.otherCaFile = pki.dir + "/other-ca.pem";
  pki.clientCertFile = pki.dir + "/client.pem";
  pki.clientKeyFile = pki.dir + "/client-key.pem";
  writeFile(pki.caFile, pki.caCert);
  writeFile(pki.otherCaFile, pki.otherCaCert);
  writeFile(pki.clientCertFile, pki.clientCert);
  writeFile(pki.clientKeyFile, pki.clientKey);
  return pki;
}

}  // namespace

const Pki& testPki() {
  // Removes the files when the test process exits.
  static const struct Holder {
    Pki pki = generate();
    ~Holder() {
      std::error_code ec;
      std::filesystem::remove_all(pki.dir, ec);
    }
  } holder;
  return holder.pki;
}

}  // namespace stompwire::test
