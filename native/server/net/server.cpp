// Listener, signals, the heart-beat tick and graceful shutdown.
#include "net/server.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <algorithm>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "net/detail.hpp"
#include "net/sockjs_session.hpp"

namespace stompwire::server::net {

namespace {
std::mutex logMutex;
std::atomic<int> logLevel{static_cast<int>(Level::info)};

void jsonEscape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}
}  // namespace

void setLogLevel(Level level) { logLevel = static_cast<int>(level); }

void log(Level level, std::string_view event, std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  if (static_cast<int>(level) < logLevel.load(std::memory_order_relaxed)) return;
  static constexpr const char* names[] = {"debug", "info", "warn", "error"};
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line = "{\"ts\":\"";
  line += ts;
  line += "\",\"level\":\"";
  line += names[static_cast<int>(level)];
  line += "\",\"event\":\"";
  jsonEscape(line, event);
  line += '"';
  for (auto& [k, v] : fields) {
    line += ",\"";
    jsonEscape(line, k);
    line += "\":\"";
    jsonEscape(line, v);
    line += '"';
  }
  line += "}\n";
  std::lock_guard lock(logMutex);
  std::cerr << line << std::flush;
}

State::State(ServerConfig c, asio::io_context& io)
    : config(std::move(c)),
      ioc(io),
      origins(config.allowOrigins),
      jwt{config.jwtSecret, config.jwtAudience, config.jwtIssuer, config.jwtLeewaySeconds, true},
      broker(brokerConfig(config), host),
      sockjs(std::make_shared<SockJsRegistry>()) {
  if (config.tls()) {
    ssl.emplace(asio::ssl::context::tls_server);
    ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    ssl->use_certificate_chain_file(config.tlsCert);
    ssl->use_private_key_file(config.tlsKey, asio::ssl::context::pem);
  }
}

}  // namespace stompwire::server::net

namespace stompwire::server {

using namespace net;

struct Server::Impl {
  asio::io_context ioc;
  State state;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer tick;
  asio::steady_timer deadline;
  asio::steady_timer retry;
  std::atomic<bool> stopped{false};
  std::string url;

  explicit Impl(ServerConfig c)
      : ioc(static_cast<int>(c.threads)),
        state(std::move(c), ioc),
        acceptor(asio::make_strand(ioc)),
        signals(ioc, SIGINT, SIGTERM),
        tick(ioc),
        deadline(ioc),
        retry(ioc) {}

  // SockJS sessions own timers of this io_context: release them while it still exists (a session a pending
  // handler still holds goes when the io_context destroys that handler, its registry kept alive by it).
  ~Impl() { state.sockjs->clear(); }

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (state.shuttingDown) return;
      if (ec) {
        // Out of descriptors (EMFILE) and the like: back off instead of spinning.
        log(Level::warn, "accept.error", {{"error", ec.message()}});
        retry.expires_after(Millis(100));
        retry.async_wait([this](beast::error_code e) {
          if (!e && !state.shuttingDown) accept();
        });
        return;
      }
      socket.set_option(tcp::no_delay(true), ec);
      startHttp(state, std::move(socket));
      accept();
    });
  }

  // Heart-beats and timeouts: wake at the broker's next deadline, at most every 5 ms. A session that
  // connects between two ticks brings an earlier deadline than the one the timer sleeps towards, so the
  // sleep is also capped: at half the shortest heart-beat interval the server offers (a heart-beat is then
  // at most half an interval late, inside any client's tolerance), and at 250 ms.
  Millis maxTick() const {
    Millis cap(250);
    for (auto ms : {state.config.heartbeatSendMs, state.config.heartbeatReceiveMs})
      if (ms > 0) cap = std::min(cap, Millis(ms / 2));
    return std::max(cap, Millis(5));
  }

  void scheduleTick(Millis delay = Millis(0)) {
    tick.expires_after(delay);
    tick.async_wait([this](beast::error_code ec) {
      if (ec || stopped) return;
      Millis next;
      auto now = State::now();
      {
        std::lock_guard lock(state.mu);
        next = state.broker.tick(now);
      }
      const Millis cap = maxTick();
      scheduleTick(next == Millis::max() ? cap : std::clamp(next - now, Millis(5), cap));
    });
  }

  void beginShutdown(int signal) {
    if (state.shuttingDown.exchange(true)) return;
    log(Level::info, "shutdown.begin", {{"signal", std::to_string(signal)}});
    beast::error_code ec;
    acceptor.close(ec);
    bool empty = false;
    {
      std::lock_guard lock(state.mu);
      state.broker.shutdown();  // ERROR "server shutting down" + close 1001, after queued data
      empty = state.conns.empty();
    }
    if (empty) return finish("drained");
    deadline.expires_after(Millis(state.config.shutdownTimeoutMs));
    deadline.async_wait([this](beast::error_code e) {
      if (e) return;
      {
        std::lock_guard lock(state.mu);
        for (auto& [id, c] : state.conns) c->abort();
      }
      finish("deadline");
    });
  }

  void finish(const char* how) {
    if (stopped.exchange(true)) return;
    log(Level::info, "shutdown.done", {{"how", how}});
    ioc.stop();
  }
};

Server::Server(ServerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  auto& l = impl_->state.config.logLevel;
  setLogLevel(l == "debug" ? Level::debug : l == "warn" ? Level::warn : l == "error" ? Level::error : Level::info);
}

Server::~Server() = default;

std::string Server::start() {
  auto& c = impl_->state.config;
  beast::error_code ec;
  std::string host = c.host == "localhost" ? "127.0.0.1" : c.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("--listen: '" + c.host + "' is not an IP address");
  tcp::endpoint ep(address, c.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + c.host + ":" + std::to_string(c.port) + ": " + ec.message());
  auto bound = a.local_endpoint();
  std::string shown = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  impl_->url = std::string(c.tls() ? "wss://" : "ws://") + shown + ":" + std::to_string(bound.port()) + "/ws";
  // Set before any thread runs: sessions read it without a lock when the last one closes.
  impl_->state.onDrained = [impl = impl_.get()] { impl->finish("drained"); };
  impl_->accept();
  impl_->scheduleTick();
  impl_->signals.async_wait([this](beast::error_code e, int sig) {
    if (!e) impl_->beginShutdown(sig);
  });
  log(Level::info, "listening", {{"url", impl_->url}, {"threads", std::to_string(c.threads)},
                                 {"auth", c.jwtSecret.empty() ? (c.users.empty() ? "anonymous" : "users") : (c.users.empty() ? "jwt" : "jwt+users")},
                                 {"fault_injection", c.faultInjection ? "on" : "off"}});
  return impl_->url;
}

int Server::run() {
  std::vector<std::thread> extra;
  for (unsigned i = 1; i < impl_->state.config.threads; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
  return 0;
}

}  // namespace stompwire::server
