// A blocking WebSocket + STOMP client for integration tests, with a deadline on every step.
// Beast stays inside ws_client.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stompwire/frame.hpp"

namespace stompwire::test {

using namespace std::chrono_literals;

struct WsOptions {
  std::string target = "/ws";
  std::vector<std::pair<std::string, std::string>> headers;  // extra handshake headers (Origin, Authorization)
  std::string subprotocols = "v12.stomp, v11.stomp, v10.stomp";
  bool tls = false;
  int receiveBuffer = 0;  // SO_RCVBUF before connecting (slow-consumer tests)
};

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Returns the handshake's HTTP status: 101 when upgraded, the refusal status otherwise
  // (responseBody() then holds the body), 0 when no HTTP answer came.
  int connect(const std::string& host, std::uint16_t port, const WsOptions& options = {},
              std::chrono::milliseconds timeout = 5s);
  const std::string& responseBody() const;
  std::string subprotocol() const;

  bool send(std::string_view data, bool binary = false, std::chrono::milliseconds timeout = 5s);
  bool sendFrame(const Frame& frame, std::chrono::milliseconds timeout = 5s);

  // Next STOMP frame (heart-beat EOLs are counted, not returned). nullopt on timeout or close.
  std::optional<Frame> readFrame(std::chrono::milliseconds timeout = 5s);
  // Reads until a frame with this command arrives (others are dropped).
  std::optional<Frame> readUntil(std::string_view command, std::chrono::milliseconds timeout = 5s);
  // Reads (and discards frames) until the server closes; returns the close code (1006 when the
  // connection ended without a close frame), or nullopt on timeout.
  std::optional<int> waitClosed(std::chrono::milliseconds timeout = 5s);
  std::string closeReason() const;
  std::size_t heartbeats() const;
  bool isOpen() const;

  // CONNECT and wait for CONNECTED (or ERROR): returns the frame.
  std::optional<Frame> stompConnect(const std::vector<Header>& headers = {}, std::chrono::milliseconds timeout = 5s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string jsonField(const std::string& json, const std::string& field);

}  // namespace stompwire::test
