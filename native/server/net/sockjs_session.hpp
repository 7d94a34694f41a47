// SockJS sessions (https://github.com/sockjs/sockjs-protocol): one SockJsSession is one STOMP
// connection to the broker, exactly like a WebSocket session (a Connection in State::conns), but its
// bytes travel over a sequence of HTTP requests ("receivers": a streaming response, one poll, or a
// framed WebSocket). Internal to native/server/net; includes Asio, never Beast.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/detail.hpp"

namespace stompwire::server::net {

enum class SockJsTransport : int { websocket, xhrStreaming, xhrPolling, eventsource, htmlfile, jsonp, count };
const char* sockJsTransportName(SockJsTransport t);

// How a receiver ends: polling receivers after one frame, streaming ones after a byte limit.
inline bool sockJsIsPolling(SockJsTransport t) { return t == SockJsTransport::xhrPolling || t == SockJsTransport::jsonp; }

// One HTTP response (or a WebSocket) that carries frames to the client. The session calls it on the
// session's strand; implementations post to their own executor.
class SockJsReceiver {
 public:
  virtual ~SockJsReceiver() = default;
  // Writes one SockJS frame ("o", "h", "a[...]", "c[...]"). After `last`, the receiver ends its
  // response (or WebSocket) once everything is written; the session has already forgotten it.
  virtual void sendFrame(std::string frame, bool last) = 0;
  // Closes the underlying socket now (fault injection, shutdown deadline, slow consumer).
  virtual void abortConnection() = 0;
};

// JSON string literal of `s` the way sockjs-node quotes messages: control characters, U+2028/2029
// and the other code points some browsers mangle as \uXXXX. Invalid UTF-8 becomes U+FFFD (SockJS
// carries text only).
std::string sockJsQuote(std::string_view s);
// Parses a client payload: a JSON array of strings (xhr_send, jsonp_send, websocket), or for the
// websocket transport also a single JSON string. nullopt when it is anything else.
std::optional<std::vector<std::string>> sockJsParseMessages(std::string_view payload, bool allowSingleString);
std::string sockJsCloseFrame(int code, std::string_view reason);

class SockJsRegistry;

class SockJsSession final : public Connection, public std::enable_shared_from_this<SockJsSession> {
 public:
  SockJsSession(State& st, std::string key, SockJsTransport firstTransport, std::string remote);
  ~SockJsSession() override;

  // Registers with the broker (under State::mu). False when the server is shutting down.
  bool openBroker(SessionInfo info);
  const std::string& key() const { return key_; }
  // The peer that created the session. Session ids are chosen by clients, so later requests must come
  // from the same address (behind a proxy that is the proxy: no worse than plain SockJS).
  const std::string& remote() const { return remote_; }

  // A receiver wants this session's frames. Sends "o" first on a new session, "c[2010,...]" when
  // another receiver is attached, or the close frame when the session is closing.
  void attach(std::shared_ptr<SockJsReceiver> recv, SockJsTransport transport);
  // The receiver's connection ended before the session let it go (the client went away).
  void receiverGone(SockJsReceiver* recv);
  // Messages from the client (each one a STOMP chunk for the broker). Any thread.
  void receive(const std::vector<std::string>& messages);
  // A receiver finished writing the frame it got with `last` (or failed to). During a broker-side
  // close the session stays a Connection until then, so a graceful shutdown waits for "c[...]".
  void lastFrameWritten();

  // Connection (called under State::mu by the broker host, or by admin code)
  void deliver(std::string data) override;
  void closeAfterFlush(int code, std::string reason) override;
  void abort() override;

 private:
  void onDeliver(std::string data);
  void flush();
  void sendToReceiver(std::string frame, bool forceLast = false);
  void armTimeout();
  void armHeartbeat();
  void beginClose(int code, std::string reason);  // broker side already gone
  void leaveBroker(bool tellBroker);              // conns/broker/counters, once
  void terminate();                               // leaveBroker + forget in registry, once

  State& st_;
  std::shared_ptr<SockJsRegistry> reg_;  // outlives State when a pending handler holds the session
  std::string remote_;
  std::string key_;  // empty for websocket sessions (not addressable by later requests)
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timeout_, heartbeat_;
  SockJsTransport transport_;
  SessionId id_ = 0;
  std::atomic<bool> inBroker_{false};
  std::shared_ptr<SockJsReceiver> recv_;
  SockJsTransport recvTransport_ = SockJsTransport::xhrStreaming;
  std::size_t recvBytes_ = 0;
  std::deque<std::string> pending_;
  std::size_t pendingBytes_ = 0;
  std::string closeFrame_;
  bool openSent_ = false, closing_ = false, terminated_ = false, leavePending_ = false;
};

// Sessions by id, and SockJS counters for /metrics. One per server (State::sockjs).
class SockJsRegistry {
 public:
  std::shared_ptr<SockJsSession> find(const std::string& key);
  // Creates and registers a session under `key` unless one exists; returns {session, created}.
  std::pair<std::shared_ptr<SockJsSession>, bool> findOrCreate(State& st, const std::string& key, SockJsTransport t,
                                                                   const std::string& remote);
  void erase(const std::string& key, const SockJsSession* s);
  std::size_t size();
  // Drops every session (the server's shutdown, while timers' io_context still exists).
  void clear();

  std::array<std::atomic<std::uint64_t>, static_cast<int>(SockJsTransport::count)> opened{};  // sessions by first transport
  std::array<std::atomic<std::uint64_t>, static_cast<int>(SockJsTransport::count)> requests{};  // receivers attached
  std::atomic<std::int64_t> current{0};   // session objects alive (including closing ones)
  std::atomic<std::uint64_t> timeouts{0};  // sessions ended because no receiver came back in time
  std::atomic<std::uint64_t> badRequests{0};

  std::string render();

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<SockJsSession>> sessions_;
};

SockJsRegistry& sockJsRegistry(State& st);
// The Prometheus lines appended to /metrics.
std::string renderSockJsMetrics(State& st);

}  // namespace stompwire::server::net
