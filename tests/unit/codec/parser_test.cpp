#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "stompwire/parser.hpp"

using namespace stompwire;
using namespace std::string_literals;

namespace {

struct Collect final : FrameParser::Handler {
  std::vector<Frame> frames;
  std::vector<FrameView> views;  // only valid inside the feed() that produced them
  int heartbeats = 0;
  void onFrame(const FrameView& f) override {
    frames.push_back(f.toFrame());
    views.push_back(f);
  }
  void onHeartbeat() override { ++heartbeats; }
};

bool within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

}  // namespace

TEST_CASE("a frame whole inside the input is not copied", "[codec][parser]") {
  const std::string wire = "MESSAGE\ndestination:/q\ncontent-length:5\n\nhello\0"s;
  FrameParser parser;
  struct Check final : FrameParser::Handler {
    std::string_view input;
    bool zeroCopy = false;
    void onFrame(const FrameView& f) override {
      zeroCopy = within(f.body, input) && within(f.command, input) && within(f.headers[0].value, input);
    }
  } check;
  check.input = wire;
  REQUIRE(!parser.feed(wire, check));
  CHECK(check.zeroCopy);
  CHECK(parser.buffered() == 0);
}

TEST_CASE("only the frame that spans chunks is buffered", "[codec][parser]") {
  std::string first = "SEND\ndestination:/a\n\nab";
  std::string second = "c\0SEND\ndestination:/b\n\nxyz\0SEND\n"s;
  FrameParser parser;
  Collect c;
  REQUIRE(!parser.feed(first, c));
  CHECK(parser.buffered() == first.size());
  struct Check final : FrameParser::Handler {
    std::string_view input;
    std::vector<bool> inInput;
    void onFrame(const FrameView& f) override { inInput.push_back(within(f.body, input)); }
  } check;
  check.input = second;
  REQUIRE(!parser.feed(second, check));
  // The first frame was completed in the buffer; the second lies whole in the input.
  REQUIRE(check.inInput.size() == 2);
  CHECK(!check.inInput[0]);
  CHECK(check.inInput[1]);
  CHECK(parser.buffered() == 5);  // "SEND\n" waits for the rest
}

TEST_CASE("errors are sticky and carry the stream offset", "[codec][parser]") {
  FrameParser parser;
  Collect c;
  REQUIRE(!parser.feed("RECEIPT\nreceipt-id:1\n\n\0"s, c));
  auto ec = parser.feed("SEND\nk:\\t\n\n\0"s, c);
  CHECK(ec == errc::invalid_escape);
  CHECK(parser.failed());
  CHECK(parser.errorOffset() == 23 + 7);
  CHECK(ec.message() == "undefined escape sequence in header");
  CHECK(parser.feed("RECEIPT\nreceipt-id:2\n\n\0"s, c) == errc::invalid_escape);
  CHECK(c.frames.size() == 1);
  parser.reset();
  CHECK(!parser.failed());
  REQUIRE(!parser.feed("RECEIPT\nreceipt-id:2\n\n\0"s, c));
  CHECK(c.frames.size() == 2);
}

TEST_CASE("header lookup: the first of a repeated header wins", "[codec][frame]") {
  FrameParser parser;
  Collect c;
  REQUIRE(!parser.feed("MESSAGE\nfoo:World\nfoo:Hello\n\n\0"s, c));
  REQUIRE(c.frames.size() == 1);
  CHECK(c.frames[0].header("foo") == "World");
  CHECK(!c.frames[0].header("bar"));
  Frame f = c.frames[0];
  f.set("foo", "X");
  CHECK(f.headers[0].value == "X");
  CHECK(f.headers[1].value == "Hello");
  f.erase("foo");
  CHECK(f.headers.empty());
}

TEST_CASE("the handler may switch the version between frames of one chunk", "[codec][parser]") {
  FrameParser parser(ParserLimits{}, Version::v1_2);
  struct Switch final : FrameParser::Handler {
    FrameParser* p = nullptr;
    std::vector<std::string> values;
    void onFrame(const FrameView& f) override {
      if (f.command == "CONNECTED") p->setVersion(*parseVersion(*f.header("version")));
      if (auto v = f.header("k")) values.emplace_back(*v);
    }
  } h;
  h.p = &parser;
  REQUIRE(!parser.feed("CONNECTED\nversion:1.0\n\n\0MESSAGE\nk:a\\cb\n\n\0"s, h));
  CHECK(parser.version() == Version::v1_0);
  REQUIRE(h.values == std::vector<std::string>{"a\\cb"});
}

TEST_CASE("a large body fed in small chunks is scanned once, not again per chunk", "[codec][parser]") {
  // Guards against quadratic rescans: 1 MiB in 1-byte feeds would take minutes if each feed rescanned.
  std::string body(512 * 1024, 'x');
  std::string wire = "SEND\ndestination:/q\n\n" + body + '\0';
  FrameParser parser;
  Collect c;
  for (char ch : wire) REQUIRE(!parser.feed(std::string_view(&ch, 1), c));
  REQUIRE(c.frames.size() == 1);
  CHECK(c.frames[0].body.size() == body.size());
}

TEST_CASE("lambda feed overload reports frames and heart-beats", "[codec][parser]") {
  FrameParser parser;
  int frames = 0, beats = 0;
  auto ec = parser.feed("\n\r\nRECEIPT\nreceipt-id:9\n\n\0\n"s, [&](const FrameView&) { ++frames; }, [&] { ++beats; });
  CHECK(!ec);
  CHECK(frames == 1);
  CHECK(beats == 3);
  CHECK(parser.bytesConsumed() == 27);
}

TEST_CASE("version strings", "[codec][frame]") {
  CHECK(parseVersion("1.0") == Version::v1_0);
  CHECK(parseVersion("1.1") == Version::v1_1);
  CHECK(parseVersion("1.2") == Version::v1_2);
  for (const char* bad : {"2.0", "1.3", "1./", "1,2", "0.2", "1.", "1.20", "", " 1.2"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseVersion(bad));
  }
  CHECK(toString(Version::v1_0) == "1.0");
  CHECK(errcName(errc::frame_too_large) == "frame_too_large");
  CHECK(std::error_code(errc::queue_full).category().name() == std::string("stompwire"));
}
