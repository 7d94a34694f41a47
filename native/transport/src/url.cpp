#include "stompwire/native/url.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace stompwire::native {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "stompwire.url"; }
  std::string message(int ev) const override {
    switch (static_cast<UrlError>(ev)) {
      case UrlError::empty: return "URL is empty";
      case UrlError::missing_scheme: return "URL has no scheme (expected ws://, wss://, stomp:// or stomp+ssl://)";
      case UrlError::unsupported_scheme: return "unsupported URL scheme (expected ws, wss, stomp or stomp+ssl)";
      case UrlError::missing_host: return "URL has no host";
      case UrlError::invalid_host: return "URL host contains invalid characters";
      case UrlError::invalid_ipv6: return "URL has an invalid IPv6 literal";
      case UrlError::invalid_port: return "URL port is not a number in 1..65535";
      case UrlError::userinfo_not_allowed: return "credentials in the URL are not supported (use headers or login)";
      case UrlError::fragment_not_allowed: return "a fragment ('#') is not allowed in the URL";
      case UrlError::invalid_character: return "URL contains whitespace or control characters";
    }
    return "unknown URL error";
  }
};

bool isHostChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

}  // namespace

const std::error_category& urlCategory() noexcept {
  static const Category category;
  return category;
}

std::uint16_t defaultPort(UrlScheme scheme) noexcept {
  switch (scheme) {
    case UrlScheme::ws: return 80;
    case UrlScheme::wss: return 443;
    case UrlScheme::stomp: return 61613;
    case UrlScheme::stompSsl: return 61614;
  }
  return 0;
}

std::string_view schemeName(UrlScheme scheme) noexcept {
  switch (scheme) {
    case UrlScheme::ws: return "ws";
    case UrlScheme::wss: return "wss";
    case UrlScheme::stomp: return "stomp";
    case UrlScheme::stompSsl: return "stomp+ssl";
  }
  return "";
}

bool Url::hostIsIpLiteral() const {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host, ec);
  return !ec;
}

std::string Url::target() const { return hasQuery ? path + "?" + query : path; }

std::string Url::hostHeader() const {
  std::string h = ipv6 ? "[" + host + "]" : host;
  if (port != defaultPort(scheme)) h += ":" + std::to_string(port);
  return h;
}

std::string Url::toString() const {
  std::string h = ipv6 ? "[" + host + "]" : host;
  return std::string(schemeName(scheme)) + "://" + h + ":" + std::to_string(port) + target();
}

std::error_code parseUrl(std::string_view text, Url& out) {
  if (text.empty()) return UrlError::empty;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return UrlError::invalid_character;
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return UrlError::missing_scheme;
  std::string scheme = lower(text.substr(0, sep));
  Url url;
  if (scheme == "ws") url.scheme = UrlScheme::ws;
  else if (scheme == "wss") url.scheme = UrlScheme::wss;
  else if (scheme == "stomp" || scheme == "tcp") url.scheme = UrlScheme::stomp;
  else if (scheme == "stomp+ssl" || scheme == "stomp+tls" || scheme == "stomps") url.scheme = UrlScheme::stompSsl;
  else return UrlError::unsupported_scheme;

  std::string_view rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return UrlError::fragment_not_allowed;
  auto authEnd = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authEnd);
  std::string_view pathAndQuery = authEnd == std::string_view::npos ? std::string_view{} : rest.substr(authEnd);
  if (authority.find('@') != std::string_view::npos) return UrlError::userinfo_not_allowed;
  if (authority.empty()) return UrlError::missing_host;

  std::string_view portText;
  bool hasPort = false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return UrlError::invalid_ipv6;
    std::string literal(authority.substr(1, close - 1));
    if (literal.empty()) return UrlError::invalid_ipv6;
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address_v6(literal, ec);
    if (ec || literal.find('%') != std::string::npos) return UrlError::invalid_ipv6;
    url.host = lower(literal);
    url.ipv6 = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return UrlError::invalid_ipv6;
      portText = after.substr(1);
      hasPort = true;
    }
  } else {
    auto colon = authority.rfind(':');
    std::string_view host = authority;
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      portText = authority.substr(colon + 1);
      hasPort = true;
    }
    if (host.empty()) return UrlError::missing_host;
    if (!std::all_of(host.begin(), host.end(), isHostChar)) {
      // A bare IPv6 address without brackets lands here because of its colons.
      return UrlError::invalid_host;
    }
    url.host = lower(host);
  }

  if (hasPort) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (portText.empty() || ec != std::errc{} || p != portText.data() + portText.size() || value == 0 ||
        value > 65535) {
      return UrlError::invalid_port;
    }
    url.port = static_cast<std::uint16_t>(value);
  } else {
    url.port = defaultPort(url.scheme);
  }

  auto q = pathAndQuery.find('?');
  std::string_view path = pathAndQuery.substr(0, q);
  url.path = path.empty() ? "/" : std::string(path);
  if (q != std::string_view::npos) {
    url.hasQuery = true;
    url.query = std::string(pathAndQuery.substr(q + 1));
  }
  out = std::move(url);
  return {};
}

}  // namespace stompwire::native
