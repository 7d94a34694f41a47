// JWT (RFC 7519) verification for HS256 only, on OpenSSL's HMAC with a constant-time compare.
// Anything else (alg none, RS256, a header without alg, a bad signature, expired, not yet valid,
// wrong audience or issuer, no sub) is rejected with a reason for the log and the 401 body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/broker.hpp"

namespace stompwire::server {

struct JwtPolicy {
  std::string secret;
  std::string audience;     // empty: not checked
  std::string issuer;       // empty: not checked
  std::int64_t leewaySeconds = 30;
  bool requireExp = true;
};

struct JwtResult {
  std::optional<Principal> principal;
  std::string error;  // set when principal is empty
};

// nowUnixSeconds is passed in so tests can check expiry without waiting.
JwtResult verifyJwt(std::string_view token, const JwtPolicy& policy, std::int64_t nowUnixSeconds);

// For tests and tools: signs claims (a JSON object text) with HS256.
std::string signJwtHs256(std::string_view claimsJson, std::string_view secret, std::string_view headerJson = R"({"alg":"HS256","typ":"JWT"})");

std::string base64UrlEncode(std::string_view data);
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace stompwire::server
