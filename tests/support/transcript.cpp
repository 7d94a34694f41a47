#include "transcript.hpp"

#include <charconv>

namespace stompwire::test {

std::string printable(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::size_t parseTranscriptOptions(std::string_view expect, TranscriptOptions& options) {
  std::size_t pos = 0;
  while (pos < expect.size() && expect[pos] == '#') {
    std::size_t eol = expect.find('\n', pos);
    if (eol == std::string_view::npos) eol = expect.size();
    std::string_view line = expect.substr(pos + 1, eol - pos - 1);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto trim = [](std::string_view v) {
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.remove_suffix(1);
        return v;
      };
      const std::string_view key = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      std::size_t number = 0;
      std::from_chars(value.data(), value.data() + value.size(), number);
      if (key == "version") {
        if (auto v = parseVersion(value)) options.version = *v;
      } else if (key == "maxFrameSize") {
        options.limits.maxFrameSize = number;
      } else if (key == "maxBodySize") {
        options.limits.maxBodySize = number;
      } else if (key == "maxHeaders") {
        options.limits.maxHeaders = number;
      } else if (key == "maxHeaderLine") {
        options.limits.maxHeaderLine = number;
      }
    }
    pos = eol + 1;
  }
  return pos > expect.size() ? expect.size() : pos;
}

namespace {

struct Recorder final : FrameParser::Handler {
  FrameParser* parser = nullptr;
  std::string out;

  void onFrame(const FrameView& f) override {
    out += "FRAME ";
    out += printable(f.command);
    out += '\n';
    for (const auto& h : f.headers) {
      out += printable(h.name);
      out += ':';
      out += printable(h.value);
      out += '\n';
    }
    out += "BODY " + std::to_string(f.body.size()) + ' ' + printable(f.body) + '\n';
    if (f.command == "CONNECTED") {
      if (auto v = f.header("version"))
        if (auto parsed = parseVersion(*v)) parser->setVersion(*parsed);
    }
  }
  void onHeartbeat() override { out += "HEARTBEAT\n"; }
};

}  // namespace

std::string describe(std::string_view bytes, std::size_t split, std::size_t stride,
                     const TranscriptOptions& options) {
  FrameParser parser(options.limits, options.version);
  Recorder recorder;
  recorder.parser = &parser;
  std::size_t pos = 0;
  std::error_code ec;
  auto feed = [&](std::size_t n) {
    ec = parser.feed(bytes.substr(pos, n), recorder);
    pos += n;
  };
  feed(split < bytes.size() ? split : bytes.size());
  while (!ec && pos < bytes.size()) feed(stride == 0 ? bytes.size() - pos : stride);
  if (ec) {
    recorder.out += "ERROR ";
    recorder.out += errcName(static_cast<errc>(ec.value()));
    recorder.out += " @" + std::to_string(parser.errorOffset()) + '\n';
  } else if (parser.buffered() > 0) {
    recorder.out += "INCOMPLETE " + std::to_string(parser.buffered()) + '\n';
  }
  return recorder.out;
}

}  // namespace stompwire::test
