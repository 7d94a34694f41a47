// The two seams between the portable core and a platform: a message transport and a scheduler.
// native/ implements them over Asio/Beast, wasm/ over a JS WebSocket-like object and JS timers, and
// tests/ with a fake transport and a manual clock.
//
// These interfaces keep every virtual function inline: sdk/ is built without RTTI, so a key function
// here would leave RTTI-enabled backends without the base class's typeinfo.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace stompwire {

using Millis = std::chrono::milliseconds;

// Receives a transport's events. Implemented by the core.
class TransportListener {
 public:
  virtual void onOpen(std::string_view subprotocol) = 0;
  // One whole WebSocket message (or, for a stream transport, one read's worth of bytes).
  virtual void onMessage(std::string_view data, bool binary) = 0;
  // The connection is gone, after a close handshake (wasClean) or not. Sent once, last.
  virtual void onClose(int code, std::string_view reason, bool wasClean) = 0;
  // Something failed; onClose follows.
  virtual void onError(std::error_code ec) = 0;

 protected:
  ~TransportListener() = default;
};

// One connection attempt. A transport is used once: the client makes a new one for each attempt.
// Rules every backend keeps, so that the core never sees re-entrant calls:
// - events are never delivered from inside open(), send() or close(), nor from inside another event's
//   listener call: they are queued/posted (an event loop does that by itself: a handler runs to its end);
// - after the transport is destroyed, no event is delivered.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void open(std::string_view url, std::span<const std::string_view> subprotocols) = 0;
  virtual void send(std::string_view data, bool binary) = 0;
  virtual void close(int code, std::string_view reason) = 0;
  // Bytes accepted by send() and not yet written.
  virtual std::size_t bufferedAmount() const = 0;
};

using TransportFactory = std::function<std::unique_ptr<Transport>(TransportListener&)>;

using TimerId = std::uint64_t;

// Time and deferred work. The core never reads a clock, never sleeps and never starts a thread.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Monotonic time since an arbitrary epoch.
  virtual Millis now() const = 0;
  // Runs fn once after delay, unless cancelled first. Never runs it from inside schedule().
  virtual TimerId schedule(Millis delay, std::function<void()> fn) = 0;
  // Cancelling an unknown or already-fired id does nothing.
  virtual void cancel(TimerId id) = 0;
  // Runs fn soon, after the current call stack unwinds.
  virtual void post(std::function<void()> fn) = 0;
};

}  // namespace stompwire
