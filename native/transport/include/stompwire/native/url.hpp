// URLs the native transports accept: ws://, wss:// (STOMP over WebSocket) and stomp://, stomp+ssl://
// (STOMP over a plain TCP or TLS stream, as RabbitMQ and ActiveMQ offer it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace stompwire::native {

enum class UrlScheme { ws, wss, stomp, stompSsl };

struct Url {
  UrlScheme scheme = UrlScheme::ws;
  std::string host;        // IPv6 literals without brackets ("::1")
  std::uint16_t port = 0;  // the scheme's default when the URL has none
  std::string path = "/";  // always starts with '/'
  std::string query;       // without the '?'; empty when absent
  bool hasQuery = false;
  bool ipv6 = false;       // host is an IPv6 literal

  bool secure() const noexcept { return scheme == UrlScheme::wss || scheme == UrlScheme::stompSsl; }
  bool webSocket() const noexcept { return scheme == UrlScheme::ws || scheme == UrlScheme::wss; }
  // True for IPv4 and IPv6 literals: TLS then checks an IP SAN and sends no SNI (RFC 6066).
  bool hostIsIpLiteral() const;
  // Request target: path plus "?query" when present.
  std::string target() const;
  // Host header value: brackets around IPv6, ":port" only when not the default.
  std::string hostHeader() const;
  // The URL written back in canonical form (lower-case scheme, explicit path).
  std::string toString() const;
};

enum class UrlError {
  empty = 1,
  missing_scheme,
  unsupported_scheme,   // not ws, wss, stomp or stomp+ssl
  missing_host,
  invalid_host,         // characters outside a DNS name / IPv4 literal
  invalid_ipv6,         // "[...]" that is not an IPv6 address, or a missing ']'
  invalid_port,         // not 1..65535, or not decimal
  userinfo_not_allowed, // "user:pass@host": send credentials as headers or STOMP login instead
  fragment_not_allowed, // '#' is not allowed in WebSocket URLs (RFC 6455 3)
  invalid_character,    // whitespace or control characters
};

const std::error_category& urlCategory() noexcept;

inline std::error_code make_error_code(UrlError e) noexcept { return {static_cast<int>(e), urlCategory()}; }

std::uint16_t defaultPort(UrlScheme scheme) noexcept;
std::string_view schemeName(UrlScheme scheme) noexcept;

// Parses text into out. On error returns a UrlError code and leaves out unspecified.
std::error_code parseUrl(std::string_view text, Url& out);

}  // namespace stompwire::native

template <>
struct std::is_error_code_enum<stompwire::native::UrlError> : std::true_type {};
