#include "security/origin.hpp"

#include <algorithm>
#include <cctype>

namespace stompwire::server {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool match(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p.front() == '*') {
    for (std::size_t i = 0; i <= t.size(); ++i) {
      if (match(p.substr(1), t.substr(i))) return true;
      if (i < t.size() && t[i] == '/') break;
    }
    return false;
  }
  return !t.empty() && p.front() == t.front() && match(p.substr(1), t.substr(1));
}
}  // namespace

bool originPatternMatch(std::string_view pattern, std::string_view origin) noexcept {
  if (pattern.size() > 256 || origin.size() > 256) return false;  // bounds the backtracking
  return match(lower(pattern), lower(origin));
}

bool OriginPolicy::allowed(std::string_view origin, std::string_view hostHeader, bool tls) const {
  if (origin.empty()) return true;
  std::string o = lower(origin);
  if (!hostHeader.empty() && o == lower(std::string(tls ? "https://" : "http://") + std::string(hostHeader))) return true;
  return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::string& p) { return originPatternMatch(p, o); });
}

}  // namespace stompwire::server
