#include "stompwire/error.hpp"

#include <string>

namespace stompwire {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "stompwire"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_command: return "invalid STOMP command line";
      case errc::malformed_header: return "malformed header line (no ':' or empty name)";
      case errc::invalid_escape: return "undefined escape sequence in header";
      case errc::invalid_content_length: return "content-length is not a decimal number";
      case errc::missing_null: return "frame body not terminated by NUL";
      case errc::frame_too_large: return "frame exceeds the maximum frame size";
      case errc::too_many_headers: return "frame has too many headers";
      case errc::header_line_too_long: return "header line exceeds the maximum length";
      case errc::body_too_large: return "frame body exceeds the maximum body size";
      case errc::unencodable_header: return "header cannot be encoded in this STOMP version";
      case errc::protocol_error: return "STOMP protocol error";
      case errc::unsupported_version: return "no STOMP version in common with the peer";
      case errc::stomp_error: return "the server sent an ERROR frame";
      case errc::heartbeat_timeout: return "no data received within the heart-beat interval";
      case errc::connect_timeout: return "connection timed out";
      case errc::receipt_timeout: return "receipt not received in time";
      case errc::not_connected: return "not connected";
      case errc::invalid_state: return "operation not allowed in the current state";
      case errc::invalid_argument: return "invalid argument";
      case errc::queue_full: return "offline queue is full";
      case errc::deactivated: return "client deactivated";
      case errc::max_attempts_reached: return "maximum reconnect attempts reached";
      case errc::transport_error: return "transport error";
      case errc::connection_closed: return "connection closed";
      case errc::before_connect_failed: return "beforeConnect failed";
      case errc::json_parse_error: return "invalid JSON";
      case errc::unauthorized: return "unauthorized";
      case errc::forbidden: return "forbidden";
      case errc::rate_limited: return "rate limit exceeded";
      case errc::server_shutting_down: return "server shutting down";
    }
    return "unknown stompwire error";
  }
};

}  // namespace

const std::error_category& stompwire_category() noexcept {
  static const Category category;
  return category;
}

std::string_view errcName(errc e) noexcept {
  switch (e) {
#define STOMPWIRE_ERRC_NAME(n) \
  case errc::n: return #n;
    STOMPWIRE_ERRC_NAME(invalid_command)
    STOMPWIRE_ERRC_NAME(malformed_header)
    STOMPWIRE_ERRC_NAME(invalid_escape)
    STOMPWIRE_ERRC_NAME(invalid_content_length)
    STOMPWIRE_ERRC_NAME(missing_null)
    STOMPWIRE_ERRC_NAME(frame_too_large)
    STOMPWIRE_ERRC_NAME(too_many_headers)
    STOMPWIRE_ERRC_NAME(header_line_too_long)
    STOMPWIRE_ERRC_NAME(body_too_large)
    STOMPWIRE_ERRC_NAME(unencodable_header)
    STOMPWIRE_ERRC_NAME(protocol_error)
    STOMPWIRE_ERRC_NAME(unsupported_version)
    STOMPWIRE_ERRC_NAME(stomp_error)
    STOMPWIRE_ERRC_NAME(heartbeat_timeout)
    STOMPWIRE_ERRC_NAME(connect_timeout)
    STOMPWIRE_ERRC_NAME(receipt_timeout)
    STOMPWIRE_ERRC_NAME(not_connected)
    STOMPWIRE_ERRC_NAME(invalid_state)
    STOMPWIRE_ERRC_NAME(invalid_argument)
    STOMPWIRE_ERRC_NAME(queue_full)
    STOMPWIRE_ERRC_NAME(deactivated)
    STOMPWIRE_ERRC_NAME(max_attempts_reached)
    STOMPWIRE_ERRC_NAME(transport_error)
    STOMPWIRE_ERRC_NAME(connection_closed)
    STOMPWIRE_ERRC_NAME(before_connect_failed)
    STOMPWIRE_ERRC_NAME(json_parse_error)
    STOMPWIRE_ERRC_NAME(unauthorized)
    STOMPWIRE_ERRC_NAME(forbidden)
    STOMPWIRE_ERRC_NAME(rate_limited)
    STOMPWIRE_ERRC_NAME(server_shutting_down)
#undef STOMPWIRE_ERRC_NAME
  }
  return "unknown";
}

}  // namespace stompwire
