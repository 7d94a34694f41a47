// stompwire-cli: a command-line STOMP client on stompwire::native.
//   stompwire-cli [options] sub DEST | pub DEST BODY|- | chat ROOM
// Messages go to stdout, state changes and diagnostics to stderr. See usage() for exit codes.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <nlohmann/json.hpp>

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include <stompwire/native/client.hpp>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

enum Exit : int {
  kOk = 0,
  kFailed = 1,         // could not connect (max attempts), STOMP ERROR, or the connection was lost for good
  kUsage = 2,          // bad command line
  kUnconfirmed = 3,    // pub: some messages failed or were not confirmed
  kInterrupted = 130,  // SIGINT/SIGTERM before the work was done (sub/chat without --count exit 0)
};

const char* const kUsageText = R"(stompwire-cli - STOMP over WebSocket (ws://, wss://) or TCP (stomp://, stomp+ssl://)

Usage:
  stompwire-cli [options] sub DEST        print messages from DEST to stdout (one per line)
  stompwire-cli [options] pub DEST BODY   publish BODY (--count times)
  stompwire-cli [options] pub DEST -      publish each line of stdin
  stompwire-cli [options] chat ROOM       chat on the reference server: stdin lines go to /app/chat.send
                                          as {"content", "room"}, /topic/room.ROOM is printed

Messages go to stdout; connection changes to stderr: connected, reconnecting in 2.3s with the reason,
and ", N queued" while publishes wait in the offline queue (sent in order after the reconnect).

Options:
  --url URL            broker URL (default ws://127.0.0.1:8080/ws; env STOMPWIRE_URL)
  --login USER         STOMP login header        --passcode PASS   STOMP passcode header
  --token JWT          send "Authorization: Bearer JWT" on the WebSocket handshake
  --header K:V         extra header on SEND / SUBSCRIBE frames (repeatable)
  --connect-header K:V extra header on the CONNECT frame (repeatable; e.g. host:/ for RabbitMQ)
  --receipt            pub: ask for a RECEIPT per message (at-least-once; counts confirmed messages)
  --count N            sub/chat: exit after N messages; pub BODY: publish N times (default 1)
  --window N           pub: at most N messages unconfirmed at a time (default 1000)
  --json               sub: print each message as a JSON object {destination, headers, body};
                       pub: send BODY/lines with content-type application/json
  --ca-file FILE       trust the CAs in FILE (PEM) in addition to the system store
  --insecure           do not verify the server certificate (tests only!)
  --heartbeat MS       heart-beat in both directions (default 10000, 0 disables)
  --quiet              no state changes on stderr
  --help               this text

Exit codes:
  0    done (sub/chat: --count messages received, or interrupted; pub: all messages sent/confirmed)
  1    failed: connection impossible after retries, STOMP ERROR frame, or invalid options
  2    usage error
  3    pub: some messages failed (queue full, receipt timeout...) - see stderr
  130  interrupted (SIGINT/SIGTERM) during pub
)";

struct Args {
  std::string command, target, body;
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string login, passcode, token, caFile;
  stompwire::Headers headers, connectHeaders;
  bool receipt = false, json = false, insecure = false, quiet = false;
  long long count = -1;
  long long window = 1000;
  long long heartbeat = 10000;
};

bool splitHeader(const std::string& kv, stompwire::Header& out) {
  auto colon = kv.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  out = {kv.substr(0, colon), kv.substr(colon + 1)};
  return true;
}

