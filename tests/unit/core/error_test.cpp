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
