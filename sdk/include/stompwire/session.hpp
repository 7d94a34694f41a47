// The STOMP client session: a state machine for one connection, in the style of nghttp2's session.
// Inputs are the bytes the transport received, the current time and commands; outputs are the
// WebSocket messages, handed to the transport's send() as each frame is written, events, handed to the
// listener as each frame is parsed, and the next deadline. Events come only from inside receive() and
// tick(), never from a command, and each one after the session's state took it in (a CONNECTED frame is
// negotiated, an ERROR frame has closed the session), so the listener may call commands (ACK, SEND,
// DISCONNECT) from inside it; a transport never calls back from inside send() (transport.hpp). Handing
// out views where the parser found them, rather than queueing copies for the owner to pull, saves a
// copy of every frame, the buffer and the code that walks it.
//
// One Session serves one connection attempt. What must survive reconnects (subscriptions, queued and
// unconfirmed publishes) lives in the Client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "stompwire/error.hpp"
#include "stompwire/frame.hpp"
#include "stompwire/parser.hpp"
#include "stompwire/transport.hpp"

namespace stompwire {

namespace detail {
class FrameWriter;
}

// Negotiated heart-beat periods; 0 means "none in that direction".
struct Heartbeat {
  Millis send{0};    // client -> server: send something at least this often
  Millis expect{0};  // server -> client: the server promised something at least this often
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// STOMP 1.1 "Heart-beating": each direction is the max of what one side can do and the other wants,
// and 0 on either side disables it. STOMP 1.0 has no heart-beats.
Heartbeat negotiateHeartbeat(Version version, Millis clientSend, Millis clientReceive, Millis serverSend,
                             Millis serverReceive) noexcept;

// Parses a heart-beat header value "cx,cy". Returns nothing when malformed.
struct HeartbeatPair {
  Millis first{0};
  Millis second{0};
};
std::optional<HeartbeatPair> parseHeartbeat(std::string_view value) noexcept;

// The STOMP sub-protocol name of a version ("v12.stomp").
std::string_view subprotocolFor(Version v) noexcept;

// The offered versions when SessionOptions names none other: 1.2, 1.1, 1.0.
inline constexpr Version kSessionVersions[] = {Version::v1_2, Version::v1_1, Version::v1_0};

struct SessionEvent {
  enum class Type : std::uint8_t {
    connected,     // frame = CONNECTED
    message,       // frame = MESSAGE
    receipt,       // frame = RECEIPT (not the DISCONNECT receipt)
    error,         // frame = ERROR; the session is closed
    disconnected,  // the DISCONNECT receipt arrived; the session is closed
    failed,        // error = why (parser error, protocol_error, heartbeat_timeout, unsupported_version);
                   // no frame; the session is closed
  };
  Type type = Type::failed;
  // Points into the parser's buffer or the bytes being received: valid during the call only (toFrame()
  // copies it).
  FrameView frame;
  std::error_code error;
};

// Receives a session's events. Implemented by the core (the Client); from inside onEvent() it must not
// call the session's receive() or tick() nor destroy the session.
class SessionListener {
 public:
  virtual void onEvent(const SessionEvent& event) = 0;

