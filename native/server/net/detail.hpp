// Internal to native/server/net: the state shared by the listener, HTTP sessions and WebSocket
// sessions. Includes Asio/Beast: never include it from headers outside net/.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "broker/broker.hpp"
#include "config.hpp"
#include "metrics/metrics.hpp"
#include "security/jwt.hpp"
#include "security/origin.hpp"

namespace stompwire::server::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;

enum class Level { debug, info, warn, error };
// One JSON object per line on stderr: {"ts":"...","level":"info","event":"...", fields...}.
void log(Level level, std::string_view event, std::initializer_list<std::pair<std::string_view, std::string>> fields = {});
void setLogLevel(Level level);

// A live WebSocket connection as the broker host sees it. Every method may be called from any
// thread (under State::mu); implementations post to their own strand.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void deliver(std::string data) = 0;
  virtual void closeAfterFlush(int code, std::string reason) = 0;
  virtual void abort() = 0;
};

using ConnectionMap = std::unordered_map<SessionId, std::shared_ptr<Connection>>;

class ConnHost final : public BrokerHost {
 public:
  explicit ConnHost(ConnectionMap& conns) : conns_(conns) {}
  void send(SessionId id, std::string data) override {
    if (auto it = conns_.find(id); it != conns_.end()) it->second->deliver(std::move(data));
  }
  void close(SessionId id, int code, std::string_view reason) override {
    if (auto it = conns_.find(id); it != conns_.end()) it->second->closeAfterFlush(code, std::string(reason));
  }

 private:
  ConnectionMap& conns_;
};

class SockJsRegistry;

struct State {
  State(ServerConfig c, asio::io_context& io);

  ServerConfig config;
  asio::io_context& ioc;
  Metrics metrics;
  OriginPolicy origins;
  JwtPolicy jwt;
  std::optional<asio::ssl::context> ssl;

  std::mutex mu;  // guards conns and broker
  ConnectionMap conns;
  ConnHost host{conns};
  Broker broker;

  std::atomic<std::size_t> wsCount{0};       // upgrades accepted and not yet finished
  std::atomic<bool> shuttingDown{false};
  std::atomic<std::int64_t> stallUntilMs{0};  // fault injection: no writes before this steady time
  std::function<void()> onDrained;            // called (posted) when the last connection is gone during shutdown
  // SockJS sessions by id. Shared with every session (which may outlive State inside a handler the
  // io_context destroys last); the server empties it while its io_context is still alive.
  std::shared_ptr<SockJsRegistry> sockjs;

  static Millis now() {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
  }
};

// http_session.cpp: serves one accepted TCP connection (TLS first when configured).
void startHttp(State& state, tcp::socket socket);
// ws_plain.cpp / ws_tls.cpp: completes the upgrade and runs the STOMP session.
void startPlainWebSocket(State& state, beast::tcp_stream stream, Request req, SessionInfo info, std::string subprotocol);
void startTlsWebSocket(State& state, beast::ssl_stream<beast::tcp_stream> stream, Request req, SessionInfo info,
                       std::string subprotocol);

}  // namespace stompwire::server::net
