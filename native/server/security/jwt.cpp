#include "security/jwt.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace stompwire::server {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::vector<std::string> stringList(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array())
    for (auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}
}  // namespace

std::string base64UrlEncode(std::string_view data) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : data) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decodeChar(c);
    if (v < 0) return std::nullopt;  // '=' padding is not base64url as JWT uses it
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string signJwtHs256(std::string_view claimsJson, std::string_view secret, std::string_view headerJson) {
  std::string input = base64UrlEncode(headerJson) + "." + base64UrlEncode(claimsJson);
  return input + "." + base64UrlEncode(hmacSha256(secret, input));
}

JwtResult verifyJwt(std::string_view token, const JwtPolicy& policy, std::int64_t now) {
  auto fail = [](std::string why) { return JwtResult{std::nullopt, std::move(why)}; };
  if (policy.secret.empty()) return fail("no JWT secret configured");
  if (token.size() > 8192) return fail("token too long");
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return fail("malformed token: expected header.payload.signature");
  auto headerText = base64UrlDecode(token.substr(0, d1));
  auto payloadText = base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64UrlDecode(token.substr(d2 + 1));
  if (!headerText || !payloadText || !signature) return fail("malformed token: bad base64url");

  auto header = nlohmann::json::parse(*headerText, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return fail("malformed token header");
  // Only HS256: 'none' and every other algorithm are refused before any signature work, so a token
  // cannot choose how it is checked.
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return fail("token header has no alg");
  if (*alg != "HS256") return fail("unsupported alg " + alg->get<std::string>() + " (only HS256)");

  auto expected = hmacSha256(policy.secret, token.substr(0, d2));
  if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return fail("bad signature");

  auto claims = nlohmann::json::parse(*payloadText, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) return fail("malformed token claims");
  auto number = [&](const char* name) -> std::optional<std::int64_t> {
    auto it = claims.find(name);
    if (it == claims.end() || !it->is_number()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  auto exp = number("exp");
  if (claims.contains("exp") && !exp) return fail("exp is not a number");
  if (!exp && policy.requireExp) return fail("token has no exp");
  if (exp && now > *exp + policy.leewaySeconds) return fail("token expired");
  if (auto nbf = number("nbf"); nbf && now + policy.leewaySeconds < *nbf) return fail("token not yet valid");
  if (!policy.audience.empty()) {
    auto aud = claims.find("aud");
    auto list = aud == claims.end() ? std::vector<std::string>{} : stringList(*aud);
    if (std::find(list.begin(), list.end(), policy.audience) == list.end()) return fail("wrong audience");
  }
  if (!policy.issuer.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || *iss != policy.issuer) return fail("wrong issuer");
  }
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get<std::string>().empty()) return fail("token has no sub");

  Principal p;
  p.user = sub->get<std::string>();
  // {"permissions": {"read": ["/topic/room.1"], "write": ["/topic/room.*"]}} restricts the session.
  if (auto perms = claims.find("permissions"); perms != claims.end() && perms->is_object()) {
    p.permissions.restricted = true;
    if (auto r = perms->find("read"); r != perms->end()) p.permissions.read = stringList(*r);
    if (auto w = perms->find("write"); w != perms->end()) p.permissions.write = stringList(*w);
  }
  return JwtResult{std::move(p), {}};
}

}  // namespace stompwire::server
