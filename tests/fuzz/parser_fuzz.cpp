// Differential fuzzing of the frame parser: for any input, (1) nothing crashes or leaks, (2) parsing
// whole and parsing in fuzzer-chosen chunks give the same events and the same error at the same
// offset, (3) every parsed frame re-serialized and parsed again comes back equal.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "stompwire/parser.hpp"
#include "stompwire/serializer.hpp"
#include "transcript.hpp"

using namespace stompwire;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

bool sameIgnoringContentLength(const Frame& a, const Frame& b) {
  Frame x = a, y = b;
  x.erase("content-length");
  y.erase("content-length");
  return x == y;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  test::TranscriptOptions options;
  options.version = static_cast<Version>(data[0] % 3);
  // Small limits from the input too, so that limit paths are reached often.
  if (data[0] & 0x80) {
    options.limits.maxFrameSize = 16 + data[1];
    options.limits.maxBodySize = 8 + (data[1] >> 1);
    options.limits.maxHeaders = 1 + (data[1] & 7);
    options.limits.maxHeaderLine = 4 + (data[1] & 31);
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  const std::string whole = test::describe(input, input.size(), 0, options);
  const std::size_t split = data[1] % (input.size() + 1);
  const std::size_t stride = 1 + (data[0] >> 3) % 7;
  const std::string chunked = test::describe(input, split, stride, options);
  if (chunked != whole) {
    std::fprintf(stderr, "whole:\n%s\nsplit %zu stride %zu:\n%s\n", whole.c_str(), split, stride, chunked.c_str());
    check(false, "chunked parse differs from whole parse");
  }

  FrameParser parser(options.limits, options.version);
  std::vector<Frame> frames;
  (void)parser.feed(input, [&](const FrameView& f) { frames.push_back(f.toFrame()); }, [] {});
  for (const Frame& f : frames) {
    std::string wire;
    if (serialize(f, wire, {options.version, false})) continue;  // e.g. a CONNECT value with a CR
    FrameParser again(ParserLimits{}, options.version);
    std::vector<Frame> back;
    check(!again.feed(wire, [&](const FrameView& v) { back.push_back(v.toFrame()); }, [] {}), "re-parse failed");
    check(back.size() == 1 && sameIgnoringContentLength(back[0], f), "round trip changed the frame");
  }
  return 0;
}
