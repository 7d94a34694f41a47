#include "stompwire/parser.hpp"

#include <algorithm>
#include <cstring>

// STOMPWIRE_PARSER_SCALAR forces the portable path natively, so that tests can cover what wasm runs.
#if defined(__SSE2__) && !defined(STOMPWIRE_PARSER_SCALAR)
#define STOMPWIRE_PARSER_SSE2 1
#include <emmintrin.h>
#endif

namespace stompwire {
namespace {

// No real command is longer; a longer first line is garbage and is refused before its EOL arrives.
constexpr std::size_t kMaxCommandLength = 32;

constexpr std::size_t npos = static_cast<std::size_t>(-1);

bool isCommandChar(char c) noexcept { return c >= 'A' && c <= 'Z'; }

const char* findByte(const char* p, std::size_t n, int byte) noexcept {
  return n == 0 ? nullptr : static_cast<const char*>(std::memchr(p, byte, n));
}

#if defined(STOMPWIRE_PARSER_SSE2)
// Through unsigned: a zero extension is free, a sign extension is not.
std::size_t lowestBit(std::uint64_t m) noexcept {
  return static_cast<std::size_t>(static_cast<unsigned>(__builtin_ctzll(m)));
}

// Where LF, ':' and '\' stand in a block of 64 bytes: bit i for byte i.
struct Masks {
  std::uint64_t lf, colon, backslash;
};

[[gnu::always_inline]] inline Masks classify(const char* s) noexcept {
  const __m128i lf = _mm_set1_epi8('\n'), colon = _mm_set1_epi8(':'), bs = _mm_set1_epi8('\\');
  const auto bits = [](__m128i v, __m128i needle, int shift) {
    return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle))))
           << shift;
  };
  const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16));
  const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 32));
  const __m128i v3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 48));
  // Backslashes are rare: one test for the block first, their positions only when there is one.
  const __m128i anyBs = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v0, bs), _mm_cmpeq_epi8(v1, bs)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v2, bs), _mm_cmpeq_epi8(v3, bs)));
  std::uint64_t backslash = 0;
  if (_mm_movemask_epi8(anyBs)) [[unlikely]]
    backslash = bits(v0, bs, 0) | bits(v1, bs, 16) | bits(v2, bs, 32) | bits(v3, bs, 48);
  return {bits(v0, lf, 0) | bits(v1, lf, 16) | bits(v2, lf, 32) | bits(v3, lf, 48),
          bits(v0, colon, 0) | bits(v1, colon, 16) | bits(v2, colon, 32) | bits(v3, colon, 48), backslash};
}

// The offset of the first byte in [0, limit) that is not A-Z, or npos; needs 16 readable bytes.
std::size_t firstNonCommandChar16(const char* p, std::size_t limit) noexcept {
  // 'A'..'Z' + 0x3f wraps to -128..-103 as signed bytes, every other byte to -102 or above.
  const __m128i v = _mm_add_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_set1_epi8(0x3f));
  const unsigned upper = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(-102))));
  const unsigned bad = ~upper & ((1u << limit) - 1);
  return bad ? static_cast<std::size_t>(__builtin_ctz(bad)) : npos;
}

// The last block of a window goes through a zeroed copy: never read past the input (a NUL matches
// nothing).
Masks classifyTail(const char* s, std::size_t n) noexcept {
  char tail[64] = {};
  std::memcpy(tail, s, n);
  return classify(tail);
}
#endif

// The command is a short run of A-Z, checked up to `limit` (its LF, or as far as the line may reach
// in the input at hand), so that garbage is refused before its EOL arrives. A CR may stand last: it
// is, or may turn out to be, the CR of a CRLF. Returns the offset of the first bad byte, or npos.
std::size_t badCommandByte(const char* p, std::size_t n, std::size_t limit) noexcept {
  if (limit > 0 && p[limit - 1] == '\r') --limit;
  const std::size_t checked = limit < kMaxCommandLength ? limit : kMaxCommandLength;
#if defined(STOMPWIRE_PARSER_SSE2)
  if (checked <= 16 && n >= 16) {
    const std::size_t bad = firstNonCommandChar16(p, checked);
    if (bad != npos) return bad;
    return limit > kMaxCommandLength ? kMaxCommandLength : npos;
  }
#else
  (void)n;
#endif
  for (std::size_t i = 0; i < checked; ++i)
    if (!isCommandChar(p[i])) return i;
  return limit > kMaxCommandLength ? kMaxCommandLength : npos;
}

