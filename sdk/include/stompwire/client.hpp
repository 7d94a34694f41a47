// The stompwire client: the resilience policy (connect, heart-beats, reconnect with backoff, offline
// queue, receipts, subscriptions that survive reconnects) over a Session, a Transport and a Scheduler.
// Names follow @stomp/stompjs. The native (Beast) and wasm (JS) backends wrap exactly this class.
//
// Threading: none. Every call and every callback happens on the scheduler's thread/executor.
//
// Re-entrancy: any callback may call any method, including deactivate(), activate() and destroying the
// Client. Callbacks run only when the client's state is consistent, in the order the events happened.
// After the Client is destroyed no callback of it runs (handles still report their state).
//
// Lifetime: the Scheduler must outlive the Client and the work it posted (the client defers the
// destruction of transports to Scheduler::post so that a transport is never destroyed inside its own
// callback).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "stompwire/error.hpp"
#include "stompwire/frame.hpp"
#include "stompwire/parser.hpp"
#include "stompwire/transport.hpp"

namespace stompwire {

namespace detail {
class ClientImpl;
struct ClientLink;
struct PublishState;
struct MessageState;

// Size (the wasm module is budgeted): the client's shared objects (a publish's state, a kept message,
// the client itself and the link its handles reach it by) carry their own reference count and a plain
// destroy function. std::shared_ptr would instantiate a control block per type (and weak_ptr's locking
// on top). The count changes atomically, as shared_ptr's does: the client runs on one thread, but the
// handles an app holds may be copied and destroyed on others (native::Client serializes its calls into
// the core, not the destruction of a Subscription its caller holds). In the wasm build, which has no
// threads, the atomic operations compile to plain ones (no size cost).
struct Counted {
  mutable std::uint32_t refs = 0;
  void (*destroy)(const Counted*) = nullptr;
};
// Adds one reference to `c` / drops one (null: nothing; at zero it is destroyed). Out of line: one
// function each for every type and every use.
void retain(const Counted* c) noexcept;
void release(const Counted* c) noexcept;

// A counted reference to a T derived from Counted. It holds the base, so that the handles below copy and
// destroy it where T is incomplete; only the core, which knows T, dereferences it.
template <class T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T* p) noexcept : p_(p) { retain(); }
  Ref(const Ref& o) noexcept : p_(o.p_) { retain(); }
  Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  Ref& operator=(const Ref& o) noexcept {
    detail::retain(o.p_);  // (first: self-assignment keeps it)
    detail::release(p_);
    p_ = o.p_;
    return *this;
  }
  Ref& operator=(Ref&& o) noexcept {
    std::swap(p_, o.p_);  // o releases the old one
    return *this;
  }
  ~Ref() { release(p_); }
  T* get() const noexcept { return p_ ? &**this : nullptr; }
  // Through a reference: no null check in the cast (for a T whose Counted base is not at offset 0).
  T& operator*() const noexcept { return static_cast<T&>(const_cast<Counted&>(*p_)); }
  T* operator->() const noexcept { return &**this; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  void retain() const noexcept { detail::retain(p_); }
  const Counted* p_ = nullptr;
};
}  // namespace detail

using Headers = std::vector<Header>;

// ---------------------------------------------------------------------------------------------
// Options

struct ReconnectOptions {
  bool enabled = true;
  Millis initialDelay{1000};     // > 0 (to stop reconnecting, set enabled = false)
  Millis maxDelay{30000};        // >= initialDelay
  double multiplier = 2.0;       // >= 1
  std::uint32_t maxAttempts = 0;  // consecutive failed attempts before `failed`; 0 = unlimited
  // A connection that stayed up this long resets the failure count (and so the backoff).
  Millis resetAfter{10000};
};

struct OfflineQueueOptions {
  std::size_t maxMessages = 1000;     // 0 disables queueing: publish while offline fails
  std::size_t maxBytes = 1024 * 1024; // body + destination + headers of the queued messages
};

// Called before every connection attempt (e.g. refresh a token, then Client::setConnectHeaders). Call
// `done` once, now or later, with an empty error to go on, or an error to count the attempt as failed
// (before_connect_failed). connectionTimeout covers a hook that never calls back; a late or second
// call is ignored.
using BeforeConnectDone = std::function<void(std::error_code)>;
// `done` by rvalue reference: the client hands over its own (no moved copy made per call); a hook that
// takes it by value gets it moved in.
using BeforeConnect = std::function<void(BeforeConnectDone&& done)>;

// 1.2, 1.1, 1.0: the default of ClientOptions::versions.
std::vector<Version> allVersions();

