#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace stompwire::test {

namespace {
using Clock = std::chrono::steady_clock;

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Milliseconds left until `deadline` for poll(2), rounded up so that a wait never ends early.
int msUntil(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

// Plain parsing, not std::regex: GCC 12 warns inside <regex> at -O1 with the sanitizers
// (-Werror=maybe-uninitialized in std::function), which broke the asan build of this file.
bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "listening on ws://HOST:PORT/ws" (wss:// with TLS; HOST may hold colons, as an IPv6 literal does).
bool parseListening(std::string_view line, bool& tls, std::string& host, std::string& port) {
  constexpr std::string_view prefix = "listening on ws", suffix = "/ws";
  if (!line.starts_with(prefix) || !line.ends_with(suffix)) return false;
  line.remove_prefix(prefix.size());
  line.remove_suffix(suffix.size());
  tls = line.starts_with('s');
  if (tls) line.remove_prefix(1);
  if (!line.starts_with("://")) return false;
  line.remove_prefix(3);
  const auto colon = line.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || !allDigits(line.substr(colon + 1))) return false;
  host = line.substr(0, colon);
  port = line.substr(colon + 1);
  return true;
}

// The Content-Length of a response head (any case, optional spaces after the colon), or npos.
std::size_t contentLength(std::string_view head) {
  std::string lower(head);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  constexpr std::string_view name = "content-length:";
  const auto at = lower.find(name);
  if (at == std::string::npos) return std::string::npos;
  std::string_view v = std::string_view(lower).substr(at + name.size());
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  const auto end = std::min(v.size(), v.find_first_not_of("0123456789"));
  return allDigits(v.substr(0, end)) ? std::stoul(std::string(v.substr(0, end))) : std::string::npos;
}
}  // namespace

std::string ServerProcess::binary() {
  if (const char* env = std::getenv("STOMPWIRE_SERVER"); env && *env) return env;
#ifdef STOMPWIRE_SERVER_PATH
  return STOMPWIRE_SERVER_PATH;
#else
  return "stompwire-server";
#endif
}

std::unique_ptr<ServerProcess> ServerProcess::start(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  bool hasListen = false;
  for (auto& a : args) hasListen |= a == "--listen";
  if (!hasListen) args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
  std::string bin = binary();

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", bin.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  std::unique_ptr<ServerProcess> p(new ServerProcess);
  p->pid_ = pid;
  // Readable when the child exits, so that wait() can block with a timeout (Linux >= 5.3; without
  // it, wait() waits for the child's pipes to close). Opened before anyone reaps the child.
#ifdef SYS_pidfd_open
  p->pidFd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#endif
  p->outFd_ = out[0];
  p->errFd_ = err[0];
  p->reader_ = std::thread([raw = p.get()] { raw->pump(); });

  auto deadline = Clock::now() + timeout;
  std::string line;
  {
    std::unique_lock lock(p->mu_);
    bool ready = p->cv_.wait_until(lock, deadline, [&] { return p->out_.find('\n') != std::string::npos || p->outClosed_; });
    if (!ready || p->out_.find('\n') == std::string::npos) {
      lock.unlock();
      p->wait(500ms);
      throw std::runtime_error(std::string("stompwire-server ") + (p->running() ? "did not print its listening line" : "exited before listening") +
                               ":\n" + p->stderrText());
    }
    line = p->out_.substr(0, p->out_.find('\n'));
  }
  std::string port;
  if (!parseListening(line, p->tls_, p->host_, port)) throw std::runtime_error("unexpected first line: " + line);
  p->port_ = static_cast<std::uint16_t>(std::stoi(port));
  p->url_ = line.substr(std::strlen("listening on "));
  // The line is printed once the server accepts, so one request answers (it blocks until the reply
  // or the deadline; at least a second, as the line may have come late).
  if (!p->tls_) {
    const auto left = std::max<std::chrono::milliseconds>(1s, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
    const int status = httpRequest(p->host_, p->port_, "GET", "/healthz", {}, left).status;
    if (status != 200)
      throw std::runtime_error("/healthz answered " + std::to_string(status) + " instead of 200:\n" + p->stderrText());
  }
  return p;
}

void ServerProcess::pump() {
  pollfd fds[2] = {{outFd_, POLLIN, 0}, {errFd_, POLLIN, 0}};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        if (i == 0) {
          std::lock_guard lock(mu_);
          outClosed_ = true;
          cv_.notify_all();
        }
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
        continue;
      }
      std::lock_guard lock(mu_);
      (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(n));
      cv_.notify_all();
    }
  }
  std::lock_guard lock(mu_);
  pipesClosed_ = true;
  cv_.notify_all();
}

