// A tiny C ABI over the frame codec for Node tests and benchmarks: proves the codec compiles to wasm
// with -fno-exceptions and behaves exactly as natively (same transcript renderer as the unit tests).
#include <cstddef>
#include <string>

#include "stompwire/parser.hpp"
#include "transcript.hpp"

namespace {
std::string result;
}

extern "C" {

// Renders the events of parsing `bytes` (see tests/support/transcript.hpp); `expect` is the .expect
// file, whose "# key: value" lines set the version and limits. Returns the length of the result.
std::size_t probe_describe(const char* bytes, std::size_t length, const char* expect, std::size_t expectLength,
                           std::size_t split, std::size_t stride) {
  stompwire::test::TranscriptOptions options;
  stompwire::test::parseTranscriptOptions(std::string_view(expect, expectLength), options);
  result = stompwire::test::describe(std::string_view(bytes, length), split, stride, options);
  return result.size();
}

const char* probe_result_ptr() { return result.data(); }
std::size_t probe_result_len() { return result.size(); }

// Parses `bytes` in chunks of `chunk` bytes and returns the number of frames, or -1 on error.
long probe_parse_count(const char* bytes, std::size_t length, std::size_t chunk) {
  stompwire::FrameParser parser;
  long frames = 0;
  for (std::size_t pos = 0; pos < length; pos += chunk) {
    const std::size_t n = length - pos < chunk ? length - pos : chunk;
    auto ec = parser.feed(std::string_view(bytes + pos, n), [&](const stompwire::FrameView&) { ++frames; }, [] {});
    if (ec) return -1;
  }
  return frames;
}
}
