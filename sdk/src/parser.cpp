#include "stompwire/parser.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stompwire {
namespace {

// No real command is longer; a longer first line is garbage and is refused before its EOL arrives.
constexpr std::size_t kMaxCommandLength = 32;

bool isCommandChar(char c) noexcept { return c >= 'A' && c <= 'Z'; }

const char* findByte(const char* p, std::size_t n, int byte) noexcept {
  return n == 0 ? nullptr : static_cast<const char*>(std::memchr(p, byte, n));
}

constexpr std::size_t npos = static_cast<std::size_t>(-1);

// What one pass over a header line finds: its LF, its first ':' and whether it holds a backslash.
// Header lines are short, so one pass beats three memchr calls (the parser's hottest loop).
struct LineScan {
  std::size_t eol = npos;
  std::size_t colon = npos;
  bool backslash = false;
};

LineScan scanLine(const char* p, std::size_t begin, std::size_t end) noexcept {
  // Locals, not the struct's fields, in the loop: the compiler keeps them in registers.
  std::size_t colonAt = npos;
  bool backslash = false;
  std::size_t i = begin;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n'), colon = _mm_set1_epi8(':'), bs = _mm_set1_epi8('\\');
  for (; i + 16 <= end; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const unsigned mLf = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    unsigned mColon = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, colon)));
    unsigned mBackslash = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)));
    if (mLf) {
      const unsigned before = (mLf & (0u - mLf)) - 1;  // the bytes ahead of the first LF
      mColon &= before;
      if (colonAt == npos && mColon) colonAt = i + static_cast<std::size_t>(__builtin_ctz(mColon));
      return {i + static_cast<std::size_t>(__builtin_ctz(mLf)), colonAt, backslash || (mBackslash & before) != 0};
    }
    if (colonAt == npos && mColon) colonAt = i + static_cast<std::size_t>(__builtin_ctz(mColon));
    backslash = backslash || mBackslash != 0;
  }
#endif
  for (; i < end; ++i) {
    const char c = p[i];
    if (c == '\n') return {i, colonAt, backslash};
    if (c == ':' && colonAt == npos) colonAt = i;
    if (c == '\\') backslash = true;
  }
  return {npos, colonAt, backslash};
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
  slices_.clear();
  scratch_.clear();
}

void FrameParser::fail(errc e, std::size_t offsetInWindow) {
  error_ = make_error_code(e);
  errorOffset_ = consumed_ + offsetInWindow;
}

