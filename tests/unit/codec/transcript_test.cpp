// Every transcript under tests/transcripts is parsed whole, one byte at a time and split in two at
// every offset; all of these must print exactly the .expect file.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "transcript.hpp"

namespace fs = std::filesystem;
using namespace stompwire;

namespace {

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("transcripts parse identically at every split", "[codec][transcript]") {
  const fs::path dir = fs::path(STOMPWIRE_SOURCE_DIR) / "tests" / "transcripts";
  std::size_t transcripts = 0, runs = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".stomp") continue;
    const std::string bytes = readFile(entry.path());
    fs::path expectPath = entry.path();
    expectPath.replace_extension(".expect");
    const std::string expectFile = readFile(expectPath);
    REQUIRE(!expectFile.empty());
    test::TranscriptOptions options;
    const std::string expected = expectFile.substr(test::parseTranscriptOptions(expectFile, options));

    INFO("transcript " << entry.path().filename().string());
    CHECK(test::describe(bytes, bytes.size(), 0, options) == expected);
    CHECK(test::describe(bytes, 1, 1, options) == expected);
    for (std::size_t k = 0; k <= bytes.size(); ++k) {
      INFO("split at " << k);
      REQUIRE(test::describe(bytes, k, 0, options) == expected);
    }
    // Three-way splits catch state carried across more than one resumption.
    for (std::size_t k = 1; k < bytes.size(); k += 7) {
      INFO("split at " << k << " then every 3 bytes");
      REQUIRE(test::describe(bytes, k, 3, options) == expected);
    }
    ++transcripts;
    runs += bytes.size() + 3;
  }
  CHECK(transcripts >= 30);
  std::printf("transcripts: %zu, parses: %zu\n", transcripts, runs);
}