bool isContentLength(std::string_view name) noexcept {
  return name.size() == 14 && std::memcmp(name.data(), "content-length", 14) == 0;
}

}  // namespace

FrameParser::FrameParser(ParserLimits limits, Version version) : limits_(limits), version_(version) {}

void FrameParser::reset() noexcept {
  error_ = {};
  errorOffset_ = 0;
  consumed_ = 0;
  buf_.clear();
  resetFrame();
}

void FrameParser::resetFrame() noexcept {
  phase_ = Phase::idle;
  scan_ = 0;
  lines_ = 0;
  bodyStart_ = 0;
  bodyLength_ = 0;
  hasContentLength_ = false;
  hasEscapes_ = false;
  command_ = {};
}

void FrameParser::fail(errc e, std::size_t offsetInWindow) {
  error_ = make_error_code(e);
  errorOffset_ = consumed_ + offsetInWindow;
}

std::error_code FrameParser::feed(std::string_view data, Handler& handler) {
  if (error_) return error_;
  // While a frame spans chunks, buf_ holds its first `held` bytes; step() parses buf_ first, then the
  // rest of `data`. One loop for both windows, so that each outcome of step() is handled once.
  std::size_t held = buf_.size();
  if (held) {
    // Finish the frame in buf_, copying only as much of `data` as it can use.
    std::size_t take = data.size();
    if (phase_ == Phase::body) {
      if (hasContentLength_) {
        const std::size_t need = bodyStart_ + bodyLength_ + 1 - held;
        take = need < take ? need : take;
      } else if (const char* nul = findByte(data.data(), data.size(), 0)) {
        take = static_cast<std::size_t>(nul - data.data()) + 1;
      }
    }
    buf_.append(data.data(), take);
  }
  const char* p = held ? buf_.data() : data.data();
  std::size_t n = held ? buf_.size() : data.size();
  while (n != 0) {
    std::size_t used = 0;
    switch (step(p, n, used)) {
      case Step::needMore:
        if (held) {
          const std::size_t taken = buf_.size() - held;
          if (taken == data.size()) return {};
          // Not expected (a bounded take completes the frame or fails), but never drop input.
          buf_.append(data.data() + taken, data.size() - taken);
          p = buf_.data();
          n = buf_.size();
          continue;
        }
        buf_.assign(p, n);
        return {};
      case Step::error:
        return error_;
      case Step::heartbeat:
        consumed_ += used;
        handler.onHeartbeat();
        break;
      case Step::frame:
        consumed_ += used;
        emit(p, handler);
        resetFrame();
        break;
    }
    if (held) {
      // Completion needed bytes from `data`, so used > held: go on after them, in `data`.
      p = data.data() + (used - held);
      n = data.size() - (used - held);
      held = 0;
      buf_.clear();
    } else {
      p += used;
      n -= used;
    }
  }
  return {};
}

// The frame resumes in another window (the caller's chunk, then buf_, which may move as it grows):
// move what was decoded along with it. Integer arithmetic: the old window may be gone.
void FrameParser::rebase(const char* p) noexcept {
  const std::uintptr_t now = reinterpret_cast<std::uintptr_t>(p);
  const auto move = [&](std::string_view s) {
    return std::string_view(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(s.data()) - frameBase_ + now),
                            s.size());
  };
  if (!command_.empty()) command_ = move(command_);
  for (std::size_t i = 0; i + 1 < lines_; ++i) {
    views_[i].name = move(views_[i].name);
    views_[i].value = move(views_[i].value);
  }
  frameBase_ = now;
}

// A header line without its LF within reach (lineCap: where the line's LF may stand at the latest):
// more input may bring it, or a limit is broken.
FrameParser::Step FrameParser::endOfLine(std::size_t n, std::size_t scan, std::size_t lines, std::size_t lineCap) {
  const std::size_t frameCap = limits_.maxFrameSize + 1;
  const std::size_t cap = lineCap < frameCap ? lineCap : frameCap;
  if (n < cap) {
    scan_ = scan;
    lines_ = lines;
    return Step::needMore;
  }
  if (lineCap <= frameCap) {
    fail(errc::header_line_too_long, scan);
  } else {
    fail(errc::frame_too_large, limits_.maxFrameSize);
  }
  return Step::error;
}

