#include "stompwire/error.hpp"

#include <cstring>
#include <string>

namespace stompwire {
namespace {

// Every code's name and message, in enum order (checked below).
#define STOMPWIRE_ERRORS(X) \
  X(invalid_command, "invalid STOMP command line") \
  X(malformed_header, "malformed header line (no ':' or empty name)") \
  X(invalid_escape, "undefined escape sequence in header") \
  X(invalid_content_length, "content-length is not a decimal number") \
  X(missing_null, "frame body not terminated by NUL") \
  X(frame_too_large, "frame exceeds the maximum frame size") \
  X(too_many_headers, "frame has too many headers") \
  X(header_line_too_long, "header line exceeds the maximum length") \
  X(body_too_large, "frame body exceeds the maximum body size") \
  X(unencodable_header, "header cannot be encoded in this STOMP version") \
  X(protocol_error, "STOMP protocol error") \
  X(unsupported_version, "no STOMP version in common with the peer") \
  X(stomp_error, "the server sent an ERROR frame") \
  X(heartbeat_timeout, "no data received within the heart-beat interval") \
  X(connect_timeout, "connection timed out") \
  X(receipt_timeout, "receipt not received in time") \
  X(not_connected, "not connected") \
  X(invalid_state, "operation not allowed in the current state") \
  X(invalid_argument, "invalid argument") \
  X(queue_full, "offline queue is full") \
  X(deactivated, "client deactivated") \
  X(max_attempts_reached, "maximum reconnect attempts reached") \
  X(transport_error, "transport error") \
  X(connection_closed, "connection closed") \
  X(before_connect_failed, "beforeConnect failed") \
  X(json_parse_error, "invalid JSON") \
  X(unauthorized, "unauthorized") \
  X(forbidden, "forbidden") \
  X(rate_limited, "rate limit exceeded") \
  X(server_shutting_down, "server shutting down")

// One block of text, "name\0message\0" per code from 1 up, rather than two switch statements: no
// table of pointers and sizes per string in the module, only this text and a short walk over it.
constexpr char kText[] =
#define X(name, message) #name "\0" message "\0"
    STOMPWIRE_ERRORS(X)
#undef X
    ;

constexpr errc kOrder[] = {
#define X(name, message) errc::name,
    STOMPWIRE_ERRORS(X)
#undef X
};
constexpr int kCount = static_cast<int>(sizeof kOrder / sizeof kOrder[0]);

constexpr bool inEnumOrder() {
  for (int i = 0; i < kCount; ++i)
    if (static_cast<int>(kOrder[i]) != i + 1) return false;
  return true;
}
static_assert(inEnumOrder(), "STOMPWIRE_ERRORS must list every errc in enum order");

// Entry `which` (0 the name, 1 the message) of code `ev`, or nullptr when there is no such code.
const char* text(int ev, int which) noexcept {
  if (ev < 1 || ev > kCount) return nullptr;
  const char* p = kText;
  for (int skip = (ev - 1) * 2 + which; skip > 0; --skip) p += std::strlen(p) + 1;
  return p;
}

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "stompwire"; }

  std::string message(int ev) const override {
    const char* m = text(ev, 1);
    return m ? m : "unknown stompwire error";
  }
};

}  // namespace

const std::error_category& stompwire_category() noexcept {
  static const Category category;
  return category;
}

std::string_view errcName(errc e) noexcept {
  const char* n = text(static_cast<int>(e), 0);
  return n ? n : "unknown";
}

}  // namespace stompwire
