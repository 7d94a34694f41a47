// stompwire-server's configuration: command-line flags (CLI11) over an optional JSON file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker.hpp"

namespace stompwire::server {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 61613;
  std::vector<std::string> users;            // "name:passcode"
  std::string jwtSecret;
  std::string jwtAudience = "stompwire";     // empty: aud not checked
  std::string jwtIssuer;                     // empty: iss not checked
  std::int64_t jwtLeewaySeconds = 30;
  bool allowAnonymous = false;
  std::vector<std::string> allowOrigins;     // patterns; same-origin is always allowed
  std::string tlsCert, tlsKey;
  bool faultInjection = false;
  std::string staticDir;                     // serve files from here at / (examples)
  unsigned threads = 1;
  std::size_t maxConnections = 10000;
  std::size_t maxFrameSize = 64 * 1024;
  std::size_t sendBufferLimit = 512 * 1024;
  std::int64_t sendTimeoutMs = 20000;
  std::int64_t handshakeTimeoutMs = 10000;
  std::size_t maxHeaderSize = 8 * 1024;
  std::int64_t heartbeatSendMs = 10000;
  std::int64_t heartbeatReceiveMs = 10000;
  std::string rateLimitUser = "10000/1";     // messages/seconds, 0 disables
  std::string rateLimitIp = "20000/1";
  std::int64_t shutdownTimeoutMs = 5000;
  std::size_t maxQueueDepth = 10000;
  std::size_t maxSubscriptions = 1024;
  std::string logLevel = "info";
  // SockJS endpoint (/sockjs): heart-beat frame interval, how long a session waits for the client's
  // next request, bytes per streaming response before the client must reopen it, WebSocket offered.
  std::int64_t sockjsHeartbeatMs = 25000;
  std::int64_t sockjsSessionTimeoutMs = 5000;
  std::size_t sockjsResponseLimit = 128 * 1024;
  bool sockjsWebsocket = true;
  std::string sockjsClientUrl = "https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js";  // for iframe.html

  bool tls() const { return !tlsCert.empty(); }
  bool authConfigured() const { return !users.empty() || !jwtSecret.empty(); }
};

// "10/60" -> 10 messages per 60 s; "0" -> disabled. nullopt when malformed.
std::optional<RateLimit> parseRateLimit(const std::string& text);
bool isLoopbackHost(const std::string& host);

struct ParseResult {
  std::optional<ServerConfig> config;  // nullopt: exit with `exitCode` after printing `output`
  int exitCode = 0;
  std::string output;                  // help text or error message
};

ParseResult parseCommandLine(int argc, const char* const* argv);

// Checks cross-field rules (TLS needs cert and key, anonymous only on loopback...). Empty when valid.
std::string validate(const ServerConfig& config);

// Builds the broker's part of the configuration (assumes validate() passed).
BrokerConfig brokerConfig(const ServerConfig& config);

}  // namespace stompwire::server
