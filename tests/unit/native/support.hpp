// Test helpers for the native transports: a listener that records every event, and an io_context
// driver that runs until a condition holds or a deadline passes (no sleeps).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <stompwire/native/transport.hpp>
#include <stompwire/transport.hpp>

namespace stompwire::test {

struct Event {
  enum Kind { open, message, error, close } kind;
  std::string data;  // subprotocol / message / close reason
  bool flag = false; // binary / wasClean
  int code = 0;
  std::error_code ec;
};

class RecordingListener final : public TransportListener {
 public:
  void onOpen(std::string_view subprotocol) override { push({Event::open, std::string(subprotocol), false, 0, {}}); }
  void onMessage(std::string_view data, bool binary) override {
    receivedSize += data.size();
    push({Event::message, std::string(data), binary, 0, {}});
  }
  void onClose(int code, std::string_view reason, bool wasClean) override {
    push({Event::close, std::string(reason), wasClean, code, {}});
  }
  void onError(std::error_code ec) override { push({Event::error, ec.message(), false, 0, ec}); }

  std::size_t count(Event::Kind k) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == k;
    return n;
  }
  const Event* first(Event::Kind k) const {
    for (const auto& e : events) {
      if (e.kind == k) return &e;
    }
    return nullptr;
  }
  bool opened() const { return count(Event::open) > 0; }
  bool closed() const { return count(Event::close) > 0; }
  std::string received() const {
    std::string all;
    for (const auto& e : events) {
      if (e.kind == Event::message) all += e.data;
    }
    return all;
  }

  std::vector<Event> events;
  std::size_t receivedSize = 0;      // bytes of all messages so far (cheap to poll)
  bool afterClose = false;           // an event arrived after onClose: a contract violation
  std::function<void(const Event&)> hook;  // runs inside the callback (re-entrancy tests)

 private:
  bool closedSeen = false;
  void push(Event e) {
    if (closedSeen) afterClose = true;
    if (e.kind == Event::close) closedSeen = true;
    events.push_back(e);
    if (hook) hook(events.back());
  }
};

// Runs ioc until pred() is true or timeout passes; returns pred().
inline bool runUntil(boost::asio::io_context& ioc, const std::function<bool()>& pred,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(deadline - now);
  }
  return true;
}

// The subprotocols every STOMP client offers, best first.
inline const std::vector<std::string_view> kStompProtocols = {"v12.stomp", "v11.stomp", "v10.stomp"};

// One native transport on its own io_context with a recording listener: what the ws:// and wss:// tests
// share. Tests set `options` before open().
struct TransportHarness {
  boost::asio::io_context ioc;
  native::TransportOptions options;
  RecordingListener listener;
  std::unique_ptr<Transport> transport;

  void open(const std::string& url, const std::vector<std::string_view>& protocols = kStompProtocols) {
    transport = native::makeTransport(ioc.get_executor(), listener, options);
    transport->open(url, protocols);
  }
  // Until the handshake ended either way (runUntil's deadline).
  bool waitEnd() { return runUntil(ioc, [&] { return listener.opened() || listener.closed(); }); }
};

// Runs whatever is ready now (handlers already queued), without waiting for new I/O.
inline void drain(boost::asio::io_context& ioc) {
  if (ioc.stopped()) ioc.restart();
  ioc.poll();
}

}  // namespace stompwire::test
