// A small in-test WebSocket server (Beast), plain or TLS, on 127.0.0.1 with an ephemeral port. It runs
// on the test's io_context, so a test drives client and server with the same runUntil().
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace stompwire::test {

struct WsServerConfig {
  // Picks the first subprotocol the client offered that is in this list.
  std::vector<std::string> supported = {"v12.stomp", "v11.stomp", "v10.stomp"};
  std::string forceProtocol;  // answer with this one whatever was offered
  bool echo = true;
  int rejectStatus = 0;      // answer the upgrade with this HTTP status instead
  bool readAfterOpen = true; // false: never read, so a client's close frame is never answered
  bool deflate = false;
  // If set, replaces echo: each returned string goes back as a text message on the same connection.
  std::function<std::vector<std::string>(const std::string& message)> respond;
};

class WsServer {
 public:
  virtual ~WsServer() = default;
  virtual std::uint16_t port() const = 0;
  // Server-initiated close handshake on every connection.
  virtual void closeAll(int code, const std::string& reason) = 0;
  // Abrupt: close the TCP sockets without a close frame.
  virtual void dropAll() = 0;
  virtual void sendAll(const std::string& data, bool binary) = 0;

  struct Received {
    std::string data;
    bool binary;
  };
  std::vector<Received> received;
  std::map<std::string, std::string> lastRequest;  // header name (lower case) -> value
  int accepted = 0;
  int upgraded = 0;
  int clientCloseCode = 0;  // code of the last close frame a client sent
  bool deflateNegotiated = false;
};

std::unique_ptr<WsServer> startPlainWsServer(boost::asio::io_context& ioc, WsServerConfig config);
std::unique_ptr<WsServer> startTlsWsServer(boost::asio::io_context& ioc, WsServerConfig config,
                                           boost::asio::ssl::context& tls);

}  // namespace stompwire::test
