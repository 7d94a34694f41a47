#include "stompwire/frame.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "text.hpp"

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
  // "1.0", "1.1" or "1.2": the last digit is the enum's value (checks, not three string compares).
  if (s.size() != 3 || s[0] != '1' || s[1] != '.' || s[2] < '0' || s[2] > '2') return std::nullopt;
  return static_cast<Version>(s[2] - '0');
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

std::size_t packedSize(const FrameView& frame) noexcept {
  std::size_t n = frame.headers.size() * sizeof(HeaderView) + frame.command.size() + frame.body.size();
  for (const auto& h : frame.headers) n += h.name.size() + h.value.size();
  return n;
}

FrameView packFrame(const FrameView& frame, void* block) noexcept {
  static_assert(std::is_trivially_destructible_v<HeaderView>);
  const std::size_t count = frame.headers.size();
  auto* const views = static_cast<HeaderView*>(block);
  char* p = reinterpret_cast<char*>(views + count);
  auto keep = [&p](std::string_view s) {
    std::string_view v(p, s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
    return v;
  };
  const std::string_view command = keep(frame.command);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view name = keep(frame.headers[i].name);
    new (views + i) HeaderView{name, keep(frame.headers[i].value)};
  }
  return FrameView{command, std::span<const HeaderView>(views, count), keep(frame.body)};
}

}  // namespace stompwire
