#include <catch2/catch_test_macros.hpp>

#include <stompwire/native/url.hpp>

using namespace stompwire::native;

namespace {
Url parse(std::string_view text) {
  Url url;
  auto ec = parseUrl(text, url);
  INFO(text << ": " << ec.message());
  REQUIRE_FALSE(ec);
  return url;
}
std::error_code parseError(std::string_view text) {
  Url url;
  return parseUrl(text, url);
}
}  // namespace

TEST_CASE("ws URL with host, port, path and query") {
  auto u = parse("ws://example.com:8080/stomp/ws?access_token=abc&x=1");
  CHECK(u.scheme == UrlScheme::ws);
  CHECK(u.host == "example.com");
  CHECK(u.port == 8080);
  CHECK(u.path == "/stomp/ws");
  CHECK(u.query == "access_token=abc&x=1");
  CHECK(u.target() == "/stomp/ws?access_token=abc&x=1");
  CHECK(u.hostHeader() == "example.com:8080");
  CHECK_FALSE(u.secure());
  CHECK(u.webSocket());
}

TEST_CASE("default ports per scheme, empty path becomes /") {
  CHECK(parse("ws://h").port == 80);
  CHECK(parse("wss://h").port == 443);
  CHECK(parse("stomp://h").port == 61613);
  CHECK(parse("stomp+ssl://h").port == 61614);
  auto u = parse("wss://h");
  CHECK(u.path == "/");
  CHECK(u.target() == "/");
  CHECK(u.hostHeader() == "h");  // default port omitted
  CHECK(u.secure());
  CHECK(parse("stomp+ssl://h").secure());
  CHECK_FALSE(parse("stomp://h").webSocket());
  CHECK(parse("wss://h:443/").hostHeader() == "h");
  CHECK(parse("wss://h:8443/").hostHeader() == "h:8443");
}

TEST_CASE("scheme and host are case-insensitive") {
  auto u = parse("WSS://Example.COM/Path");
  CHECK(u.scheme == UrlScheme::wss);
  CHECK(u.host == "example.com");
  CHECK(u.path == "/Path");  // the path is case-sensitive
}

TEST_CASE("IPv6 literals") {
  auto u = parse("ws://[::1]:8080/ws");
  CHECK(u.host == "::1");
  CHECK(u.ipv6);
  CHECK(u.port == 8080);
  CHECK(u.path == "/ws");
  CHECK(u.hostHeader() == "[::1]:8080");
  CHECK(u.hostIsIpLiteral());
  auto v = parse("wss://[2001:DB8::1]");
  CHECK(v.host == "2001:db8::1");
  CHECK(v.port == 443);
  CHECK(v.hostHeader() == "[2001:db8::1]");
  CHECK(parse("ws://[::ffff:127.0.0.1]:1/").ipv6);
}

TEST_CASE("IPv4 literal and query without path") {
  auto u = parse("ws://127.0.0.1:15674?x=y");
  CHECK(u.host == "127.0.0.1");
  CHECK(u.hostIsIpLiteral());
  CHECK(u.path == "/");
  CHECK(u.target() == "/?x=y");
  CHECK_FALSE(parse("ws://localhost").hostIsIpLiteral());
  auto e = parse("ws://h/p?");
  CHECK(e.hasQuery);
  CHECK(e.target() == "/p?");
}

TEST_CASE("bad URLs give a specific error code") {
  CHECK(parseError("") == UrlError::empty);
  CHECK(parseError("localhost:8080") == UrlError::missing_scheme);
  CHECK(parseError("://h") == UrlError::missing_scheme);
  CHECK(parseError("http://h/") == UrlError::unsupported_scheme);
  CHECK(parseError("ws:///path") == UrlError::missing_host);
  CHECK(parseError("ws://:80/") == UrlError::missing_host);
  CHECK(parseError("ws://ho$t/") == UrlError::invalid_host);
  CHECK(parseError("ws://::1/") == UrlError::invalid_host);
  CHECK(parseError("ws://[::1/") == UrlError::invalid_ipv6);
  CHECK(parseError("ws://[]/") == UrlError::invalid_ipv6);
  CHECK(parseError("ws://[zz::1]/") == UrlError::invalid_ipv6);
  CHECK(parseError("ws://[::1]x/") == UrlError::invalid_ipv6);
  CHECK(parseError("ws://h:/") == UrlError::invalid_port);
  CHECK(parseError("ws://h:0/") == UrlError::invalid_port);
  CHECK(parseError("ws://h:65536/") == UrlError::invalid_port);
  CHECK(parseError("ws://h:80a/") == UrlError::invalid_port);
  CHECK(parseError("ws://h:-1/") == UrlError::invalid_port);
  CHECK(parseError("ws://user:pw@h/") == UrlError::userinfo_not_allowed);
  CHECK(parseError("ws://h/p#frag") == UrlError::fragment_not_allowed);
  CHECK(parseError("ws://h/a b") == UrlError::invalid_character);
  CHECK(parseError("ws://h/\r\nX: y") == UrlError::invalid_character);
}

TEST_CASE("URL errors have readable messages in their own category") {
  std::error_code ec = UrlError::unsupported_scheme;
  CHECK(std::string(ec.category().name()) == "stompwire.url");
  CHECK(ec.message().find("unsupported URL scheme") != std::string::npos);
  CHECK(std::error_code(UrlError::invalid_port).message().find("1..65535") != std::string::npos);
}

TEST_CASE("a failed parse leaves the previous value usable") {
  Url url = parse("ws://a:1/x");
  CHECK(parseUrl("ws://b:0/", url) == UrlError::invalid_port);
  CHECK(url.host == "a");
}

TEST_CASE("toString is canonical") {
  CHECK(parse("WS://H/x?y").toString() == "ws://h:80/x?y");
  CHECK(parse("stomp+ssl://[::1]").toString() == "stomp+ssl://[::1]:61614/");
}
