#include "stompwire/frame.hpp"

#include <algorithm>

namespace stompwire {

std::string_view toString(Version v) noexcept {
  switch (v) {
    case Version::v1_0: return "1.0";
    case Version::v1_1: return "1.1";
    case Version::v1_2: return "1.2";
  }
  return "1.2";
}

std::optional<Version> parseVersion(std::string_view s) noexcept {
  using namespace std::string_view_literals;
  if (s == "1.0"sv) return Version::v1_0;
  if (s == "1.1"sv) return Version::v1_1;
  if (s == "1.2"sv) return Version::v1_2;
  return std::nullopt;
}

void Frame::set(std::string_view name, std::string_view value) {
  for (auto& h : headers) {
    if (h.name == name) {
      h.value.assign(value);
      return;
    }
  }
  add(name, value);
}

void Frame::erase(std::string_view name) {
  std::erase_if(headers, [&](const Header& h) { return h.name == name; });
}

}  // namespace stompwire
