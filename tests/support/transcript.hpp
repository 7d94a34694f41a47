// Transcript runner shared by the native codec tests and the wasm probe, so both builds are compared
// against the same expected text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "stompwire/parser.hpp"

namespace stompwire::test {

struct TranscriptOptions {
  Version version = Version::v1_2;  // before any CONNECTED; a CONNECTED's version header switches it
  ParserLimits limits;
};

// Reads the "# key: value" lines at the top of an .expect file (version, maxFrameSize, maxBodySize,
// maxHeaders, maxHeaderLine); returns the offset where the expected output starts.
std::size_t parseTranscriptOptions(std::string_view expect, TranscriptOptions& options);

// Feeds `bytes` as a first chunk of `split` bytes, then chunks of `stride` bytes (0: the rest at
// once), and renders every event in a canonical text form:
//   FRAME <command>
//   <name>:<value>        (non-printable bytes as \xNN)
//   BODY <length> <bytes>
//   HEARTBEAT
//   ERROR <errc name> @<offset>
std::string describe(std::string_view bytes, std::size_t split, std::size_t stride,
                     const TranscriptOptions& options);

std::string printable(std::string_view s);

}  // namespace stompwire::test