struct ClientOptions {
  std::string brokerURL;                 // required
  std::vector<Version> versions = allVersions();
  Headers connectHeaders;                // login, passcode, host and any custom header
  bool useStompCommand = false;
  Millis heartbeatIncoming{10000};       // 0 disables
  Millis heartbeatOutgoing{10000};       // 0 disables
  double heartbeatToleranceMultiplier = 2.0;  // > 1: silence limit = negotiated incoming x this
  Millis connectionTimeout{10000};       // whole attempt (beforeConnect, open, CONNECTED); 0 = none
  Millis receiptTimeout{30000};          // publish with receipt; 0 = none
  Millis disconnectTimeout{5000};        // graceful deactivate waits this long for the DISCONNECT receipt; 0 = no limit
  ReconnectOptions reconnect;
  OfflineQueueOptions offlineQueue;
  bool splitLargeFrames = false;
  std::size_t maxWebSocketChunkSize = 8 * 1024;
  std::size_t maxIncomingFrameSize = 1024 * 1024;  // bigger frames close the connection (frame_too_large)
  BeforeConnect beforeConnect;
};

// Checks every option. `what` (if given) receives the name of the first bad option.
std::error_code validate(const ClientOptions& options, std::string* what = nullptr);

// Delay before reconnect attempt `failures` (1 = after the first failure) with full jitter:
// random * min(maxDelay, initialDelay * multiplier^(failures-1)), random in [0, 1).
Millis backoffDelay(const ReconnectOptions& options, std::uint32_t failures, double random) noexcept;

// ---------------------------------------------------------------------------------------------
// State and events

enum class ClientState : std::uint8_t { inactive, connecting, connected, reconnecting, deactivating, failed };
std::string_view toString(ClientState s) noexcept;

struct StateChange {
  ClientState state;
  ClientState previous;
  std::error_code reason;               // why (failures, timeouts), empty for user-driven changes
  std::optional<Millis> nextAttemptAt;  // in `reconnecting`: scheduler time of the next attempt
};

struct CloseEvent {
  int code = 0;
  std::string reason;
  bool wasClean = false;
};

using ListenerId = std::uint64_t;

// The events of the on* listeners below, for the one-function event hook (Client::setEventHook). A
// frame event's views point into one block laid out by packFrame(): as on the wire, the header names and
// values follow each other (name, value, name, value...) and the body follows the last value (the wasm
// module hands that block to JS as it is).
enum class ClientEvent : std::uint8_t {
  connect,           // data: const FrameView* (the CONNECTED frame)
  disconnect,        // const std::error_code*
  stompError,        // const FrameView* (the ERROR frame)
  stateChange,       // const StateChange*
  webSocketClose,    // const CloseEvent*
  webSocketError,    // const std::error_code*
  unhandledMessage,  // const Message*
  unhandledReceipt,  // const FrameView* (the RECEIPT frame)
};

// A C-shaped alternative to the on* listeners for a binding that forwards every event elsewhere (the
// wasm module's C ABI): one plain function for all events, `data` pointing at the event's value (see
// ClientEvent), valid during the call. It costs no std::function per event, so a build that only uses
// the hook does not carry the listeners' machinery. Same guarantees as a listener (the hook may call any
// method, including deactivate() and destroying the Client); it runs before the listeners of the event.
using EventHook = void (*)(void* context, ClientEvent event, const void* data);

// ---------------------------------------------------------------------------------------------
// Handles

enum class PublishStatus : std::uint8_t {
  queued,     // in the offline queue
  sent,       // written, waiting for RECEIPT
  completed,  // written (no receipt) or confirmed by RECEIPT
  failed,     // see error()
};

// The result of publish(). Copyable; all copies share one state. The JS binding turns it into a Promise.
class PublishHandle {
 public:
  PublishHandle() = default;
  PublishStatus status() const noexcept;
  bool done() const noexcept;            // completed or failed
  std::error_code error() const noexcept;
  const std::string& receiptId() const noexcept;  // empty without receipt
  // Runs `fn` once when done (right away if already done). Not run if the client is destroyed first.
  void onComplete(std::function<void(std::error_code)> fn) const;
  explicit operator bool() const noexcept { return static_cast<bool>(state_); }

  // A handle that has already failed with `ec` (what publish returns for a refused message).
  static PublishHandle failed(std::error_code ec);

 private:
  friend class detail::ClientImpl;
  explicit PublishHandle(detail::Ref<detail::PublishState>&& s) : state_(std::move(s)) {}
  detail::Ref<detail::PublishState> state_;
};

