// Origin allow-list checked at the WebSocket handshake (cross-site WebSocket hijacking defence).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stompwire::server {

class OriginPolicy {
 public:
  explicit OriginPolicy(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

  // A request without Origin (not a browser) passes: the check protects browser users. A browser
  // origin passes when it is the page's own origin (scheme://Host) or matches a pattern
  // ("https://*.example.com", "http://localhost:*"); '*' never spans a '/'.
  bool allowed(std::string_view origin, std::string_view hostHeader, bool tls) const;

 private:
  std::vector<std::string> patterns_;
};

// '*' matches a run of characters without '/'.
bool originPatternMatch(std::string_view pattern, std::string_view origin) noexcept;

}  // namespace stompwire::server
