// The network layer of stompwire-server, behind a pimpl so that main.cpp and tests never include Beast.
#pragma once

#include <memory>
#include <string>

#include "config.hpp"

namespace stompwire::server {

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (SO_REUSEADDR, so a restart gets the same port back at once). Returns the
  // URL clients use ("ws://127.0.0.1:40123/ws"). Throws std::runtime_error when it cannot listen.
  std::string start();
  // Serves until SIGTERM/SIGINT, then shuts down gracefully. Returns the process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stompwire::server