// A received MESSAGE. The Message a callback receives may borrow the parsed frame instead of owning a
// copy (no copy for the common case of reading it inside the callback); copying the Message makes an
// owned copy, so a kept Message is always safe to use later.
class Message {
 public:
  Message() = default;
  Message(const Message& other);
  Message& operator=(const Message& other);
  ~Message() = default;
  // The frame as views: valid as long as this Message. Cheaper than frame() for a borrowed Message.
  // A copy is laid out as packFrame() lays it out (names, values and the body back to back); the Message
  // a callback receives lies where the parser left it.
  const FrameView& view() const noexcept;
  const Frame& frame() const noexcept;
  std::string_view body() const noexcept;
  const std::vector<Header>& headers() const noexcept;
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  std::string_view destination() const noexcept;
  std::string_view subscription() const noexcept;  // the subscription id
  std::string_view messageId() const noexcept;
  bool isBinary() const noexcept;  // arrived in a binary WebSocket message
  // From a client or client-individual subscription: ack() and nack() apply (for a binding that keeps
  // a copy of the Message only where it can be acknowledged).
  bool ackable() const noexcept;
  // ACK/NACK (client and client-individual subscriptions). Fails with invalid_state on an auto
  // subscription or when the message was already ACKed/NACKed outside a transaction, connection_closed
  // when the connection it came on is gone (the broker redelivers).
  std::error_code ack(const Headers& headers = {}) const;
  std::error_code nack(const Headers& headers = {}) const;
  explicit operator bool() const noexcept { return static_cast<bool>(state_); }

 private:
  friend class detail::ClientImpl;
  friend class Transaction;
  explicit Message(detail::Ref<const detail::MessageState> s) : state_(std::move(s)) {}
  static detail::Ref<const detail::MessageState> keep(const detail::Ref<const detail::MessageState>& s);
  detail::Ref<const detail::MessageState> state_;
};

using MessageCallback = std::function<void(const Message&)>;

class Subscription {
 public:
  Subscription() = default;
  const std::string& id() const noexcept { return id_; }
  const std::string& destination() const noexcept { return destination_; }
  std::error_code error() const noexcept { return error_; }  // why subscribe() refused, if it did
  bool active() const noexcept;
  // Sends UNSUBSCRIBE when connected; offline it only forgets the subscription. Either way no message
  // is delivered to it afterwards. invalid_state if already unsubscribed or the client is gone.
  std::error_code unsubscribe(const Headers& headers = {});

 private:
  friend class detail::ClientImpl;
  Subscription(const detail::Ref<detail::ClientLink>& c, std::string&& id, std::string&& dest, std::error_code ec)
      : client_(c), id_(std::move(id)), destination_(std::move(dest)), error_(ec) {}
  detail::Ref<detail::ClientLink> client_;  // reaches the client while it exists
  std::string id_;
  std::string destination_;
  std::error_code error_;
};

struct PublishParams {
  std::string destination;
  std::string body;
  Headers headers;            // content-type etc.; destination/content-length are set by the client
  bool binary = false;        // send as a binary WebSocket message
  bool receipt = false;       // track with a receipt: at-least-once across reconnects
  bool skipContentLengthHeader = false;
};

// A transaction on the current connection. A reconnect ends it (the broker aborts it): further calls
// fail with connection_closed.
class Transaction {
 public:
  Transaction() = default;
  const std::string& id() const noexcept { return id_; }
  std::error_code error() const noexcept { return error_; }  // why begin() failed, if it did
  // Never queued: fails when not connected. By rvalue reference as Client::publish.
  PublishHandle publish(PublishParams&& params);
  PublishHandle publish(const PublishParams& params) { return publish(PublishParams(params)); }
  std::error_code ack(const Message& message, const Headers& headers = {});
  std::error_code nack(const Message& message, const Headers& headers = {});
  std::error_code commit();
  std::error_code abort();

 private:
  friend class detail::ClientImpl;
  Transaction(const detail::Ref<detail::ClientLink>& c, std::string&& id, std::uint64_t connection, std::error_code ec)
      : client_(c), id_(std::move(id)), connection_(connection), error_(ec) {}
  detail::Ref<detail::ClientLink> client_;  // reaches the client while it exists
  std::string id_;
  std::uint64_t connection_ = 0;
  std::error_code error_;
  bool finished_ = false;
};

