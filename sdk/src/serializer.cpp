#include "stompwire/serializer.hpp"

#include <charconv>
#include <cstring>

#include "stompwire/error.hpp"
#include "text.hpp"

namespace stompwire {
namespace {

bool validCommand(std::string_view c) noexcept {
  if (c.empty()) return false;
  for (char ch : c)
    if (ch < 'A' || ch > 'Z') return false;
  return true;
}

// Bytes needed for `s` escaped (checkHeader() has ruled out what the version cannot carry).
std::size_t escapedSize(std::string_view s) noexcept {
  std::size_t n = s.size();
  for (char c : s) n += c == '\n' || c == '\r' || c == ':' || c == '\\';
  return n;
}

void appendEscaped(std::string& out, std::string_view s) {
  // Copy the runs between special bytes in bulk; most values have none.
  for (;;) {
    const std::size_t special = s.find_first_of("\n\r:\\");
    if (special == std::string_view::npos) {
      out.append(s);
      return;
    }
    out.append(s.substr(0, special));
    switch (s[special]) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case ':': out += "\\c"; break;
      default: out += "\\\\"; break;
    }
    s.remove_prefix(special + 1);
  }
}

bool hasEol(std::string_view s) noexcept { return s.find_first_of("\r\n") != std::string_view::npos; }

// Whether `version` can carry the header, escaped (1.1/1.2 frames but CONNECT) or not: the one rule for
// serialize() and FrameWriter. (content-length is never written from a header: callers skip it.)
std::error_code checkHeader(std::string_view name, std::string_view value, Version version, bool escaped) noexcept {
  if (name.empty()) return errc::unencodable_header;
  if (escaped) {
    // 1.1 has no escape for CR.
    if (version != Version::v1_2 && (name.find('\r') != std::string_view::npos || value.find('\r') != std::string_view::npos))
      return errc::unencodable_header;
  } else if (hasEol(name) || name.find(':') != std::string_view::npos || hasEol(value)) {
    return errc::unencodable_header;
  }
  return {};
}

void appendHeader(std::string& out, std::string_view name, std::string_view value, bool escaped) {
  if (escaped) {
    appendEscaped(out, name);
    out.push_back(':');
    appendEscaped(out, value);
  } else {
    out.append(name).push_back(':');
    out.append(value);
  }
  out.push_back('\n');
}

template <class F>
std::error_code serializeImpl(const F& frame, std::string& out, const SerializeOptions& options) {
  const std::string_view command = frame.command;
  if (!validCommand(command)) return errc::invalid_command;
  const bool escaped = options.version != Version::v1_0 && !isConnectCommand(command);

  // First pass: validate and size, so that a failure appends nothing and success allocates once.
  std::size_t size = command.size() + 1;
  for (const auto& h : frame.headers) {
    const std::string_view name = h.name, value = h.value;
    if (name == "content-length") continue;
    if (auto ec = checkHeader(name, value, options.version, escaped)) return ec;
    size += (escaped ? escapedSize(name) + escapedSize(value) : name.size() + value.size()) + 2;
  }
  const std::string_view body = frame.body;
  char digits[24];
  std::size_t digitCount = 0;
  if (options.alwaysContentLength || std::memchr(body.data(), 0, body.size())) {
    digitCount = static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, body.size()).ptr - digits);
    size += sizeof("content-length:") + digitCount;
  }
  size += 1 + body.size() + 1;

  out.reserve(out.size() + size);
  out.append(command).push_back('\n');
  for (const auto& h : frame.headers)
    if (std::string_view(h.name) != "content-length") appendHeader(out, h.name, h.value, escaped);
  if (digitCount) out.append("content-length:").append(digits, digitCount).push_back('\n');
  out.push_back('\n');
  out.append(body).push_back('\0');
  return {};
}

}  // namespace

namespace detail {

FrameWriter::FrameWriter(std::string_view command, Version version)
    : version_(version), escaped_(version != Version::v1_0 && !isConnectCommand(command)) {
  out_.append(command).push_back('\n');
}

void FrameWriter::header(std::string_view name, std::string_view value) {
  if (name == "content-length") return;  // finish() writes the real one
  if (auto ec = checkHeader(name, value, version_, escaped_)) error_ = ec;
  appendHeader(out_, name, value, escaped_);
}

void FrameWriter::headers(const std::vector<Header>& extra, std::initializer_list<std::string_view> own, bool dedupe) {
  for (std::size_t i = 0; i < extra.size(); ++i) {
    const std::string_view name = extra[i].name;
    bool skip = false;
    for (std::string_view o : own) skip = skip || name == o;
    for (std::size_t j = 0; dedupe && j < i; ++j) skip = skip || name == extra[j].name;
    if (!skip) header(name, extra[i].value);
  }
}

std::error_code FrameWriter::finish(std::string_view body, bool contentLength) {
  if (error_) return error_;
  if (contentLength || (!body.empty() && std::memchr(body.data(), 0, body.size()))) {
    out_.append("content-length:");
    appendNumber(out_, body.size());
    out_.push_back('\n');
  }
  out_.push_back('\n');
  out_.append(body).push_back('\0');
  return {};
}

}  // namespace detail

std::error_code serialize(const Frame& frame, std::string& out, const SerializeOptions& options) {
  return serializeImpl(frame, out, options);
}

std::error_code serialize(const FrameView& frame, std::string& out, const SerializeOptions& options) {
  return serializeImpl(frame, out, options);
}

}  // namespace stompwire
