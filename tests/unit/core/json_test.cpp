// JSON helpers: values in, values out, errors as values.
#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include "client_fixture.hpp"
#include "stompwire/json.hpp"

using namespace stompwire;
using namespace stompwire::test;

TEST_CASE("parseJson: values and errors as values", "[json]") {
  nlohmann::json v;
  REQUIRE_FALSE(parseJson(R"({"a":[1,2,{"b":null}],"s":"\u00e9"})", v));
  CHECK(v["a"][1] == 2);
  CHECK(v["s"] == "\xc3\xa9");
  for (std::string_view bad : {"", "{", "{\"a\":}", "[1,2", "nul", "\"\xff\"", "{} trailing"}) {
    nlohmann::json out = 5;
    INFO(bad);
    CHECK(parseJson(bad, out) == errc::json_parse_error);
    CHECK(out.is_null());
  }
  // Deep nesting does not blow the stack or abort.
  std::string deep(10000, '[');
  nlohmann::json d;
  CHECK(parseJson(deep, d) == errc::json_parse_error);
}

TEST_CASE("publishJson sets the body and content-type - message JSON round-trips", "[json]") {
  ClientFixture f;
  nlohmann::json got;
  std::error_code gotError = make_error_code(errc::invalid_state);
  f.client->subscribe("/topic/t", [&](const Message& m) { gotError = messageJson(m, got); }, {{"id", "s"}});
  auto& l = f.activateAndConnect();
  nlohmann::json value = {{"content", "hi"}, {"n", 3}, {"bad", std::string("\xff")}};
  auto h = publishJson(*f.client, value, {.destination = "/app/chat.send"});
  CHECK(h.status() == PublishStatus::completed);
  auto send = l.framesNamed("SEND").at(0);
  CHECK(send.header("content-type") == "application/json");
  CHECK(send.header("destination") == "/app/chat.send");
  nlohmann::json back;
  REQUIRE_FALSE(parseJson(send.body, back));
  CHECK(back["content"] == "hi");
  CHECK(back["bad"] == "\xef\xbf\xbd");  // invalid UTF-8 replaced, not a crash
  CHECK(send.body == dumpJson(value));

  publishJson(*f.client, 1, {.destination = "/q", .headers = {{"content-type", "application/vnd+json"}}});
  CHECK(l.framesNamed("SEND").at(1).header("content-type") == "application/vnd+json");

  l.deliver(message("s", R"({"x":[true]})"));
  REQUIRE_FALSE(gotError);
  CHECK(got["x"][0] == true);
  l.deliver(message("s", "not json"));
  CHECK(gotError == errc::json_parse_error);

  auto tx = f.client->begin();
  auto th = publishJson(tx, {{"k", 1}}, {.destination = "/q"});
  CHECK(th.status() == PublishStatus::completed);
  CHECK(l.framesNamed("SEND").back().header("transaction") == tx.id());
}
