// A Transport the test drives step by step: it records what the client opens, sends and closes, and the
// test plays the server (open, deliver frames, close, fail). As the Transport contract requires, no event
// is delivered from inside a client call: one the test plays from inside a callback (while an event is
// being delivered) waits until that event's delivery returns, as it would in an event loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "stompwire/frame.hpp"
#include "stompwire/parser.hpp"
#include "stompwire/transport.hpp"

namespace stompwire::test {

struct FakeLink {
  TransportListener* listener = nullptr;
  bool opened = false;           // open() called
  bool destroyed = false;        // the client dropped the transport
  bool closeRequested = false;   // close() called
  int closeCode = 0;
  std::string closeReason;
  bool closedByServer = false;   // onClose delivered
  std::string url;
  std::vector<std::string> subprotocols;
  struct Sent {
    std::string data;
    bool binary;
  };
  std::vector<Sent> sent;
  std::size_t buffered = 0;

  bool alive() const { return !destroyed && !closedByServer; }

  // Server side.
  void accept(std::string_view subprotocol = "v12.stomp") {
    post([this, p = std::string(subprotocol)] {
      if (!destroyed) listener->onOpen(p);
    });
  }
  void deliver(std::string_view bytes, bool binary = false) {
    post([this, b = std::string(bytes), binary] {
      if (!destroyed) listener->onMessage(b, binary);
    });
  }
  void connected(std::string_view version = "1.2", std::string_view heartbeat = "0,0") {
    std::string f = "CONNECTED\nversion:" + std::string(version) + "\nheart-beat:" + std::string(heartbeat) +
                    "\nsession:s1\nserver:fake/1\n\n";
    f.push_back('\0');
    deliver(f);
  }
  void drop(int code = 1006, std::string_view reason = "", bool clean = false) {
    if (destroyed || closedByServer) return;
    closedByServer = true;
    post([this, code, r = std::string(reason), clean] {
      if (!destroyed) listener->onClose(code, r, clean);
    });
  }
  void fail(std::error_code ec) {
    post([this, ec] {
      if (!destroyed) listener->onError(ec);
    });
  }

  // Delivers `event` now, or after the event being delivered returns when called from inside it.
  // (Checked again at delivery: the client may drop the transport meanwhile.)
  void post(std::function<void()> event) {
    backlog.push_back(std::move(event));
    if (delivering) return;
    delivering = true;
    for (std::size_t i = 0; i < backlog.size(); ++i) {
      auto run = std::move(backlog[i]);
      run();
    }
    backlog.clear();
    delivering = false;
  }
  bool delivering = false;
  std::vector<std::function<void()>> backlog;

  // Client side, parsed: every STOMP frame sent so far (heart-beats skipped; split frames rejoined).
  std::vector<Frame> frames() const {
    std::vector<Frame> out;
    FrameParser p;
    for (const auto& s : sent)
      p.feed(s.data, [&](const FrameView& v) { out.push_back(v.toFrame()); }, [] {});
    return out;
  }
  std::vector<Frame> framesNamed(std::string_view command) const {
    std::vector<Frame> out;
    for (auto& f : frames())
      if (f.command == command) out.push_back(f);
    return out;
  }
  std::size_t heartbeatsSent() const {
    std::size_t n = 0;
    for (const auto& s : sent)
      if (s.data == "\n") ++n;
    return n;
  }
  std::optional<Frame> lastFrame() const {
    auto f = frames();
    if (f.empty()) return std::nullopt;
    return f.back();
  }
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(std::shared_ptr<FakeLink> link) : link_(std::move(link)) {}
  ~FakeTransport() override { link_->destroyed = true; }
  void open(std::string_view url, std::span<const std::string_view> subprotocols) override {
    link_->opened = true;
    link_->url = std::string(url);
    link_->subprotocols.assign(subprotocols.begin(), subprotocols.end());
  }
  void send(std::string_view data, bool binary) override { link_->sent.push_back({std::string(data), binary}); }
  void close(int code, std::string_view reason) override {
    link_->closeRequested = true;
    link_->closeCode = code;
    link_->closeReason = std::string(reason);
  }
  std::size_t bufferedAmount() const override { return link_->buffered; }

 private:
  std::shared_ptr<FakeLink> link_;
};

// Makes FakeTransports and keeps every link, so the test can play each connection attempt.
class FakeNetwork {
 public:
  bool refuse = false;  // the factory returns null (e.g. a bad URL)

  TransportFactory factory() {
    return [this](TransportListener& l) -> std::unique_ptr<Transport> {
      if (refuse) return nullptr;
      auto link = std::make_shared<FakeLink>();
      link->listener = &l;
      links.push_back(link);
      return std::make_unique<FakeTransport>(link);
    };
  }
  FakeLink& last() { return *links.back(); }
  std::size_t count() const { return links.size(); }

  std::vector<std::shared_ptr<FakeLink>> links;
};

inline std::string stompFrame(std::string_view command, std::vector<std::pair<std::string, std::string>> headers,
                              std::string_view body = {}) {
  std::string f(command);
  f += '\n';
  for (auto& [k, v] : headers) f += k + ":" + v + "\n";
  f += '\n';
  f += body;
  f.push_back('\0');
  return f;
}

}  // namespace stompwire::test
