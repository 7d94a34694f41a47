// Small text helpers shared by the core's translation units (not part of the public API).
#pragma once

#include <cstdint>
#include <string>

namespace stompwire::detail {

// prefix + the decimal digits of v. Size: std::to_string's generic integer formatting costs more wasm.
inline std::string withNumber(std::string prefix, std::uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) prefix += digits[--n];
  return prefix;
}

}  // namespace stompwire::detail
