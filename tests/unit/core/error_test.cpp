// Every error the core reports has a stable name (JS Error.code) and a message.
#include <catch2/catch_test_macros.hpp>

#include <set>
#include <string>

#include "stompwire/error.hpp"

using namespace stompwire;

TEST_CASE("every errc has a unique lower_snake_case name and a message", "[error]") {
  std::set<std::string> names;
  const int last = static_cast<int>(errc::server_shutting_down);
  for (int v = 1; v <= last; ++v) {
    auto e = static_cast<errc>(v);
    std::string name(errcName(e));
    INFO(v << " " << name);
    CHECK_FALSE(name.empty());
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") == std::string::npos);
    CHECK(names.insert(name).second);
    std::error_code ec = e;
    CHECK(ec.category().name() == std::string("stompwire"));
    CHECK_FALSE(ec.message().empty());
    CHECK(ec == e);
  }
  CHECK(names.size() == static_cast<std::size_t>(last));
}

TEST_CASE("error names and messages: first, last, a few in between, and codes out of range", "[error]") {
  CHECK(errcName(errc::invalid_command) == "invalid_command");
  CHECK(std::error_code(errc::invalid_command).message() == "invalid STOMP command line");
  CHECK(errcName(errc::malformed_header) == "malformed_header");
  CHECK(std::error_code(errc::malformed_header).message() == "malformed header line (no ':' or empty name)");
  CHECK(errcName(errc::heartbeat_timeout) == "heartbeat_timeout");
  CHECK(std::error_code(errc::heartbeat_timeout).message() == "no data received within the heart-beat interval");
  CHECK(errcName(errc::json_parse_error) == "json_parse_error");
  CHECK(std::error_code(errc::json_parse_error).message() == "invalid JSON");
  CHECK(errcName(errc::server_shutting_down) == "server_shutting_down");
  CHECK(std::error_code(errc::server_shutting_down).message() == "server shutting down");
  const int past = static_cast<int>(errc::server_shutting_down) + 1;
  for (int v : {0, -1, past, 1000}) {
    INFO(v);
    CHECK(errcName(static_cast<errc>(v)) == "unknown");
    CHECK(std::error_code(v, stompwire_category()).message() == "unknown stompwire error");
  }
}