// Every limit is checked against the bytes that decide it, never against how much input happens to be
// at hand: the searches stop at the first byte that would break a limit. So a transcript gives the same
// frames and the same error at the same offset however it is split into chunks.
FrameParser::Step FrameParser::step(const char* p, std::size_t n, std::size_t& used) {
  if (phase_ == Phase::idle) {
    if (n == 0) return Step::needMore;
    if (p[0] == '\n') {
      used = 1;
      return Step::heartbeat;
    }
    if (p[0] == '\r') {
      if (n < 2) return Step::needMore;
      if (p[1] == '\n') {
        used = 2;
        return Step::heartbeat;
      }
      fail(errc::invalid_command, 0);
      return Step::error;
    }
    phase_ = Phase::headers;
    frameBase_ = reinterpret_cast<std::uintptr_t>(p);
  } else if (reinterpret_cast<std::uintptr_t>(p) != frameBase_) {
    rebase(p);
  }

  if (phase_ == Phase::headers) {
    std::size_t scan = scan_;
    std::size_t lines = lines_;
    const std::size_t maxLine = limits_.maxHeaderLine;
    const std::size_t frameCap = limits_.maxFrameSize + 1;
    const std::size_t windowCap = n < frameCap ? n : frameCap;

    // findLine(searchEnd): the LF that ends the line starting at `scan`, if it stands before
    // searchEnd (else npos). A header line's first colon (or npos) and whether it holds a backslash
    // come with it from the SSE2 masks, and from two scans of the whole line without them.
    std::size_t colon = npos;
    bool backslash = false;
#if defined(STOMPWIRE_PARSER_SSE2)
    // One pass over the header block, 64 bytes at a time, yields bitmasks of its LFs, colons and
    // backslashes; each line is then a few bit operations. The blocks lie at fixed offsets, so the
    // loads do not wait for the previous line's end to be found. The loop keeps its state in locals
    // and calls out only for what is rare (escapes, content-length, growing views_), so that the
    // compiler keeps it in registers.
    std::size_t base = scan;  // the block's first byte
    // Headers are usually 100-300 bytes: ask for the next cache lines now, so that their misses
    // overlap instead of coming one after the other as the lines are reached.
    if (n - base > 128) {
      __builtin_prefetch(p + base + 64);
      __builtin_prefetch(p + base + 128);
    }
    Masks m = n - base >= 64 ? classify(p + base) : classifyTail(p + base, n - base);
    std::uint64_t keep = ~std::uint64_t{0};  // the block's bits at or after `scan`
    const auto findLine = [&](std::size_t searchEnd) __attribute__((always_inline)) -> std::size_t {
      colon = npos;
      backslash = false;
      for (;;) {
        const std::uint64_t lf = m.lf & keep;
        const std::uint64_t lfBit = lf & (0 - lf);
        const std::uint64_t line = lf ? keep & (lfBit - 1) : keep;  // the line's bytes in this block
        if (const std::uint64_t c = m.colon & line; c && colon == npos) colon = base + lowestBit(c);
        backslash = backslash || (m.backslash & line) != 0;
        if (lf) {
          keep = 0 - (lfBit << 1);  // the bits after the LF (none when it is the block's last byte)
          const std::size_t eol = base + lowestBit(lf);
          return eol < searchEnd ? eol : npos;
        }
        if (base + 64 >= searchEnd) return npos;  // the line runs on past the reach
        base += 64;
        m = n - base >= 64 ? classify(p + base) : classifyTail(p + base, n - base);
        keep = ~std::uint64_t{0};
      }
    };
#else
    // Without SIMD (wasm), bitmasks built 8 bytes at a time cost more code than they save time:
    // memchr (8 bytes per step) finds the LF, and a header line's colon and backslash once the line
    // is whole (below). On wasm: 0.8 KB smaller, and bench/wasm a little faster.
    const auto findLine = [&](std::size_t searchEnd) -> std::size_t {
      const char* lf = findByte(p + scan, searchEnd - scan, '\n');
      return lf ? static_cast<std::size_t>(lf - p) : npos;
    };
#endif

    if (lines == 0) {
      // A line may hold maxLine bytes + CR + LF, and the frame maxFrameSize bytes.
      const std::size_t lineCap = maxLine + 2;
      const std::size_t searchEnd = lineCap < windowCap ? lineCap : windowCap;
      const std::size_t eol = findLine(searchEnd);
      // Within the same bound as the EOL search, so chunking cannot change which error wins.
      const std::size_t bad = badCommandByte(p, n, eol == npos ? searchEnd : eol);
      if (bad != npos) {
        fail(errc::invalid_command, bad);
        return Step::error;
      }
      if (eol == npos) return endOfLine(n, scan, lines, lineCap);
      // Not empty: an empty first line is a heart-beat.
      const std::size_t lineEnd = p[eol - 1] == '\r' ? eol - 1 : eol;
      if (lineEnd > maxLine) {
        fail(errc::header_line_too_long, 0);
        return Step::error;
      }
      command_ = std::string_view(p, lineEnd);
      escaped_ = version_ != Version::v1_0 && !isConnectCommand(command_);
      lines = 1;
      scan = eol + 1;
    }

    HeaderView* views = views_.get();
    HeaderView* out = views + (lines - 1);  // the next header's place
    // Up to here headers fit views_ and the limit; at it, grow views_ or fail.
    HeaderView* easyEnd = views + (viewsSize_ < limits_.maxHeaders ? viewsSize_ : limits_.maxHeaders);
    for (;;) {
      std::size_t eol = npos;
#if defined(STOMPWIRE_PARSER_SSE2)
      // findLine's common case, inline (natively only: on wasm, size counts).
      if (const std::uint64_t lf = m.lf & keep; lf) [[likely]] {
        const std::uint64_t lfBit = lf & (0 - lf);
        const std::uint64_t line = keep & (lfBit - 1);
        const std::uint64_t c = m.colon & line;
        colon = c ? base + lowestBit(c) : npos;
        backslash = (m.backslash & line) != 0;
        keep = 0 - (lfBit << 1);
        eol = base + lowestBit(lf);
      }
#endif
      // Within maxLine bytes and the frame, the line is in reach and not too long. p[eol - 1] is the
      // line's last byte, or the LF before a blank line: never out of the window.
      std::size_t lineEnd;
      if (eol - scan <= maxLine && eol < windowCap) [[likely]] {
        lineEnd = eol - (p[eol - 1] == '\r' ? 1 : 0);
      } else {
        // A line beyond this block, a line of maxLine bytes + CRLF, or a limit at hand.
        const std::size_t lineCap = scan + maxLine + 2;
        const std::size_t searchEnd = lineCap < windowCap ? lineCap : windowCap;
        if (eol == npos) {
          eol = findLine(searchEnd);
        } else if (eol >= searchEnd) {
          eol = npos;
        }
        if (eol == npos) {
          return endOfLine(n, scan, static_cast<std::size_t>(out - views) + 1, lineCap);
        }
        lineEnd = eol - (p[eol - 1] == '\r' ? 1 : 0);
        if (lineEnd - scan > maxLine) {
          fail(errc::header_line_too_long, scan);
          return Step::error;
        }
      }
      if (lineEnd == scan) {  // the blank line that ends the headers
        bodyStart_ = eol + 1;
        lines_ = static_cast<std::size_t>(out - views) + 1;
        if (hasContentLength_ && bodyStart_ + bodyLength_ + 1 > limits_.maxFrameSize) {
          fail(errc::frame_too_large, limits_.maxFrameSize);
          return Step::error;
        }
        phase_ = Phase::body;
        scan_ = bodyStart_;
        break;
      }
      if (out == easyEnd) [[unlikely]] {
        const std::size_t index = static_cast<std::size_t>(out - views);
        if (index + 1 > limits_.maxHeaders) {  // the command line counts too
          fail(errc::too_many_headers, scan);
          return Step::error;
        }
        viewsSize_ = index < 8 ? 16 : 2 * index;
        std::unique_ptr<HeaderView[]> grown(new HeaderView[viewsSize_]);
        std::copy(views, views + index, grown.get());
        views_ = std::move(grown);
        views = views_.get();
        out = views + index;
        easyEnd = views + (viewsSize_ < limits_.maxHeaders ? viewsSize_ : limits_.maxHeaders);
      }
#if !defined(STOMPWIRE_PARSER_SSE2)
      // (the masks found these with the LF)
      const char* c = findByte(p + scan, eol - scan, ':');
      colon = c ? static_cast<std::size_t>(c - p) : npos;
      backslash = findByte(p + scan, eol - scan, '\\') != nullptr;
#endif
      if (colon == npos || colon == scan) [[unlikely]] {
        fail(errc::malformed_header, scan);
        return Step::error;
      }
      // An escaped line is only checked here and decoded by emit(); its raw text serves for
      // content-length, with the same outcome: an escaped name is never "content-length", and a
      // value's escape fails the digit test at the same place as the byte it decodes to.
      if (backslash && !checkEscapes(p, scan, lineEnd)) [[unlikely]] return Step::error;
      const std::string_view value(p + colon + 1, lineEnd - colon - 1);
      *out = {std::string_view(p + scan, colon - scan), value};
      if (colon - scan == 14 && !hasContentLength_ && isContentLength(out->name) &&
          !parseContentLength(value, scan)) {
        return Step::error;
      }
      ++out;
      scan = eol + 1;
    }
  }

  if (hasContentLength_) {
    const std::size_t total = bodyStart_ + bodyLength_ + 1;
    if (n < total) return Step::needMore;
    if (p[total - 1] != '\0') {
      fail(errc::missing_null, total - 1);
      return Step::error;
    }
    used = total;
    return Step::frame;
  }

  // The NUL may stand at bodyStart_ + maxBodySize at the latest, and within maxFrameSize bytes.
  const std::size_t bodyCap = bodyStart_ + limits_.maxBodySize + 1;
  const std::size_t frameCap = limits_.maxFrameSize;
  const std::size_t cap = bodyCap < frameCap ? bodyCap : frameCap;
  const std::size_t searchEnd = n < cap ? n : cap;
  const char* nul = searchEnd > scan_ ? findByte(p + scan_, searchEnd - scan_, 0) : nullptr;
  if (!nul) {
    if (n < cap) {
      scan_ = n;
      return Step::needMore;
    }
    if (bodyCap <= frameCap) {
      fail(errc::body_too_large, bodyStart_ + limits_.maxBodySize);
    } else {
      fail(errc::frame_too_large, limits_.maxFrameSize);
    }
    return Step::error;
  }
  bodyLength_ = static_cast<std::size_t>(nul - p) - bodyStart_;
  used = bodyStart_ + bodyLength_ + 1;
  return Step::frame;
}