struct Metrics {
  ClientState state = ClientState::inactive;
  std::uint64_t attempts = 0;        // connection attempts started
  std::uint64_t reconnects = 0;      // attempts started by the reconnect policy
  std::uint64_t connects = 0;        // CONNECTED frames received
  std::uint32_t consecutiveFailures = 0;
  std::uint64_t framesIn = 0, framesOut = 0;
  std::uint64_t bytesIn = 0, bytesOut = 0;
  std::uint64_t heartbeatsIn = 0, heartbeatsOut = 0;
  std::size_t queueDepth = 0, queueBytes = 0;
  std::size_t pendingReceipts = 0;
  std::size_t subscriptions = 0;
  std::optional<Millis> lastReceivedAt;  // scheduler time of the last bytes (frame or heart-beat)
  std::optional<Millis> lastReceiptRtt;  // SEND-with-receipt to RECEIPT
  std::optional<Millis> nextAttemptAt;
  std::error_code lastError;
};

// ---------------------------------------------------------------------------------------------
// Client

class Client;

struct ClientCreateResult {
  std::unique_ptr<Client> client;  // null on error
  std::error_code error;
  std::string what;                // the bad option
};

// Returns a number in [0, 1). Injected so that tests and simulations are deterministic.
using RandomSource = std::function<double()>;

struct DeactivateOptions {
  bool force = false;  // close the transport now instead of DISCONNECT + receipt
};

class Client {
 public:
  // Validates the options (invalid_argument, with the option's name in `what`). The factory makes
  // one transport per attempt; `random` may be empty (then no jitter: the full delay is used).
  // The options by rvalue reference: moved once, into the client (a by-value parameter would be moved
  // and destroyed once more at every call). The const& overload copies them first.
  static ClientCreateResult create(ClientOptions&& options, TransportFactory factory, Scheduler& scheduler,
                                   RandomSource random);
  static ClientCreateResult create(const ClientOptions& options, TransportFactory factory, Scheduler& scheduler,
                                   RandomSource random) {
    return create(ClientOptions(options), std::move(factory), scheduler, std::move(random));
  }
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts connecting (from inactive or failed); otherwise does nothing.
  void activate();
  // Stops: graceful DISCONNECT + receipt when connected, else at once. Pending receipts and the offline
  // queue fail with `deactivated`. `done` runs once the client is inactive.
  void deactivate(DeactivateOptions options = {}, std::function<void()> done = {});

  ClientState state() const noexcept;
  bool connected() const noexcept { return state() == ClientState::connected; }
  // Takes effect at the next attempt (e.g. from beforeConnect after refreshing a token).
  void setConnectHeaders(Headers headers);
  // As given to create(), but for connectHeaders: the ones the next attempt sends (setConnectHeaders).
  const ClientOptions& options() const noexcept;
  Metrics metrics() const;

  // Subscriptions live until unsubscribed: re-sent with the same id on every CONNECTED. `headers` may
  // carry `id` (else "sub-N") and `ack` (auto, client, client-individual).
  Subscription subscribe(std::string destination, MessageCallback onMessage, Headers headers = {});

  // Sends now when connected; otherwise (inactive, connecting, reconnecting, failed) queues it, bounded
  // by offlineQueue (queue_full when full: never a silent drop), and flushes in order after the next
  // CONNECTED. While deactivating: fails with `deactivated`. Refusals come back as an already-failed
  // handle (check handle.error()).
  // By rvalue reference: moved once, into the client (a by-value parameter is moved and destroyed once
  // more at every call). The const& overload copies first.
  PublishHandle publish(PublishParams&& params);
  PublishHandle publish(const PublishParams& params) { return publish(PublishParams(params)); }

  // BEGIN now; a transaction needs a connection (not_connected otherwise, see Transaction::error()).
  Transaction begin(std::string id = {});

  // Events; each returns an id for removeListener(). Any number of listeners per event.
  ListenerId onConnect(std::function<void(const Frame& connected)> fn);
  // A connected session ended: empty error for a graceful DISCONNECT, else why.
  ListenerId onDisconnect(std::function<void(std::error_code)> fn);
  ListenerId onStompError(std::function<void(const Frame& error)> fn);
  ListenerId onStateChange(std::function<void(const StateChange&)> fn);
  ListenerId onWebSocketClose(std::function<void(const CloseEvent&)> fn);
  ListenerId onWebSocketError(std::function<void(std::error_code)> fn);
  ListenerId onUnhandledMessage(MessageCallback fn);
  ListenerId onUnhandledReceipt(std::function<void(const Frame& receipt)> fn);
  bool removeListener(ListenerId id);
  // Replaces the event hook (null: none). `context` is handed back to it.
  void setEventHook(EventHook hook, void* context = nullptr);

 private:
  explicit Client(detail::ClientImpl* impl);
  detail::Ref<detail::ClientImpl> impl_;
};

}  // namespace stompwire
