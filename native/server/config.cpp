#include "config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

namespace stompwire::server {

namespace {

// CLI11 reads --config through this: a flat JSON object whose keys are the long flag names without
// dashes ({"listen": "127.0.0.1:0", "user": ["a:b"], "allow-anonymous": true}). Flags given on the
// command line win over the file.
class JsonConfig final : public CLI::Config {
 public:
  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    nlohmann::json j = nlohmann::json::parse(input, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw CLI::ConversionError("config file: expected a JSON object");
    std::vector<CLI::ConfigItem> items;
    for (auto& [key, value] : j.items()) {
      CLI::ConfigItem item;
      item.name = key;
      auto scalar = [&](const nlohmann::json& v) -> std::string {
        if (v.is_string()) return v.get<std::string>();
        if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
        if (v.is_number()) return v.dump();
        throw CLI::ConversionError("config file: unsupported value for " + key);
      };
      if (value.is_array())
        for (auto& v : value) item.inputs.push_back(scalar(v));
      else
        item.inputs.push_back(scalar(value));
      items.push_back(std::move(item));
    }
    return items;
  }
};

}  // namespace

std::optional<RateLimit> parseRateLimit(const std::string& text) {
  auto num = [](std::string_view s) -> std::optional<std::uint64_t> {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
  };
  auto slash = text.find('/');
  std::string_view count = std::string_view(text).substr(0, slash);
  auto n = num(count);
  if (!n || *n > 1'000'000'000) return std::nullopt;
  std::uint64_t seconds = 1;
  if (slash != std::string::npos) {
    auto s = num(std::string_view(text).substr(slash + 1));
    if (!s || *s == 0 || *s > 86400) return std::nullopt;
    seconds = *s;
  }
  return RateLimit{static_cast<std::uint32_t>(*n), Millis(seconds * 1000)};
}

bool isLoopbackHost(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1" || host == "[::1]";
}

ParseResult parseCommandLine(int argc, const char* const* argv) {
  ServerConfig c;
  CLI::App app{"stompwire-server: STOMP over WebSocket reference broker", "stompwire-server"};
  app.config_formatter(std::make_shared<JsonConfig>());
  app.set_config("--config", "", "JSON file with flags as keys (without dashes); command-line flags win");
  app.get_formatter()->column_width(34);

  std::string listen = "127.0.0.1:61613";
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free port)")->capture_default_str();
  app.add_option("--user", c.users, "NAME:PASSCODE accepted by STOMP CONNECT login/passcode (repeatable)");
  app.add_option("--jwt-secret", c.jwtSecret, "HS256 secret: require a JWT at the WebSocket handshake (Authorization: Bearer or ?access_token=)");
  app.add_option("--jwt-audience", c.jwtAudience, "required JWT aud claim (empty: not checked)")->capture_default_str();
  app.add_option("--jwt-issuer", c.jwtIssuer, "required JWT iss claim (empty: not checked)")->capture_default_str();
  app.add_option("--jwt-leeway", c.jwtLeewaySeconds, "clock skew tolerated on exp/nbf, seconds")->capture_default_str();
  app.add_flag("--allow-anonymous", c.allowAnonymous, "accept any login without --user/--jwt-secret on a non-loopback address (default: off)");
  app.add_option("--allow-origin", c.allowOrigins, "Origin pattern allowed at the handshake, '*' globs (repeatable; default: same origin only)");
  app.add_option("--tls-cert", c.tlsCert, "PEM certificate chain: serve wss:// and https://");
  app.add_option("--tls-key", c.tlsKey, "PEM private key for --tls-cert");
  app.add_flag("--fault-injection", c.faultInjection, "enable the /admin/fault/* endpoints (loopback clients only; default: off)");
  app.add_option("--static", c.staticDir, "serve files from this directory at / (default: none)");
  app.add_option("--threads", c.threads, "I/O threads")->capture_default_str()->check(CLI::Range(1u, 64u));
  app.add_option("--max-connections", c.maxConnections, "WebSocket connections before 503")->capture_default_str();
  app.add_option("--max-frame-size", c.maxFrameSize, "largest STOMP frame in bytes (ERROR + close above)")->capture_default_str()->check(CLI::Range(std::size_t{256}, std::size_t{64} << 20));
  app.add_option("--send-buffer", c.sendBufferLimit, "bytes queued for one slow client before it is disconnected")->capture_default_str();
  app.add_option("--send-timeout", c.sendTimeoutMs, "ms one write may take before the client is disconnected")->capture_default_str();
  app.add_option("--handshake-timeout", c.handshakeTimeoutMs, "ms for TLS + HTTP upgrade, and for CONNECT after it")->capture_default_str();
  app.add_option("--max-header-size", c.maxHeaderSize, "largest HTTP request header block in bytes (431 above)")->capture_default_str();
  app.add_option("--heartbeat-send", c.heartbeatSendMs, "server heart-beat offer sx in ms (0: none)")->capture_default_str();
  app.add_option("--heartbeat-receive", c.heartbeatReceiveMs, "server heart-beat request sy in ms (0: none)")->capture_default_str();
  app.add_option("--rate-limit-user", c.rateLimitUser, "SEND frames per user as COUNT/SECONDS (0: off)")->capture_default_str();
  app.add_option("--rate-limit-ip", c.rateLimitIp, "SEND frames per client IP as COUNT/SECONDS (0: off)")->capture_default_str();
  app.add_option("--shutdown-timeout", c.shutdownTimeoutMs, "ms to drain connections on SIGTERM/SIGINT")->capture_default_str();
  app.add_option("--max-queue-depth", c.maxQueueDepth, "messages held by one /queue/* without consumers")->capture_default_str();
  app.add_option("--max-subscriptions", c.maxSubscriptions, "subscriptions per session")->capture_default_str();
  app.add_option("--log-level", c.logLevel, "debug, info, warn or error (logs are JSON lines on stderr)")
      ->capture_default_str()->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  app.add_option("--sockjs-heartbeat", c.sockjsHeartbeatMs, "ms between SockJS heart-beat frames")->capture_default_str()->check(CLI::Range(std::int64_t{10}, std::int64_t{3600000}));
  app.add_option("--sockjs-session-timeout", c.sockjsSessionTimeoutMs, "ms a SockJS session waits for the client's next request")->capture_default_str()->check(CLI::Range(std::int64_t{10}, std::int64_t{3600000}));
  app.add_option("--sockjs-response-limit", c.sockjsResponseLimit, "bytes per SockJS streaming response before the client reopens it")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  app.add_option("--sockjs-client-url", c.sockjsClientUrl, "sockjs-client script loaded by /sockjs/iframe.html (iframe transports)")->capture_default_str();
  app.add_flag("!--sockjs-no-websocket", c.sockjsWebsocket, "refuse WebSocket upgrades under /sockjs (clients fall back to HTTP transports)");

  ParseResult r;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    r.exitCode = app.exit(e, out, err);
    r.output = out.str() + err.str();
    return r;
  }
  auto colon = listen.rfind(':');
  std::uint64_t port = 0;
  if (colon == std::string::npos ||
      std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port).ec != std::errc{} || port > 65535) {
    r.exitCode = 2;
    r.output = "--listen: expected HOST:PORT, got '" + listen + "'\n";
    return r;
  }
  c.host = listen.substr(0, colon);
  if (c.host.size() > 2 && c.host.front() == '[' && c.host.back() == ']') c.host = c.host.substr(1, c.host.size() - 2);
  c.port = static_cast<std::uint16_t>(port);
  if (auto err = validate(c); !err.empty()) {
    r.exitCode = 2;
    r.output = err + "\n";
    return r;
  }
  r.config = std::move(c);
  return r;
}

