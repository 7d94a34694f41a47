// Small text helpers shared by the core's translation units (not part of the public API).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "stompwire/frame.hpp"

namespace stompwire::detail {

// Writes the decimal digits of v (at most 20) at p; returns their end. Size: std::to_string's generic
// integer formatting costs more wasm.
inline char* putNumber(char* p, std::uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = digits[--n];
  return p;
}

// Appends the decimal digits of v.
inline void appendNumber(std::string& out, std::uint64_t v) {
  char digits[20];
  out.append(digits, static_cast<std::size_t>(putNumber(digits, v) - digits));
}

// out = prefix + the decimal digits of v (written in place: no temporary string to move in and destroy).
inline void setNumbered(std::string& out, std::string_view prefix, std::uint64_t v) {
  out.assign(prefix.data(), prefix.size());
  appendNumber(out, v);
}

// Appends one frame of the session's own (fixed, valid command) straight to a string, in one pass: the
// same bytes serialize() would produce for it, without building a Frame first. A header the version
// cannot carry makes finish() fail (the caller drops what was appended).
class FrameWriter {
 public:
  FrameWriter(std::string& out, std::string_view command, Version version);
  void header(std::string_view name, std::string_view value);
  // A header the session sets itself: headers() leaves out the caller's headers of that name. At most
  // kMaxOwn per frame (ACK in 1.1: message-id, subscription, transaction) are remembered; a further one
  // is written but filters nothing (never out of bounds): a frame that needs more raises kMaxOwn.
  void own(std::string_view name, std::string_view value) {
    if (owned_ < kMaxOwn) own_[owned_++] = name;
    header(name, value);
  }
  // The caller's headers, leaving out the names written with own() and, with `dedupe`, repeats among
  // them (the first wins).
  void headers(std::span<const Header> extra, bool dedupe = false);
  // content-length (when asked or when the body holds a NUL), the blank line, the body and the NUL.
  std::error_code finish(std::string_view body, bool contentLength);

 private:
  void put(std::string_view s, bool name);
  std::string& out_;
  Version version_;
  bool escaped_;
  std::error_code error_;
  static constexpr std::size_t kMaxOwn = 3;
  std::string_view own_[kMaxOwn];
  std::size_t owned_ = 0;
};

}  // namespace stompwire::detail
