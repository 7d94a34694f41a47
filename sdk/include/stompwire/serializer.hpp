// Frame serializer: the inverse of FrameParser, escaping by version.
#pragma once

#include <string>
#include <system_error>

#include "stompwire/frame.hpp"

namespace stompwire {

struct SerializeOptions {
  Version version = Version::v1_2;
  // content-length is written when the body holds a NUL (it must be) or when this is set. Any
  // content-length header in the frame is replaced by the body's real length.
  bool alwaysContentLength = false;
};

// Appends the wire form of `frame` to `out`. On error (a command that is not A-Z, a header that the
// version cannot encode) nothing is appended.
std::error_code serialize(const Frame& frame, std::string& out, const SerializeOptions& options = {});
std::error_code serialize(const FrameView& frame, std::string& out, const SerializeOptions& options = {});

// A heart-beat is a lone EOL.
inline constexpr std::string_view kHeartbeat = "\n";

}  // namespace stompwire