// The first content-length header decides the body's length (a repeated header: the first wins).
bool FrameParser::parseContentLength(std::string_view value, std::size_t lineStart) {
  if (value.empty()) {
    fail(errc::invalid_content_length, lineStart);
    return false;
  }
  std::size_t length = 0;
  const std::size_t maxBody = limits_.maxBodySize;
  for (char c : value) {
    const unsigned digit = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';  // wraps below '0'
    if (digit > 9) {
      fail(errc::invalid_content_length, lineStart);
      return false;
    }
    length = length * 10 + digit;
    if (length > maxBody) {  // also keeps the arithmetic from overflowing
      fail(errc::body_too_large, lineStart);
      return false;
    }
  }
  hasContentLength_ = true;
  bodyLength_ = length;
  return true;
}

// The escapes of a header line [begin, end) with a backslash, in a frame whose headers are escaped:
// "\\" followed by n, c, \\ or (1.2) r. A backslash at the end of the line, or before its colon,
// escapes nothing and is refused too.
[[gnu::cold]] bool FrameParser::checkEscapes(const char* p, std::size_t begin, std::size_t end) {
  if (!escaped_) return true;
  for (std::size_t i = begin; i < end; ++i) {
    if (p[i] != '\\') continue;
    const char e = i + 1 < end ? p[i + 1] : '\0';
    if (e != 'n' && e != 'c' && e != '\\' && (e != 'r' || version_ != Version::v1_2)) {
      fail(errc::invalid_escape, i);
      return false;
    }
    ++i;
  }
  hasEscapes_ = true;
  return true;
}

