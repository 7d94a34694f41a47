// STOMP frames: an owning Frame for building and keeping, and a FrameView that the parser hands out
// without copying.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stompwire {

enum class Version : std::uint8_t { v1_0, v1_1, v1_2 };

std::string_view toString(Version v) noexcept;          // "1.0", "1.1", "1.2"
std::optional<Version> parseVersion(std::string_view s) noexcept;

struct Header {
  std::string name;
  std::string value;
};

struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// Looks a header up the STOMP way: when a name repeats, the first occurrence wins.
template <class Range>
std::optional<std::string_view> findHeader(const Range& headers, std::string_view name) noexcept {
  for (const auto& h : headers)
    if (std::string_view(h.name) == name) return std::string_view(h.value);
  return std::nullopt;
}

struct Frame;

// A parsed frame whose strings point into the parser's input or its internal buffer: valid until the
// next call into the parser. Copy into a Frame to keep it.
struct FrameView {
  std::string_view command;
  std::span<const HeaderView> headers;
  std::string_view body;

  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return findHeader(headers, name);
  }
  Frame toFrame() const;
};

// A frame's copy in one block (what a kept Message holds): its header views, then the command, the
// header names and values and the body back to back. packedSize() is the block's size; packFrame() writes
// the copy at `block` (aligned for HeaderView) and returns its view.
std::size_t packedSize(const FrameView& frame) noexcept;
FrameView packFrame(const FrameView& frame, void* block) noexcept;

struct Frame {
  std::string command;
  std::vector<Header> headers;  // in wire order; repeats allowed, the first wins on lookup
  std::string body;

  Frame() = default;
  explicit Frame(std::string cmd, std::vector<Header> hdrs = {}, std::string b = {})
      : command(std::move(cmd)), headers(std::move(hdrs)), body(std::move(b)) {}

  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return findHeader(headers, name);
  }
  // Replaces the first header of that name, or appends one.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value) { headers.push_back({std::string(name), std::string(value)}); }
  // Removes every header of that name.
  void erase(std::string_view name);

  friend bool operator==(const Frame& a, const Frame& b) {
    if (a.command != b.command || a.body != b.body || a.headers.size() != b.headers.size()) return false;
    for (std::size_t i = 0; i < a.headers.size(); ++i)
      if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) return false;
    return true;
  }
};

inline Frame FrameView::toFrame() const {
  Frame f{std::string(command), {}, std::string(body)};
  f.headers.reserve(headers.size());
  for (const auto& h : headers) f.headers.push_back({std::string(h.name), std::string(h.value)});
  return f;
}

// Frames whose headers are never escaped, in any version (STOMP 1.2 "Value Encoding").
inline bool isConnectCommand(std::string_view command) noexcept {
  using namespace std::string_view_literals;
  return command == "CONNECT"sv || command == "STOMP"sv || command == "CONNECTED"sv;
}

}  // namespace stompwire