std::error_code FrameParser::feed(std::string_view data, Handler& handler) {
  if (error_) return error_;
  std::size_t pos = 0;

  if (!buf_.empty()) {
    // Finish the frame that spans chunks in buf_, copying only as much of `data` as it can use.
    const std::size_t held = buf_.size();
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
    std::size_t used = 0;
    Step result = step(buf_.data(), buf_.size(), used);
    if (result == Step::needMore && take < data.size()) {
      // Not expected (a bounded take completes the frame or fails), but never drop input.
      buf_.append(data.data() + take, data.size() - take);
      result = step(buf_.data(), buf_.size(), used);
    }
    switch (result) {
      case Step::needMore:
        return {};
      case Step::error:
        return error_;
      case Step::heartbeat:
        consumed_ += used;
        handler.onHeartbeat();
        break;
      case Step::frame:
        consumed_ += used;
        emit(buf_.data(), handler);
        resetFrame();
        break;
    }
    // Completion needed bytes from `data`, so used > held.
    pos = used - held;
    buf_.clear();
  }

  while (pos < data.size()) {
    const char* p = data.data() + pos;
    const std::size_t n = data.size() - pos;
    std::size_t used = 0;
    switch (step(p, n, used)) {
      case Step::needMore:
        buf_.assign(p, n);
        return {};
      case Step::error:
        return error_;
      case Step::heartbeat:
        consumed_ += used;
        pos += used;
        handler.onHeartbeat();
        break;
      case Step::frame:
        consumed_ += used;
        pos += used;
        emit(p, handler);
        resetFrame();
        break;
    }
  }
  return {};
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
  }

  if (phase_ == Phase::headers) {
    for (;;) {
      // A line may hold maxHeaderLine bytes + CR + LF, and the frame maxFrameSize bytes.
      const std::size_t lineCap = scan_ + limits_.maxHeaderLine + 2;
      const std::size_t frameCap = limits_.maxFrameSize + 1;
      const std::size_t cap = lineCap < frameCap ? lineCap : frameCap;
      const std::size_t searchEnd = n < cap ? n : cap;
      if (lines_ == 0) {
        // Refuse garbage early: the command is a short run of A-Z, checked byte by byte as it comes
        // (within the same bound as the EOL search, so chunking cannot change which error wins).
        for (std::size_t i = 0; i < searchEnd && p[i] != '\n'; ++i) {
          const bool lastBeforeEol = p[i] == '\r' && (i + 1 == searchEnd || p[i + 1] == '\n');
          if (lastBeforeEol) continue;
          if (!isCommandChar(p[i]) || i >= kMaxCommandLength) {
            fail(errc::invalid_command, i);
            return Step::error;
          }
        }
      }
      const LineScan line = scanLine(p, scan_, searchEnd);
      if (line.eol == npos) {
        if (n < cap) return Step::needMore;
        if (lineCap <= frameCap) {
          fail(errc::header_line_too_long, scan_);
        } else {
          fail(errc::frame_too_large, limits_.maxFrameSize);
        }
        return Step::error;
      }
      const std::size_t end = line.eol;
      std::size_t lineEnd = end;
      if (lineEnd > scan_ && p[lineEnd - 1] == '\r') --lineEnd;
      if (lineEnd - scan_ > limits_.maxHeaderLine) {
        fail(errc::header_line_too_long, scan_);
        return Step::error;
      }
      if (lineEnd == scan_) {  // the blank line that ends the headers
        bodyStart_ = end + 1;
        if (hasContentLength_ && bodyStart_ + bodyLength_ + 1 > limits_.maxFrameSize) {
          fail(errc::frame_too_large, limits_.maxFrameSize);
          return Step::error;
        }
        phase_ = Phase::body;
        scan_ = bodyStart_;
        break;
      }
      if (lines_ > limits_.maxHeaders) {  // lines_ counts the command line too
        fail(errc::too_many_headers, scan_);
        return Step::error;
      }
      const std::size_t colon = line.colon < lineEnd ? line.colon : npos;
      if (!decodeLine(p, scan_, lineEnd, colon, line.backslash)) return Step::error;
      ++lines_;
      scan_ = end + 1;
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

bool FrameParser::decodeLine(const char* p, std::size_t begin, std::size_t end, std::size_t colonAt,
                             bool backslash) {
  if (lines_ == 0) {
    command_ = {static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end - begin), false};
    escaped_ = version_ != Version::v1_0 && !isConnectCommand(std::string_view(p + begin, end - begin));
    return true;
  }
  if (colonAt == npos || colonAt == begin) {
    fail(errc::malformed_header, begin);
    return false;
  }
  // Filled in place: building it on the stack and copying it in stalls store-to-load forwarding.
  HeaderSlices& h = slices_.emplace_back();
  if (!escaped_ || !backslash) {
    h.name = {static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(colonAt - begin), false};
    h.value = {static_cast<std::uint32_t>(colonAt + 1), static_cast<std::uint32_t>(end - colonAt - 1), false};
  } else if (!unescape(p, begin, colonAt, h.name) || !unescape(p, colonAt + 1, end, h.value)) {
    return false;
  }
  if (hasContentLength_ || view(p, h.name) != "content-length") return true;

  const std::string_view value = view(p, h.value);
  if (value.empty()) {
    fail(errc::invalid_content_length, begin);
    return false;
  }
  std::size_t length = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      fail(errc::invalid_content_length, begin);
      return false;
    }
    length = length * 10 + static_cast<std::size_t>(c - '0');
    if (length > limits_.maxBodySize) {  // also keeps the arithmetic from overflowing
      fail(errc::body_too_large, begin);
      return false;
    }
  }
  hasContentLength_ = true;
  bodyLength_ = length;
  return true;
}

bool FrameParser::unescape(const char* p, std::size_t begin, std::size_t end, Slice& out) {
  const std::size_t start = scratch_.size();
  for (std::size_t i = begin; i < end; ++i) {
    char c = p[i];
    if (c == '\\') {
      const char e = i + 1 < end ? p[i + 1] : '\0';
      switch (e) {
        case 'n': c = '\n'; break;
        case 'c': c = ':'; break;
        case '\\': c = '\\'; break;
        case 'r':
          if (version_ == Version::v1_2) {
            c = '\r';
            break;
          }
          [[fallthrough]];
        default:
          fail(errc::invalid_escape, i);
          return false;
      }
      ++i;
    }
    scratch_.push_back(c);
  }
  out = {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(scratch_.size() - start), true};
  return true;
}

std::string_view FrameParser::view(const char* p, Slice s) const noexcept {
  return {(s.scratch ? scratch_.data() : p) + s.offset, s.length};
}

void FrameParser::emit(const char* p, Handler& handler) {
  views_.clear();
  for (const auto& h : slices_) views_.push_back({view(p, h.name), view(p, h.value)});
  const FrameView frame{view(p, command_), views_,
                        std::string_view(p + bodyStart_, bodyLength_)};
  handler.onFrame(frame);
}

}  // namespace stompwire
