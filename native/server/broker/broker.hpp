// The broker core of stompwire-server: sans-I/O, in the style of the client Session. It owns every
// STOMP session's protocol state (negotiation, subscriptions, pending acks, transactions, heart-beat
// accounting, rate limits) and routes messages between them. It never touches a socket, a clock or a
// thread: the network layer feeds it bytes with the current time and carries out what it asks
// through BrokerHost. Not thread-safe: the host serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stompwire/frame.hpp"
#include "stompwire/parser.hpp"

namespace stompwire::server {

using SessionId = std::uint64_t;
using Millis = std::chrono::milliseconds;

// Glob over destinations: '*' matches any run of characters (including none).
bool globMatch(std::string_view pattern, std::string_view text) noexcept;

// What a session may read (SUBSCRIBE) and write (SEND). Unrestricted unless a token or the user list
// says otherwise. Patterns are globs ("/topic/room.*").
struct Permissions {
  bool restricted = false;
  std::vector<std::string> read;
  std::vector<std::string> write;

  bool canRead(std::string_view destination) const noexcept;
  bool canWrite(std::string_view destination) const noexcept;
};

// An identity established before STOMP starts (JWT at the WebSocket handshake).
struct Principal {
  std::string user;
  Permissions permissions;
};

struct SessionInfo {
  std::string remoteAddress;              // the peer's IP, for per-IP rate limits and logs
  std::optional<Principal> principal;     // set when the handshake authenticated the peer
};

// Token bucket: `messages` per `period`, bursting up to `messages`. messages == 0 disables it.
struct RateLimit {
  std::uint32_t messages = 0;
  Millis period{1000};
};

struct BrokerConfig {
  ParserLimits parser = defaultParserLimits();
  // login -> passcode. When non-empty, a CONNECT without a handshake principal must match one.
  std::map<std::string, std::string, std::less<>> users;
  // Server's heart-beat offer (CONNECTED heart-beat: sx,sy). 0 disables that direction.
  Millis heartbeatSend{10000};
  Millis heartbeatReceive{10000};
  // A client that sends nothing for (negotiated interval x tolerance) is dropped.
  double heartbeatTolerance = 2.0;
  // A connection that has not sent CONNECT by then is closed.
  Millis connectTimeout{10000};
  RateLimit perUser{10000, Millis{1000}};
  RateLimit perIp{20000, Millis{1000}};
  std::size_t maxSubscriptionsPerSession = 1024;
  std::size_t maxQueueDepth = 10000;          // messages waiting in one /queue/* without a consumer
  std::size_t maxTransactionFrames = 1000;    // frames buffered in one transaction
  std::size_t maxTransactions = 16;           // open transactions per session
  std::string serverName = "stompwire-server/0.1";
  // Unix time in ms for server timestamps (chat). Injected so tests are deterministic.
  std::function<std::int64_t()> wallClock;

  static ParserLimits defaultParserLimits() {
    ParserLimits l;
    l.maxFrameSize = 64 * 1024;
    l.maxBodySize = 64 * 1024;
    l.maxHeaders = 64;
    l.maxHeaderLine = 8 * 1024;
    return l;
  }
};

// WebSocket close codes the broker asks for.
inline constexpr int kCloseNormal = 1000;
inline constexpr int kCloseGoingAway = 1001;
inline constexpr int kCloseProtocolError = 1002;
inline constexpr int kClosePolicy = 1008;
inline constexpr int kCloseTooBig = 1009;

// What the broker asks of the network layer. Calls come from inside Broker's methods; the host must
// only queue work (never call back into the broker synchronously).
class BrokerHost {
 public:
  // Queue bytes (whole STOMP frames, or a heart-beat EOL) for the session's connection.
  virtual void send(SessionId id, std::string data) = 0;
  // Flush what is queued, then close the connection. The broker has already forgotten the session.
  virtual void close(SessionId id, int wsCode, std::string_view reason) = 0;

 protected:
  ~BrokerHost() = default;
};

// Server-side code behind /app/* destinations.
class AppContext {
 public:
  virtual const std::string& user() const = 0;
  virtual SessionId session() const = 0;
  virtual std::int64_t wallClockMs() const = 0;
  // Routes a message as if a client had sent it (to /topic/*, /queue/* or /user/<name>/queue/*).
  virtual void publish(std::string_view destination, std::string body,
                       std::string_view contentType = "application/json") = 0;
  // Delivers to the calling session's own subscriptions on `destination` (e.g. /user/queue/echo).
  virtual void reply(std::string_view destination, std::string body, std::string_view contentType) = 0;

 protected:
  ~AppContext() = default;
};

class AppHandler {
 public:
  virtual ~AppHandler() = default;
  // Returns an error message to send as ERROR (the session is then closed), or nullopt on success.
  virtual std::optional<std::string> handle(AppContext& ctx, const FrameView& send) = 0;
};

struct BrokerStats {
  std::uint64_t framesIn = 0, framesOut = 0, bytesIn = 0, bytesOut = 0;
  std::uint64_t routedTopic = 0, routedQueue = 0, routedApp = 0, routedUser = 0;
  std::uint64_t deliveries = 0;        // MESSAGE frames sent
  std::uint64_t errorsSent = 0;        // ERROR frames sent
  std::uint64_t heartbeatTimeouts = 0;
  std::uint64_t connectTimeouts = 0;
  std::uint64_t rateLimited = 0;
  std::uint64_t authFailures = 0;
  std::uint64_t sessionsOpened = 0;
};

class Broker {
 public:
  Broker(BrokerConfig config, BrokerHost& host);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Registers a handler for one /app destination ("/app/echo"). Built-ins are registered by default.
  void addAppHandler(std::string destination, std::unique_ptr<AppHandler> handler);

  // A WebSocket connection was accepted. Returns the id the host uses from now on.
  SessionId open(SessionInfo info, Millis now);
  // Bytes of one WebSocket message.
  void receive(SessionId id, std::string_view data, Millis now);
  // The connection is gone (peer closed, error, slow consumer). Frees the session's state and
  // redelivers its unacked queue messages. Unknown ids are ignored.
  void disconnected(SessionId id);
  // Sends due heart-beats and drops silent peers. Returns the next time tick() has work, or
  // Millis::max() when none.
  Millis tick(Millis now);
  // Sends ERROR "server shutting down" to every session and asks the host to close them (1001).
  void shutdown();

  // Fault injection: stop sending heart-beats (clients then detect a dead server).
  void setHeartbeatsPaused(bool paused) noexcept;

  const BrokerStats& stats() const noexcept;
  std::size_t sessionCount() const noexcept;
  std::size_t subscriptionCount() const noexcept;
  std::size_t pendingAckCount() const noexcept;
  std::size_t queuedMessageCount() const noexcept;
  std::size_t rateBucketCount() const noexcept;
  const BrokerConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The built-in handlers (registered by Broker's constructor):
//  /app/echo        -> the body back to the sender's own subscriptions on /user/queue/echo
//  /app/chat.send   -> {"content", "room"?} stamped with sender + timestamp -> /topic/public or /topic/room.<room>
//  /app/chat.private-> {"recipient", "content"} stamped -> /user/<recipient>/queue/private (and a copy to
//                      the sender's /user/queue/private)
std::unique_ptr<AppHandler> makeEchoHandler();
std::unique_ptr<AppHandler> makeChatSendHandler();
std::unique_ptr<AppHandler> makeChatPrivateHandler();

}  // namespace stompwire::server
