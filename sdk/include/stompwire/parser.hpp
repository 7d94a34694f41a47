// Incremental STOMP frame parser, in the style of llhttp: feed it bytes in chunks of any size; it
// reports every complete frame and every heart-beat EOL in order. No I/O, no exceptions, no clock.
//
// Zero copy: while a frame lies whole inside the chunk passed to feed(), the FrameView points into
// that chunk. Only a frame that spans chunks is gathered in an internal buffer, and the parser copies
// no more than that frame's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "stompwire/error.hpp"
#include "stompwire/frame.hpp"

namespace stompwire {

struct ParserLimits {
  std::size_t maxFrameSize = 1024 * 1024;  // command + headers + body + NUL
  std::size_t maxBodySize = 1024 * 1024;
  std::size_t maxHeaders = 128;
  std::size_t maxHeaderLine = 16 * 1024;   // one command or header line, without its EOL
};

class FrameParser {
 public:
  // Receives the parser's output. A handler may call setVersion() (a client switches to the version
  // CONNECTED announced before the next frame is decoded) but must not feed() or destroy the parser.
  class Handler {
   public:
    virtual void onFrame(const FrameView& frame) = 0;
    virtual void onHeartbeat() {}

   protected:
    ~Handler() = default;
  };

  explicit FrameParser(ParserLimits limits = {}, Version version = Version::v1_2);

  // Parses `data`. Returns the parser's error: once it has failed it stays failed (the stream cannot
  // be resynchronised), ignores further input and returns the same error.
  std::error_code feed(std::string_view data, Handler& handler);

  // Convenience for tests and small tools: lambdas instead of a Handler.
  template <class OnFrame, class OnHeartbeat>
  std::error_code feed(std::string_view data, OnFrame&& onFrame, OnHeartbeat&& onHeartbeat) {
    struct Adapter final : Handler {
      OnFrame& f;
      OnHeartbeat& h;
      Adapter(OnFrame& f_, OnHeartbeat& h_) : f(f_), h(h_) {}
      void onFrame(const FrameView& v) override { f(v); }
      void onHeartbeat() override { h(); }
    } adapter{onFrame, onHeartbeat};
    return feed(data, adapter);
  }

  // Header escaping follows the version: none in 1.0, \n \c \\ in 1.1, plus \r in 1.2; never on
  // CONNECT, STOMP and CONNECTED frames.
  void setVersion(Version v) noexcept { version_ = v; }
  Version version() const noexcept { return version_; }
  const ParserLimits& limits() const noexcept { return limits_; }

  bool failed() const noexcept { return static_cast<bool>(error_); }
  std::error_code error() const noexcept { return error_; }
  // Offset in the whole stream (bytes fed since construction or reset) where the error was found.
  std::uint64_t errorOffset() const noexcept { return errorOffset_; }
  // Bytes fully consumed as frames or heart-beats.
  std::uint64_t bytesConsumed() const noexcept { return consumed_; }
  // Bytes of an incomplete frame held until more input arrives.
  std::size_t buffered() const noexcept { return buf_.size(); }

  // Forgets any partial frame and any error (for a new connection).
  void reset() noexcept;

 private:
  enum class Phase : std::uint8_t { idle, headers, body };
  enum class Step : std::uint8_t { needMore, heartbeat, frame, error };

  Step step(const char* p, std::size_t n, std::size_t& consumed);
  Step endOfLine(std::size_t n, std::size_t scan, std::size_t lines, std::size_t lineCap);
  bool parseContentLength(std::string_view value, std::size_t lineStart);
  bool checkEscapes(const char* p, std::size_t begin, std::size_t end);
  void unescapeHeaders(const char* p);
  void rebase(const char* p) noexcept;
  void emit(const char* p, Handler& handler);
  void fail(errc e, std::size_t offsetInWindow);
  void resetFrame() noexcept;

  ParserLimits limits_;
  Version version_;
  std::error_code error_;
  std::uint64_t errorOffset_ = 0;
  std::uint64_t consumed_ = 0;  // stream offset of the start of the current window

  std::string buf_;  // an incomplete frame, from its first byte

  // Progress through the current frame, as offsets from its first byte, so that more input resumes
  // the scan where it stopped instead of starting over.
  Phase phase_ = Phase::idle;
  std::size_t scan_ = 0;       // headers: start of the next unscanned line; body: next byte to search
  std::size_t lines_ = 0;      // command + header lines decoded: views_[0, lines_ - 1) are filled
  std::size_t bodyStart_ = 0;
  std::size_t bodyLength_ = 0;
  bool hasContentLength_ = false;
  bool escaped_ = false;       // header escaping applies to this frame
  bool hasEscapes_ = false;    // and one of its header lines holds an escape: emit() decodes them

  // The decoded command and headers point into the window the frame was decoded from (its address
  // kept in frameBase_); when the frame resumes in another window (buf_), they are moved along.
  std::uintptr_t frameBase_ = 0;
  std::string_view command_;
  // Never shrinks: viewsSize_ is a high-water mark, not the count. An array, not a vector: growing
  // it is all the parser needs, in a fraction of vector::resize's code (size counts in wasm).
  std::unique_ptr<HeaderView[]> views_;
  std::size_t viewsSize_ = 0;
  std::string scratch_;  // the decoded escaped headers of the frame being emitted
};

}  // namespace stompwire