std::string validate(const ServerConfig& c) {
  if (c.tlsCert.empty() != c.tlsKey.empty()) return "--tls-cert and --tls-key go together";
  for (auto& u : c.users)
    if (u.find(':') == std::string::npos || u.front() == ':') return "--user: expected NAME:PASSCODE, got '" + u + "'";
  if (!c.authConfigured() && !c.allowAnonymous && !isLoopbackHost(c.host))
    return "refusing anonymous access on " + c.host +
           ": configure --user or --jwt-secret, listen on loopback, or pass --allow-anonymous";
  if (!parseRateLimit(c.rateLimitUser)) return "--rate-limit-user: expected COUNT/SECONDS, got '" + c.rateLimitUser + "'";
  if (!parseRateLimit(c.rateLimitIp)) return "--rate-limit-ip: expected COUNT/SECONDS, got '" + c.rateLimitIp + "'";
  for (auto& o : c.allowOrigins)
    if (o == "*") return "--allow-origin '*' would let any web page use a visitor's credentials: list the origins";
  if (c.heartbeatSendMs < 0 || c.heartbeatReceiveMs < 0 || c.sendTimeoutMs <= 0 || c.handshakeTimeoutMs <= 0)
    return "timeouts must be positive";
  return {};
}

BrokerConfig brokerConfig(const ServerConfig& c) {
  BrokerConfig b;
  b.parser.maxFrameSize = c.maxFrameSize;
  b.parser.maxBodySize = c.maxFrameSize;
  b.parser.maxHeaderLine = std::min<std::size_t>(c.maxFrameSize, 8 * 1024);
  for (auto& u : c.users) {
    auto colon = u.find(':');
    b.users[u.substr(0, colon)] = u.substr(colon + 1);
  }
  b.heartbeatSend = Millis(c.heartbeatSendMs);
  b.heartbeatReceive = Millis(c.heartbeatReceiveMs);
  b.perUser = *parseRateLimit(c.rateLimitUser);
  b.perIp = *parseRateLimit(c.rateLimitIp);
  b.maxQueueDepth = c.maxQueueDepth;
  b.maxSubscriptionsPerSession = c.maxSubscriptions;
  b.connectTimeout = Millis(c.handshakeTimeoutMs);
  b.wallClock = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  return b;
}

}  // namespace stompwire::server
