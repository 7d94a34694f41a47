// Error codes of the portable core. Every failure in sdk/ is a value of this enum, reported through
// std::error_code, so native code, wasm code and tests compare against the same names.
#pragma once

#include <string_view>
#include <system_error>

namespace stompwire {

enum class errc {
  // 0 is success, as std::error_code expects.

  // Frame codec: the peer sent bytes that are not STOMP.
  invalid_command = 1,    // command line empty, too long or not A-Z
  malformed_header,       // header line without ':' or with an empty name
  invalid_escape,         // backslash sequence the negotiated version does not define
  invalid_content_length, // content-length not a plain decimal number
  missing_null,           // content-length bytes not followed by NUL
  frame_too_large,        // headers + body above the configured limit
  too_many_headers,
  header_line_too_long,
  body_too_large,
  unencodable_header,     // serializer: a value this version cannot carry (e.g. EOL in 1.0)

  // Protocol and session.
  protocol_error,         // a well-formed frame that breaks the protocol (unknown command, no CONNECTED...)
  unsupported_version,    // no common STOMP version
  stomp_error,            // the server sent an ERROR frame
  heartbeat_timeout,      // nothing received within the negotiated interval x tolerance
  connect_timeout,
  receipt_timeout,
  not_connected,
  invalid_state,          // a call that the current state does not allow
  invalid_argument,       // a bad option or argument
  queue_full,             // the offline queue is at maxMessages / maxBytes
  deactivated,            // pending work cancelled by deactivate()
  max_attempts_reached,
  transport_error,        // the transport reported an error
  connection_closed,      // the transport closed while work was pending
  before_connect_failed,
  json_parse_error,
  unauthorized,
  forbidden,
  rate_limited,
  server_shutting_down,
};

const std::error_category& stompwire_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), stompwire_category()};
}

// Stable lower_snake_case name of a code ("frame_too_large"); JS exposes it as Error.code.
std::string_view errcName(errc e) noexcept;

}  // namespace stompwire

template <>
struct std::is_error_code_enum<stompwire::errc> : std::true_type {};
