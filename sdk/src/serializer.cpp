#include "stompwire/serializer.hpp"

#include <cstring>

#include "stompwire/error.hpp"
#include "text.hpp"

namespace stompwire {

using namespace std::string_view_literals;

namespace {

bool validCommand(std::string_view c) noexcept {
  if (c.empty()) return false;
  for (char ch : c)
    if (ch < 'A' || ch > 'Z') return false;
  return true;
}

template <class F>
std::error_code serializeImpl(const F& frame, std::string& out, const SerializeOptions& options) {
  const std::string_view command = frame.command;
  if (!validCommand(command)) return errc::invalid_command;
  // The session's one-pass writer: the same rules and bytes for the frames a user builds.
  const std::size_t start = out.size();
  detail::FrameWriter w(out, command, options.version);
  for (const auto& h : frame.headers) w.header(h.name, h.value);
  auto ec = w.finish(frame.body, options.alwaysContentLength);
  if (ec) out.resize(start);  // nothing appended
  return ec;
}

}  // namespace

namespace detail {

FrameWriter::FrameWriter(std::string& out, std::string_view command, Version version)
    : out_(out), version_(version), escaped_(version != Version::v1_0 && !isConnectCommand(command)) {
  out_.append(command.data(), command.size());
  out_.append("\n", 1);  // appends from literals: std::string::push_back stays out of the module
}

// One pass over `s`: copies it (runs between special bytes in bulk), escaping when this frame escapes,
// then what ends it (':' after a name, EOL after a value), and notes a byte the frame cannot carry. The
// one rule of which headers a version can carry: unescaped (1.0, CONNECT/STOMP/CONNECTED), no EOL
// anywhere and no ':' in a name; escaped, anything but a CR in 1.1 (it has no escape for CR).
void FrameWriter::put(std::string_view s, bool name) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    static constexpr char kEscapes[] = "\\n\\r\\c\\\\";
    const char* code;  // its escape sequence, appended in one go
    switch (c) {
      case '\n': code = kEscapes; break;
      case '\r': code = kEscapes + 2; break;
      case ':': code = kEscapes + 4; break;
      case '\\': code = kEscapes + 6; break;
      default: continue;
    }
    if (!escaped_) {
      if (c == '\n' || c == '\r' || (c == ':' && name)) error_ = errc::unencodable_header;
      continue;
    }
    if (c == '\r' && version_ != Version::v1_2) error_ = errc::unencodable_header;
    out_.append(s.data() + from, i - from);
    out_.append(code, 2);
    from = i + 1;
  }
  out_.append(s.data() + from, s.size() - from);
  out_.append(name ? ":" : "\n", 1);  // what ends a name, or a value
}

void FrameWriter::header(std::string_view name, std::string_view value) {
  if (name == "content-length"sv) return;  // finish() writes the real one
  if (name.empty()) error_ = errc::unencodable_header;
  put(name, true);
  put(value, false);
}

void FrameWriter::headers(std::span<const Header> extra, bool dedupe) {
  const Header* const first = extra.data();
  const Header* const last = first + extra.size();
  for (const Header* h = first; h != last; ++h) {
    const std::string_view name = h->name;
    bool skip = false;
    for (std::size_t j = 0; j < owned_; ++j) skip |= name == own_[j];
    for (const Header* e = first; dedupe && e != h; ++e) skip |= name == std::string_view(e->name);
    if (!skip) header(name, h->value);
  }
}

std::error_code FrameWriter::finish(std::string_view body, bool contentLength) {
  if (error_) return error_;
  if (contentLength || (!body.empty() && std::memchr(body.data(), 0, body.size()))) {
    out_.append("content-length:", 15);
    appendNumber(out_, body.size());
    out_.append("\n", 1);
  }
  out_.append("\n", 1);
  out_.append(body.data(), body.size());
  out_.append("", 1);  // the literal's NUL
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
