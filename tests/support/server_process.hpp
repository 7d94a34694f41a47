// Starts stompwire-server as a child process for a test: on 127.0.0.1 port 0 unless the arguments
// say otherwise, waits for its "listening on ws://HOST:PORT/ws" line and for /healthz, and stops
// it with a deadline. POSIX only; no Asio/Beast here, so any test binary can use it.
//
//   auto server = stompwire::test::ServerProcess::start({"--user", "ann:pw"});
//   server->host(), server->port(), server->url()        // "ws://127.0.0.1:40123/ws"
//   int status = server->stop();                        // SIGTERM; exit code, or 128+signal
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stompwire::test {

using namespace std::chrono_literals;

class ServerProcess {
 public:
  // Throws std::runtime_error when the server exits early or is not ready within `timeout`.
  static std::unique_ptr<ServerProcess> start(std::vector<std::string> args = {},
                                              std::chrono::milliseconds timeout = 10s);
  // $STOMPWIRE_SERVER, else the stompwire-server built next to the tests.
  static std::string binary();

  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  const std::string& url() const { return url_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  pid_t pid() const { return pid_; }

  // Sends `sig` and waits for the exit; SIGKILL after `timeout`. Returns the exit code, or 128 +
  // the signal that ended it. Idempotent.
  int stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 10s);
  // Waits for an exit without sending anything; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // Everything the server wrote to stderr (JSON log lines) and to stdout so far.
  std::string stderrText() const;
  std::string stdoutText() const;
  // Waits until stderr contains `needle` (log lines arrive through a pipe, after the event).
  bool waitForStderr(const std::string& needle, std::chrono::milliseconds timeout = 5s);

 private:
  ServerProcess() = default;
  void pump();

  pid_t pid_ = -1;
  int pidFd_ = -1;  // pidfd_open(pid_), or -1 where the kernel has none
  int outFd_ = -1, errFd_ = -1;
  std::optional<int> status_;
  std::string url_, host_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // signalled when output arrives
  std::string out_, err_;
  bool outClosed_ = false;
  bool pipesClosed_ = false;  // both pipes at EOF: the reader thread is done
  std::thread reader_;
};

struct HttpResponse {
  int status = 0;  // 0: no response (connection failed, closed or timed out)
  std::string headers;
  std::string body;
};

// One plain-HTTP/1.1 request on a fresh connection (Connection: close). `extraHeaders` are full
// lines without CRLF.
HttpResponse httpRequest(const std::string& host, std::uint16_t port, const std::string& method, const std::string& target,
                         const std::vector<std::string>& extraHeaders = {}, std::chrono::milliseconds timeout = 5s);

// Value of one Prometheus sample line ("stompwire_connections 3"), or nullopt.
std::optional<double> metricValue(const std::string& metricsText, const std::string& sample);

}  // namespace stompwire::test
