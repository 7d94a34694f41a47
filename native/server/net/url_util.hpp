// Query strings of the HTTP and SockJS endpoints (no Beast, so that it is unit-tested without sockets).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stompwire::server::net {

// Percent-decoding as in application/x-www-form-urlencoded: "%41" is 'A', '+' is a space; a '%'
// without two hex digits after it stays as it is.
std::string urlDecode(std::string_view s);

// The decoded value of the first `name` parameter of a query string ("a=1&b=2", without '?'); a
// name without '=' has the empty value.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);

}  // namespace stompwire::server::net
