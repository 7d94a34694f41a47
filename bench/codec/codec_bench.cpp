// Parse throughput of the frame codec, as a ratio to a plain memchr scan of the same bytes measured in
// the same run (absolute numbers on a shared machine mean little; the ratio holds).
//
// For each body size the buffer holds MESSAGE frames as brokers send them, ~8 MiB in all, parsed two
// ways: one frame per feed() (one WebSocket message each, the common case) and the whole buffer in one
// feed(). Frames with content-length let the parser skip the body; frames without it make the parser
// search the body for its NUL, which is the memchr baseline's own work.
//
// Flags, to profile one case at a time: --body BYTES (repeatable; default 100, 1024 and 65536),
// --framing nul|cl (default both), --turns N (default 15).
#include <algorithm>
#include <array>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "stompwire/parser.hpp"
#include "stompwire/serializer.hpp"

using namespace stompwire;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::size_t sink;

struct Input {
  std::string bytes;
  std::vector<std::size_t> ends;  // where each frame ends (one WebSocket message each)
};

Input makeInput(std::size_t bodySize, bool contentLength) {
  Frame f{"MESSAGE",
          {{"destination", "/topic/chat.room-42"},
           {"subscription", "sub-0"},
           {"message-id", "T_sub-0@@session-6V8pJ2@@12345"},
           {"content-type", "application/json"}},
          std::string(bodySize, 'x')};
  Input in;
  const std::size_t target = 8u << 20;
  while (in.bytes.size() < target) {
    (void)serialize(f, in.bytes, {Version::v1_2, contentLength});
    in.ends.push_back(in.bytes.size());
  }
  return in;
}

// Runs the contenders in turns, each for ~50 ms per turn, fifteen turns, and keeps each one's best
// bytes per second: interleaving means that a load from elsewhere on the machine hits all of them alike.
template <std::size_t N>
std::array<double, N> measure(std::size_t bytes, const std::array<std::function<void()>, N>& contenders, int turns) {
  std::array<double, N> best{};
  for (int turn = 0; turn < turns; ++turn) {
    for (std::size_t c = 0; c < N; ++c) {
      std::size_t iterations = 0;
      const auto start = Clock::now();
      auto elapsed = Clock::duration::zero();
      do {
        contenders[c]();
        ++iterations;
        elapsed = Clock::now() - start;
      } while (elapsed < std::chrono::milliseconds(50));
      const double seconds = std::chrono::duration<double>(elapsed).count();
      best[c] = std::max(best[c], static_cast<double>(bytes) * static_cast<double>(iterations) / seconds);
    }
  }
  return best;
}

void memchrScan(const std::string& bytes) {
  std::size_t count = 0;
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (const char* z = static_cast<const char*>(std::memchr(p, 0, static_cast<std::size_t>(end - p)))) {
    ++count;
    p = z + 1;
  }
  sink = count;
}

struct Counter final : FrameParser::Handler {
  std::size_t frames = 0, headerBytes = 0;
  void onFrame(const FrameView& f) override {
    ++frames;
    headerBytes += f.headers.size();
  }
};

void parsePerMessage(const Input& in) {
  FrameParser parser;
  Counter c;
  std::size_t begin = 0;
  for (std::size_t end : in.ends) {
    (void)parser.feed(std::string_view(in.bytes).substr(begin, end - begin), c);
    begin = end;
  }
  sink = c.frames + c.headerBytes;
}

void parseWhole(const Input& in) {
  FrameParser parser;
  Counter c;
  (void)parser.feed(in.bytes, c);
  sink = c.frames;
}

int usage() {
  std::fprintf(stderr, "usage: bench_codec [--body BYTES]... [--framing nul|cl] [--turns N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> bodies;
  std::vector<bool> framings{false, true};
  int turns = 15;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (flag == "--body") {
      bodies.push_back(std::strtoul(value.c_str(), nullptr, 10));
    } else if (flag == "--framing" && (value == "nul" || value == "cl")) {
      framings = {value == "cl"};
    } else if (flag == "--turns") {
      turns = std::atoi(value.c_str());
      if (turns < 1) return usage();
    } else {
      return usage();
    }
  }
  if (bodies.empty()) bodies = {100, 1024, 64 * 1024};
  std::printf("%-7s %-15s %12s %10s %12s %8s\n", "body", "framing", "frames/s", "MB/s", "memchr MB/s", "ratio");
  for (std::size_t body : bodies) {
    for (bool contentLength : framings) {
      const Input in = makeInput(body, contentLength);
      const double frameSize = static_cast<double>(in.bytes.size()) / static_cast<double>(in.ends.size());
      const auto [baseline, perMessage, whole] = measure<3>(
          in.bytes.size(), {[&] { memchrScan(in.bytes); }, [&] { parsePerMessage(in); }, [&] { parseWhole(in); }}, turns);
      const char* label = contentLength ? "content-length" : "NUL-terminated";
      char size[16];
      const bool kib = body >= 1024 && body % 1024 == 0;
      std::snprintf(size, sizeof size, kib ? "%zu KiB" : "%zu B", kib ? body / 1024 : body);
      std::printf("%-7s %-15s %12.0f %10.1f %12.1f %7.2fx   (one frame per feed)\n", size, label,
                  perMessage / frameSize, perMessage / 1e6, baseline / 1e6, perMessage / baseline);
      std::printf("%-7s %-15s %12.0f %10.1f %12.1f %7.2fx   (whole buffer in one feed)\n", size, label,
                  whole / frameSize, whole / 1e6, baseline / 1e6, whole / baseline);
    }
  }
  return 0;
}