bool ServerProcess::running() {
  if (status_) return false;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  // ECHILD: reaped elsewhere, its status lost; still, it is gone.
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    status_ = r == pid_ ? decodeStatus(st) : -1;
    // The pipes close with the process: collect its last output before anyone reads it.
    if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
    return false;
  }
  return true;
}

std::optional<int> ServerProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (pidFd_ >= 0) {
      // Blocks until the child exits (the pidfd turns readable) or the deadline passes.
      pollfd fd{pidFd_, POLLIN, 0};
      const int ready = poll(&fd, 1, msUntil(deadline));
      if (ready == 0 || (ready < 0 && errno != EINTR)) return running() ? std::nullopt : status_;
    } else {
      // No pidfd: the child's stdout and stderr close when it exits.
      std::unique_lock lock(mu_);
      if (!cv_.wait_until(lock, deadline, [&] { return pipesClosed_; })) return std::nullopt;
      lock.unlock();
      int st = 0;
      // The process has closed its files on its way out: only the reaping is left.
      pid_t r;
      while ((r = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
      }
      status_ = r == pid_ ? decodeStatus(st) : -1;
      if (reader_.joinable()) reader_.join();
    }
  }
  return status_;
}

int ServerProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (running()) {
    kill(pid_, sig);
    if (!wait(timeout)) {
      kill(pid_, SIGKILL);
      wait(5s);
    }
  }
  return status_.value_or(-1);
}

ServerProcess::~ServerProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    wait(5s);
  }
  if (reader_.joinable()) reader_.join();
  if (pidFd_ >= 0) close(pidFd_);
}

std::string ServerProcess::stderrText() const {
  std::lock_guard lock(mu_);
  return err_;
}
bool ServerProcess::waitForStderr(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return err_.find(needle) != std::string::npos; });
}

std::string ServerProcess::stdoutText() const {
  std::lock_guard lock(mu_);
  return out_;
}

HttpResponse httpRequest(const std::string& host, std::uint16_t port, const std::string& method, const std::string& target,
                         const std::vector<std::string>& extraHeaders, std::chrono::milliseconds timeout) {
  HttpResponse r;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                    "\r\nConnection: close\r\nContent-Length: 0\r\n";
  for (auto& h : extraHeaders) req += h + "\r\n";
  req += "\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return r;
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
    auto end = resp.find("\r\n\r\n");
    if (end != std::string::npos) {
      // Stop at Content-Length so a keep-alive answer does not wait for the timeout.
      const std::size_t length = contentLength(std::string_view(resp).substr(0, end));
      if (length != std::string::npos && resp.size() >= end + 4 + length) break;
    }
  }
  close(fd);
  auto end = resp.find("\r\n\r\n");
  if (resp.size() < 12 || end == std::string::npos) return r;
  r.status = std::atoi(resp.c_str() + 9);
  r.headers = resp.substr(0, end);
  r.body = resp.substr(end + 4);
  return r;
}

std::optional<double> metricValue(const std::string& text, const std::string& sample) {
  std::size_t pos = 0;
  while ((pos = text.find(sample + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::strtod(text.c_str() + pos + sample.size() + 1, nullptr);
    pos += sample.size();
  }
  return std::nullopt;
}

}  // namespace stompwire::test