int parseArgs(int argc, char** argv, Args& a) {
  if (const char* env = std::getenv("STOMPWIRE_URL")) a.url = env;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    auto number = [&](long long& out) {
      std::string v;
      if (!value(v)) return false;
      try {
        std::size_t used = 0;
        out = std::stoll(v, &used);
        return used == v.size() && out >= 0;
      } catch (...) {
        return false;
      }
    };
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsageText, stdout);
      std::exit(kOk);
    } else if (arg == "--url") ok = value(a.url);
    else if (arg == "--login") ok = value(a.login);
    else if (arg == "--passcode") ok = value(a.passcode);
    else if (arg == "--token") ok = value(a.token);
    else if (arg == "--ca-file") ok = value(a.caFile);
    else if (arg == "--header" || arg == "--connect-header") {
      std::string kv;
      stompwire::Header h;
      ok = value(kv) && splitHeader(kv, h);
      if (ok) (arg == "--header" ? a.headers : a.connectHeaders).push_back(h);
    } else if (arg == "--receipt") a.receipt = true;
    else if (arg == "--json") a.json = true;
    else if (arg == "--insecure") a.insecure = true;
    else if (arg == "--quiet") a.quiet = true;
    else if (arg == "--count") ok = number(a.count);
    else if (arg == "--window") ok = number(a.window) && a.window > 0;
    else if (arg == "--heartbeat") ok = number(a.heartbeat);
    else if (arg == "-" || arg.rfind("--", 0) != 0) positional.push_back(arg);
    else {
      std::fprintf(stderr, "stompwire-cli: unknown option %s (see --help)\n", arg.c_str());
      return kUsage;
    }
    if (!ok) {
      std::fprintf(stderr, "stompwire-cli: %s needs a valid value (see --help)\n", arg.c_str());
      return kUsage;
    }
  }
  if (positional.empty()) {
    std::fprintf(stderr, "stompwire-cli: missing command: sub, pub or chat (see --help)\n");
    return kUsage;
  }
  a.command = positional[0];
  const std::size_t want = a.command == "pub" ? 3 : 2;
  if ((a.command != "sub" && a.command != "pub" && a.command != "chat") || positional.size() != want) {
    std::fprintf(stderr, "stompwire-cli: usage: sub DEST | pub DEST BODY|- | chat ROOM (see --help)\n");
    return kUsage;
  }
  a.target = positional[1];
  if (a.command == "pub") a.body = positional[2];
  return -1;
}

class Cli {
 public:
  Cli(asio::io_context& ioc, Args args) : ioc_(ioc), args_(std::move(args)), signals_(ioc, SIGINT, SIGTERM) {}

