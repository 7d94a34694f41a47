// Query-string decoding shared by the HTTP endpoints and SockJS.
#include <catch2/catch_test_macros.hpp>

#include "net/url_util.hpp"

using namespace stompwire::server::net;

TEST_CASE("urlDecode: percent escapes and '+', malformed escapes kept", "[net][url]") {
  CHECK(urlDecode("a%41b%2fc%2F+d") == "aAb/c/ d");
  CHECK(urlDecode("%") == "%");
  CHECK(urlDecode("%4") == "%4");
  CHECK(urlDecode("%zz%4g") == "%zz%4g");
  CHECK(urlDecode("100%25") == "100%");
  CHECK(urlDecode("%00x") == std::string("\0x", 2));
  CHECK(urlDecode("") == "");
}

TEST_CASE("queryParam: the first match, decoded; absent is nullopt", "[net][url]") {
  CHECK(queryParam("a=1&b=x%20y&b=2", "b") == "x y");
  CHECK(queryParam("access_token=abc.def", "access_token") == "abc.def");
  CHECK(queryParam("flag&x=1", "flag") == "");
  CHECK(queryParam("ab=1", "a") == std::nullopt);
  CHECK(queryParam("a=1", "ab") == std::nullopt);
  CHECK(queryParam("", "a") == std::nullopt);
  CHECK(queryParam("&&c=3&", "c") == "3");
}