// Decodes the headers into scratch_, just before the frame is handed out (step() checked every
// escape). All of them: a frame with escapes is rare, and a plain copy costs less code than finding
// which ones hold a backslash. Decoding only shrinks, so the header block's size is room enough:
// scratch_ is sized once (a copy of the block, for its size) and does not move while views into it
// are made.
[[gnu::cold]] void FrameParser::unescapeHeaders(const char* p) {
  scratch_.assign(p, bodyStart_);
  char* out = scratch_.data();
  for (std::size_t i = 0; i + 1 < lines_; ++i) {
    for (std::string_view* s : {&views_[i].name, &views_[i].value}) {
      char* const start = out;
      for (std::size_t k = 0; k < s->size(); ++k) {
        char c = (*s)[k];
        if (c == '\\') {
          c = (*s)[++k];
          c = c == 'n' ? '\n' : c == 'c' ? ':' : c == 'r' ? '\r' : c;
        }
        *out++ = c;
      }
      *s = std::string_view(start, static_cast<std::size_t>(out - start));
    }
  }
}

void FrameParser::emit(const char* p, Handler& handler) {
  if (hasEscapes_) [[unlikely]] unescapeHeaders(p);
  const FrameView frame{command_, std::span<const HeaderView>(views_.get(), lines_ - 1),
                        std::string_view(p + bodyStart_, bodyLength_)};
  handler.onFrame(frame);
}

}  // namespace stompwire