 protected:
  ~SessionListener() = default;
};

// Views, not copies: a Session is built for every connection attempt from options its owner keeps (the
// Client's own, for its lifetime), so copying lists and strings into each one would be wasted work and
// code. What they point to must outlive the Session; connectHeaders is read by start() only.
struct SessionOptions {
  // Offered versions, any order; accept-version lists them all and the parser starts at the highest.
  std::span<const Version> versions = kSessionVersions;
  // CONNECT headers after accept-version and heart-beat: host (RabbitMQ reads it as the vhost), login,
  // passcode and any other. One list, as the client's connectHeaders: no separate fields to write.
  std::span<const Header> connectHeaders;
  // Where the WebSocket messages go. None: they are dropped (a session driven for its input only).
  Transport* transport = nullptr;
  // Where the events go. None: they are dropped.
  SessionListener* listener = nullptr;
  bool useStompCommand = false;        // send STOMP instead of CONNECT (1.1+ servers)
  Millis heartbeatOutgoing{10000};     // what we offer to send (cx)
  Millis heartbeatIncoming{10000};     // what we want to receive (cy)
  double heartbeatToleranceMultiplier = 2.0;  // incoming silence limit = expect x this
  ParserLimits limits{};
  // Text frames larger than the chunk size go out as several WebSocket messages (for endpoints with a
  // message-size limit); STOMP frames may span messages, so the server reassembles them.
  bool splitLargeFrames = false;
  std::size_t maxWebSocketChunkSize = 8 * 1024;
};

enum class SessionState : std::uint8_t {
  idle,           // nothing sent yet
  connecting,     // CONNECT sent, waiting for CONNECTED
  connected,
  disconnecting,  // DISCONNECT sent, waiting for its receipt
  closed,         // finished: DISCONNECT receipt, ERROR frame or failure; input is ignored
};

struct SessionCounters {
  std::uint64_t framesIn = 0;
  std::uint64_t framesOut = 0;
  std::uint64_t bytesIn = 0;
  std::uint64_t bytesOut = 0;
  std::uint64_t heartbeatsIn = 0;
  std::uint64_t heartbeatsOut = 0;
};

// What to send a frame with.
struct SendOptions {
  bool binary = false;         // a binary WebSocket message (never split)
  bool contentLength = true;   // write content-length (always written when the body holds a NUL)
};

// No virtual functions on purpose: sdk/ is built without RTTI, and a class with a key function here
// would leave RTTI-enabled code (UBSan's vptr checks, native/) without its typeinfo.
class Session final {
 public:
  explicit Session(const SessionOptions& options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = default;
  Session& operator=(Session&&) = default;

  SessionState state() const noexcept { return state_; }
  // The negotiated version (valid once connected; before, the highest offered).
  Version version() const noexcept { return version_; }
  Heartbeat heartbeat() const noexcept { return heartbeat_; }
  // Why the session closed, if it failed.
  std::error_code error() const noexcept { return error_; }
  const SessionCounters& counters() const noexcept { return counters_; }
  // When bytes last arrived (any bytes: frames, partial frames or heart-beats).
  std::optional<Millis> lastReceived() const noexcept { return lastReceived_; }
  const SessionOptions& options() const noexcept { return options_; }

  // Sends CONNECT (or STOMP). Only from idle.
  std::error_code start(Millis now);
  // Bytes from the transport: parsed into events.
  void receive(std::string_view data, Millis now);
  // Heart-beats: sends an EOL when we were quiet for too long, fails on incoming silence.
  void tick(Millis now);
  // Moves the clock used to stamp outgoing traffic (for heart-beat accounting) without side effects.
  void updateTime(Millis now) noexcept {
    if (now > now_) now_ = now;
  }
  // When tick() has something to do next, if anything.
  std::optional<Millis> nextDeadline() const noexcept;

  // Commands; each fails with not_connected unless connected (DISCONNECT also from connecting is not
  // allowed: there is nothing to disconnect gracefully yet).
  std::error_code subscribe(std::string_view id, std::string_view destination, std::string_view ackMode,
                            const std::vector<Header>& headers);
  std::error_code unsubscribe(std::string_view id, const std::vector<Header>& headers);
  // `trailing` headers go after `headers` (the client's transaction and receipt).
  std::error_code send(std::string_view destination, std::string_view body, const std::vector<Header>& headers,
                       SendOptions options = {}, std::span<const HeaderView> trailing = {});
  // ACK/NACK a MESSAGE frame: `id` from its ack header in 1.2, message-id (+ subscription in 1.1) before.
  std::error_code ack(const Frame& message, std::string_view transaction, const std::vector<Header>& headers);
  std::error_code nack(const Frame& message, std::string_view transaction, const std::vector<Header>& headers);
  // ack() or nack() (with `nack`) of a MESSAGE frame as views.
  std::error_code acknowledge(const FrameView& message, bool nack, std::string_view transaction,
                              const std::vector<Header>& headers);
  std::error_code begin(std::string_view transaction);
  std::error_code commit(std::string_view transaction);
  std::error_code abort(std::string_view transaction);
  std::error_code endTransaction(bool commit, std::string_view transaction);  // commit() or abort()
  std::error_code disconnect(std::string_view receiptId);
  // Any frame, serialized with the negotiated version.
  std::error_code sendFrame(const Frame& frame, SendOptions options = {});

 private:
  struct ParserSink;
  friend struct ParserSink;
  void onFrame(const FrameView& frame);
  std::error_code negotiate(const FrameView& connected);  // CONNECTED: version and heart-beats
  void onHeartbeat();
  void fail(std::error_code ec);
  // Inlined into its two callers (onFrame, fail): -37 B raw, -15 B gz in the wasm module.
  [[gnu::always_inline]] void report(SessionEvent::Type type, const FrameView& frame, std::error_code ec) {
    if (options_.listener) options_.listener->onEvent(SessionEvent{type, frame, ec});
  }
  detail::FrameWriter writer(std::string_view command);  // a frame in out_ (emptied first)
  // Finishes the frame `w` wrote and sends it.
  std::error_code emit(detail::FrameWriter& w, std::string_view body, SendOptions options);
  std::error_code emit(detail::FrameWriter& w);  // a frame without a body (nor content-length)
  // Sends the frame in out_ unless writing it failed (`ec`): counted, cut in chunks if asked.
  std::error_code transmit(std::error_code ec, bool binary);
  std::error_code transactionFrame(std::string_view command, std::string_view transaction);
  template <class Message>
  std::error_code ackOrNack(bool nack, const Message& message, std::string_view transaction,
                            const std::vector<Header>& headers);
  bool offers(Version v) const noexcept { return offered_ >> static_cast<int>(v) & 1; }

  SessionOptions options_;
  FrameParser parser_;
  // Here, not among the members below, which all start as zero bytes (one fill in the constructor): an
  // error code starts with its category's address.
  std::error_code error_;
  SessionState state_ = SessionState::idle;
  Version version_;
  std::uint8_t offered_ = 0;  // bit v: Version v is offered (the options' list, looked up in one step)
  Heartbeat heartbeat_{};
  Millis silenceLimit_{0};  // incoming silence that fails the session: heartbeat_.expect x the tolerance
  SessionCounters counters_{};
  Millis now_{0};
  Millis lastSent_{0};
  std::optional<Millis> lastReceived_;
  std::string disconnectReceipt_;
  std::string out_;  // the frame being written (reused: no allocation per frame once it has grown)
};

}  // namespace stompwire