  int run() {
    native();
    if (!client_) return kFailed;
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) stop(args_.command == "pub" && !finished_ ? kInterrupted : kOk, "interrupted");
    });
    client_->activate();
    ioc_.run();
    stopStdin();
    return exit_;
  }

 private:
  void native() {
    stompwire::native::ClientOptions o;
    o.brokerURL = args_.url;
    if (!args_.login.empty()) o.connectHeaders.push_back({"login", args_.login});
    if (!args_.passcode.empty()) o.connectHeaders.push_back({"passcode", args_.passcode});
    for (auto& h : args_.connectHeaders) o.connectHeaders.push_back(h);
    if (!args_.token.empty()) o.transport.headers.push_back({"Authorization", "Bearer " + args_.token});
    o.transport.tls.caFile = args_.caFile;
    o.transport.tls.insecureSkipVerify = args_.insecure;
    o.heartbeatIncoming = o.heartbeatOutgoing = stompwire::Millis(args_.heartbeat);
    o.reconnect.maxAttempts = 10;
    o.offlineQueue.maxMessages = static_cast<std::size_t>(std::max<long long>(args_.window, 1000));
    o.offlineQueue.maxBytes = 64 * 1024 * 1024;
    std::error_code ec;
    std::string what;
    client_ = stompwire::native::makeClient(ioc_.get_executor(), std::move(o), ec, &what);
    if (!client_) {
      std::fprintf(stderr, "stompwire-cli: invalid option %s: %s\n", what.c_str(), ec.message().c_str());
      return;
    }
    client_->onStateChange([this](const stompwire::StateChange& c) { onState(c); });
    client_->onStompError([this](const stompwire::Frame& f) {
      auto m = f.header("message");
      std::fprintf(stderr, "ERROR from server: %.*s\n", static_cast<int>(m ? m->size() : 0), m ? m->data() : "");
    });
    // Brokers such as RabbitMQ drop the socket right after the DISCONNECT receipt: not worth a line.
    client_->onWebSocketError([this](std::error_code e) {
      if (!stopping_) note("transport error: " + e.message());
    });
    client_->onWebSocketClose([this](const stompwire::CloseEvent& e) {
      if (!e.wasClean && !stopping_) note("connection lost: " + e.reason);
    });
    client_->onConnect([this](const stompwire::Frame&) { onConnected(); });
    if (args_.command == "sub") subscribe(args_.target);
    if (args_.command == "chat") subscribe("/topic/room." + args_.target);
  }

  void note(const std::string& text) {
    if (!args_.quiet) std::fprintf(stderr, "%s\n", text.c_str());
  }

  void onState(const stompwire::StateChange& c) {
    using stompwire::ClientState;
    if (c.state == ClientState::reconnecting && c.nextAttemptAt) {
      auto in = *c.nextAttemptAt - std::chrono::duration_cast<stompwire::Millis>(
                                       std::chrono::steady_clock::now().time_since_epoch());
      char buf[64];
      std::snprintf(buf, sizeof buf, "reconnecting in %.1fs", std::max<double>(0, in.count() / 1000.0));
      note(buf + (c.reason ? " (" + c.reason.message() + ")" : std::string()) + queuedNote());
    } else {
      const bool expected = stopping_ && c.state == ClientState::inactive;
      note(std::string(stompwire::toString(c.state)) +
           (c.reason && !expected ? " (" + c.reason.message() + ")" : "") + queuedNote());
    }
    if (c.state == ClientState::failed) stop(kFailed, "");
    if (c.state == ClientState::inactive && stopping_) ioc_.stop();
  }

  void subscribe(const std::string& dest) {
    client_->subscribe(
        dest,
        [this](const stompwire::Message& m) {
          if (args_.json && args_.command == "sub") {
            nlohmann::json j;
            j["destination"] = std::string(m.destination());
            for (auto& h : m.headers()) j["headers"][h.name] = h.value;
            j["body"] = std::string(m.body());
            std::cout << j.dump() << '\n';
          } else if (args_.command == "chat") {
            auto j = nlohmann::json::parse(m.body(), nullptr, false);
            if (!j.is_discarded() && j.is_object()) {
              std::cout << "[" << j.value("sender", std::string("?")) << "] " << j.value("content", std::string())
                        << '\n';
            } else {
              std::cout << m.body() << '\n';
            }
          } else {
            std::cout << m.body() << '\n';
          }
          std::cout.flush();
          if (args_.count >= 0 && ++received_ >= args_.count) stop(kOk, "");
        },
        args_.headers);
  }

  void onConnected() {
    if (started_) return;  // publishing continues across reconnects on its own
    started_ = true;
    if (args_.command == "pub" && args_.body != "-") {
      total_ = args_.count < 0 ? 1 : args_.count;
      startTime_ = std::chrono::steady_clock::now();
      pump();
    } else if (args_.command == "pub" || args_.command == "chat") {
      startTime_ = std::chrono::steady_clock::now();
      window_.release(static_cast<std::ptrdiff_t>(args_.window));
      readStdin();
    }
  }

  stompwire::PublishParams params(std::string body) {
    stompwire::PublishParams p;
    if (args_.command == "chat") {
      p.destination = "/app/chat.send";
      p.body = nlohmann::json{{"content", body}, {"room", args_.target}}.dump();
      p.headers.push_back({"content-type", "application/json"});
    } else {
      p.destination = args_.target;
      p.body = std::move(body);
      if (args_.json) p.headers.push_back({"content-type", "application/json"});
    }
    for (auto& h : args_.headers) p.headers.push_back(h);
    p.receipt = args_.receipt;
    return p;
  }

  // pub BODY --count N: keeps --window messages unconfirmed at most.
  void pump() {
    while (sent_ < total_ && inFlight_ < args_.window) {
      ++sent_;
      ++inFlight_;
      track(client_->publish(params(args_.body)));
    }
    if (sent_ == total_ && inFlight_ == 0) finishPub();
  }

  // ", 12 queued" while the offline queue holds messages (they go out in order after the reconnect).
  std::string queuedNote() const {
    const auto n = client_->metrics().queueDepth;
    return n ? ", " + std::to_string(n) + " queued" : std::string();
  }

  void track(stompwire::PublishHandle h) {
    // Chat lines are few and typed by hand: say so when one waits for the connection.
    if (args_.command == "chat" && h.status() == stompwire::PublishStatus::queued)
      note("message queued (" + std::to_string(client_->metrics().queueDepth) + " waiting)");
    h.onComplete([this](std::error_code ec) {
      --inFlight_;
      if (args_.body == "-" || args_.command == "chat") window_.release();
      if (ec) {
        ++failed_;
        if (failed_ <= 10) std::fprintf(stderr, "publish failed: %s\n", ec.message().c_str());
      } else {
        ++confirmed_;
      }
      if (args_.body != "-") {
        pump();
      } else if (stdinDone_ && inFlight_ == 0) {
        finishPub();
      }
    });
  }

  // The reader thread must be joinable at exit: it uses the client and this object, which main() then
  // destroys (a detached reader still publishing after a failure crashed the process). So it never blocks
  // where stop() cannot wake it: poll(2) on stdin and on a wake-up pipe, and the window semaphore, which
  // stop() releases.
  void readStdin() {
    if (::pipe(wake_) != 0) {
      std::perror("stompwire-cli: pipe");
      stop(kFailed, "");
      return;
    }
    stdinThread_ = std::thread([this] {
      std::string pending;
      char chunk[64 * 1024];
      auto publishLine = [this](std::string line) {
        window_.acquire();  // at most --window messages unconfirmed, as in pub BODY --count N
        if (quit_) return false;
        // Thread-safe: native::Client methods may be called from any thread.
        auto h = client_->publish(params(std::move(line)));
        asio::post(client_->executor(), [this, h]() mutable {
          ++sent_;
          ++inFlight_;
          track(h);
        });
        return true;
      };
      for (;;) {
        pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
          if (errno == EINTR) continue;
          break;
        }
        if (quit_ || fds[1].revents) return;
        const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // end of input (or an unreadable stdin: treated the same)
        pending.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
          if (!publishLine(pending.substr(start, nl - start))) return;
        }
        pending.erase(0, start);
      }
      if (!pending.empty() && !publishLine(std::move(pending))) return;  // a last line without '\n'
      asio::post(client_->executor(), [this] {
        stdinDone_ = true;
        if (args_.command == "pub" && inFlight_ == 0) finishPub();
      });
    });
  }

  void stopStdin() {
    if (!stdinThread_.joinable()) return;
    quit_ = true;
    window_.release();
    [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
    stdinThread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  void finishPub() {
    if (finished_) return;
    finished_ = true;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - startTime_).count();
    char buf[200];
    std::snprintf(buf, sizeof buf, "published %lld messages (%lld %s, %lld failed) in %.3f s: %.0f msg/s", sent_,
                  confirmed_, args_.receipt ? "confirmed" : "sent", failed_, secs, secs > 0 ? sent_ / secs : 0.0);
    std::fprintf(stderr, "%s\n", buf);
    stop(failed_ ? kUnconfirmed : kOk, "");
  }

  void stop(int code, const std::string& why) {
    if (stopping_) return;
    stopping_ = true;
    exit_ = code;
    if (!why.empty()) note(why);
    if (!client_ || client_->state() == stompwire::ClientState::inactive ||
        client_->state() == stompwire::ClientState::failed) {
      ioc_.stop();
      return;
    }
    client_->deactivate({}, [this] { ioc_.stop(); });
  }

  asio::io_context& ioc_;
  Args args_;
  asio::signal_set signals_;
  std::unique_ptr<stompwire::native::Client> client_;
  std::thread stdinThread_;
  std::atomic<bool> quit_{false};
  int wake_[2] = {-1, -1};
  std::counting_semaphore<1 << 30> window_{0};
  bool started_ = false, stopping_ = false, finished_ = false, stdinDone_ = false;
  int exit_ = kOk;
  long long received_ = 0, total_ = 0, sent_ = 0, inFlight_ = 0, confirmed_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point startTime_;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (int rc = parseArgs(argc, argv, args); rc >= 0) return rc;
  asio::io_context ioc;
  Cli cli(ioc, std::move(args));
  return cli.run();
}
