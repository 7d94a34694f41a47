// stompwire-server as a real process on an ephemeral loopback port, driven by real WebSocket clients:
// the CLI contract, endpoints, every limit and auth rule (each seen as its documented status or
// ERROR), heart-beats, fault injection, TLS and graceful shutdown.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>

#include "security/jwt.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

using namespace stompwire;
using namespace stompwire::test;
using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string hdr(const std::optional<Frame>& f, std::string_view name) {
  if (!f) return "<no frame>";
  return std::string(f->header(name).value_or("<none>"));
}

// Runs a command and returns its stdout and exit status (for the CLI contract tests).
std::pair<std::string, int> runCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int st = pclose(p);
  return {out, WIFEXITED(st) ? WEXITSTATUS(st) : -1};
}

std::unique_ptr<WsClient> connected(ServerProcess& s, std::vector<Header> connect = {}, WsOptions o = {}) {
  auto c = std::make_unique<WsClient>();
  REQUIRE(c->connect(s.host(), s.port(), o) == 101);
  auto f = c->stompConnect(connect);
  REQUIRE(f);
  REQUIRE(f->command == "CONNECTED");
  return c;
}

void subscribe(WsClient& c, std::string id, std::string dest, std::string ack = "auto") {
  REQUIRE(c.sendFrame(Frame("SUBSCRIBE", {{"id", id}, {"destination", dest}, {"ack", ack}, {"receipt", "s-" + id}})));
  auto r = c.readUntil("RECEIPT");
  REQUIRE(hdr(r, "receipt-id") == "s-" + id);
}

// Opens a TCP connection, sends `bytes`, and reports whether the server closed it within `timeout`.
bool closedAfter(const std::string& host, std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  bool closed = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    if (!bytes.empty()) send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {}
    closed = n == 0 || (n < 0 && errno == ECONNRESET);
  }
  close(fd);
  return closed;
}

std::string metrics(ServerProcess& s) { return httpRequest(s.host(), s.port(), "GET", "/metrics").body; }

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string token(const std::string& claims, const std::string& secret = "top-secret") {
  return server::signJwtHs256(claims, secret);
}

}  // namespace

// ---- command line -----------------------------------------------------------------------------

TEST_CASE("help documents every flag with its default", "[integration][cli]") {
  auto [out, code] = runCommand(ServerProcess::binary() + " --help");
  CHECK(code == 0);
  for (auto flag : {"--listen", "--user", "--jwt-secret", "--allow-anonymous", "--allow-origin", "--tls-cert", "--tls-key",
                    "--fault-injection", "--config", "--max-connections", "--max-frame-size", "--send-buffer",
                    "--send-timeout", "--handshake-timeout", "--rate-limit-user", "--rate-limit-ip", "--threads"})
    CHECK_THAT(out, ContainsSubstring(flag));
  CHECK_THAT(out, ContainsSubstring("=65536"));
  CHECK_THAT(out, ContainsSubstring("=524288"));
  CHECK_THAT(out, ContainsSubstring("=20000"));
}

TEST_CASE("bad command lines are refused with a reason", "[integration][cli]") {
  auto bin = ServerProcess::binary();
  auto [o1, c1] = runCommand(bin + " --listen 0.0.0.0:0");
  CHECK(c1 == 2);
  CHECK_THAT(o1, ContainsSubstring("refusing anonymous access"));
  auto [o2, c2] = runCommand(bin + " --listen 127.0.0.1:0 --allow-origin '*'");
  CHECK(c2 == 2);
  auto [o3, c3] = runCommand(bin + " --no-such-flag");
  CHECK(c3 != 0);
  auto [o4, c4] = runCommand(bin + " --listen nonsense");
  CHECK(c4 == 2);
  auto [o5, c5] = runCommand(bin + " --listen 127.0.0.1:0 --tls-cert /nonexistent.pem");
  CHECK(c5 == 2);
  CHECK_THAT(o5, ContainsSubstring("--tls-key"));
}

TEST_CASE("anonymous on a non-loopback address needs --allow-anonymous", "[integration][cli][auth]") {
  // 0.0.0.0 binds every interface; the test only ever connects to 127.0.0.1.
  auto s = ServerProcess::start({"--listen", "0.0.0.0:0", "--allow-anonymous"});
  WsClient c;
  CHECK(c.connect("127.0.0.1", s->port()) == 101);
}

TEST_CASE("listening line, /healthz, /metrics, 404", "[integration][http]") {
  auto s = ServerProcess::start();
  CHECK(s->url() == "ws://127.0.0.1:" + std::to_string(s->port()) + "/ws");
  CHECK(s->port() != 0);
  auto h = httpRequest(s->host(), s->port(), "GET", "/healthz");
  CHECK(h.status == 200);
  CHECK(h.body == "ok\n");
  auto c = connected(*s, {{"login", "m"}});
  subscribe(*c, "1", "/topic/m");
  c->sendFrame(Frame("SEND", {{"destination", "/topic/m"}}, "x"));
  REQUIRE(c->readUntil("MESSAGE"));
  auto m = metrics(*s);
  CHECK(metricValue(m, "stompwire_connections") == 1);
  CHECK(metricValue(m, "stompwire_subscriptions") == 1);
  CHECK(metricValue(m, "stompwire_messages_routed_total{kind=\"topic\"}") == 1);
  CHECK(metricValue(m, "stompwire_deliveries_total") == 1);
  CHECK(metricValue(m, "stompwire_frames_total{direction=\"in\"}") >= 3);
  CHECK(metricValue(m, "stompwire_processing_seconds_count") >= 3);
  CHECK_THAT(m, ContainsSubstring("# TYPE stompwire_processing_seconds histogram"));
  CHECK(httpRequest(s->host(), s->port(), "GET", "/nope").status == 404);
  WsClient other;
  CHECK(other.connect(s->host(), s->port(), WsOptions{"/elsewhere"}) == 404);
}

TEST_CASE("STOMP over /ws: subprotocol, pub/sub, queues, receipts, chat, user destinations", "[integration][stomp]") {
  auto s = ServerProcess::start();
  WsClient probe;
  REQUIRE(probe.connect(s->host(), s->port(), WsOptions{.subprotocols = "v10.stomp, v11.stomp"}) == 101);
  CHECK(probe.subprotocol() == "v11.stomp");

  auto ann = connected(*s, {{"login", "ann"}}), ann2 = connected(*s, {{"login", "ann"}}), bob = connected(*s, {{"login", "bob"}});
  subscribe(*ann, "pub", "/topic/public");
  subscribe(*ann, "priv", "/user/queue/private");
  subscribe(*ann2, "priv", "/user/queue/private");
  subscribe(*bob, "echo", "/user/queue/echo");
  subscribe(*bob, "q", "/queue/jobs", "client-individual");

  bob->sendFrame(Frame("SEND", {{"destination", "/app/chat.send"}, {"receipt", "c1"}}, R"({"content":"hello"})"));
  CHECK(hdr(bob->readUntil("RECEIPT"), "receipt-id") == "c1");
  auto chat = ann->readUntil("MESSAGE");
  REQUIRE(chat);
  CHECK(jsonField(chat->body, "sender") == "bob");
  CHECK(jsonField(chat->body, "content") == "hello");

  bob->sendFrame(Frame("SEND", {{"destination", "/app/chat.private"}}, R"({"recipient":"ann","content":"psst"})"));
  CHECK(jsonField(ann->readUntil("MESSAGE")->body, "content") == "psst");
  CHECK(jsonField(ann2->readUntil("MESSAGE")->body, "sender") == "bob");

  bob->sendFrame(Frame("SEND", {{"destination", "/app/echo"}}, "ping"));
  CHECK(bob->readUntil("MESSAGE")->body == "ping");

  ann->sendFrame(Frame("SEND", {{"destination", "/queue/jobs"}}, "job"));
  auto job = bob->readUntil("MESSAGE");
  REQUIRE(job);
  CHECK(hdr(job, "ack") != "<none>");
  bob->sendFrame(Frame("ACK", {{"id", hdr(job, "ack")}, {"receipt", "a1"}}));
  CHECK(hdr(bob->readUntil("RECEIPT"), "receipt-id") == "a1");
  CHECK(metricValue(metrics(*s), "stompwire_pending_acks") == 0);
}

// ---- authentication ---------------------------------------------------------------------------

TEST_CASE("users: STOMP login/passcode checked, ERROR on a bad one", "[integration][auth]") {
  auto s = ServerProcess::start({"--user", "ann:pw1", "--user", "bob:pw2"});
  auto ok = connected(*s, {{"login", "bob"}, {"passcode", "pw2"}});
  WsClient bad;
  REQUIRE(bad.connect(s->host(), s->port()) == 101);
  auto f = bad.stompConnect({{"login", "ann"}, {"passcode", "pw2"}});
  CHECK(f->command == "ERROR");
  CHECK(hdr(f, "message") == "authentication failed");
  CHECK(bad.waitClosed() == 1008);
  CHECK(metricValue(metrics(*s), "stompwire_auth_failures_total") == 1);
}

TEST_CASE("JWT: tokens checked at the handshake, 401 before the upgrade", "[integration][auth][jwt]") {
  auto s = ServerProcess::start({"--jwt-secret", "top-secret"});
  auto exp = std::to_string(unixNow() + 600);
  auto good = token(R"({"sub":"alice","aud":"stompwire","exp":)" + exp + "}");

  SECTION("Authorization: Bearer") {
    WsClient c;
    REQUIRE(c.connect(s->host(), s->port(), WsOptions{.headers = {{"Authorization", "Bearer " + good}}}) == 101);
    auto f = c.stompConnect({{"login", "someone-else"}});
    CHECK(hdr(f, "user-name") == "alice");
  }
  SECTION("access_token query parameter") {
    WsClient c;
    REQUIRE(c.connect(s->host(), s->port(), WsOptions{.target = "/ws?access_token=" + good}) == 101);
    CHECK(hdr(c.stompConnect(), "user-name") == "alice");
  }
  SECTION("rejections") {
    struct Case {
      std::string name, token, reason;
    };
    std::vector<Case> cases = {
        {"missing", "", "missing token"},
        {"bad signature", token(R"({"sub":"alice","aud":"stompwire","exp":)" + exp + "}", "wrong-secret"), "bad signature"},
        {"alg none", server::base64UrlEncode(R"({"alg":"none"})") + "." +
                         server::base64UrlEncode(R"({"sub":"alice","aud":"stompwire","exp":)" + exp + "}") + ".",
         "unsupported alg none"},
        {"alg HS512", server::signJwtHs256(R"({"sub":"alice","aud":"stompwire","exp":)" + exp + "}", "top-secret",
                                           R"({"alg":"HS512"})"),
         "unsupported alg HS512"},
        {"expired", token(R"({"sub":"alice","aud":"stompwire","exp":)" + std::to_string(unixNow() - 3600) + "}"), "token expired"},
        {"wrong audience", token(R"({"sub":"alice","aud":"other","exp":)" + exp + "}"), "wrong audience"},
        {"no exp", token(R"({"sub":"alice","aud":"stompwire"})"), "token has no exp"},
        {"garbage", "abc.def", "malformed token"},
    };
    for (auto& c : cases) {
      INFO(c.name);
      WsClient ws;
      WsOptions o;
      if (!c.token.empty()) o.headers = {{"Authorization", "Bearer " + c.token}};
      CHECK(ws.connect(s->host(), s->port(), o) == 401);
      CHECK_THAT(ws.responseBody(), ContainsSubstring(c.reason));
    }
    CHECK(metricValue(metrics(*s), "stompwire_connections_rejected_total{reason=\"unauthorized\"}") == cases.size());
  }
  SECTION("per-destination permissions from the token") {
    auto limited = token(R"({"sub":"carl","aud":"stompwire","exp":)" + exp +
                         R"(,"permissions":{"read":["/topic/room.1"],"write":["/topic/room.1"]}})");
    WsClient c;
    REQUIRE(c.connect(s->host(), s->port(), WsOptions{.headers = {{"Authorization", "Bearer " + limited}}}) == 101);
    REQUIRE(c.stompConnect()->command == "CONNECTED");
    subscribe(c, "ok", "/topic/room.1");
    c.sendFrame(Frame("SUBSCRIBE", {{"id", "no"}, {"destination", "/topic/room.2"}}));
    auto f = c.readUntil("ERROR");
    CHECK(hdr(f, "message") == "forbidden");
    CHECK(c.waitClosed() == 1008);
  }
}

TEST_CASE("JWT with users: no token falls back to STOMP login", "[integration][auth][jwt]") {
  auto s = ServerProcess::start({"--jwt-secret", "top-secret", "--user", "svc:pw"});
  auto c = connected(*s, {{"login", "svc"}, {"passcode", "pw"}});
  WsClient bad;
  REQUIRE(bad.connect(s->host(), s->port(), WsOptions{.headers = {{"Authorization", "Bearer nope.nope.nope"}}}) == 401);
}

TEST_CASE("Origin allow-list with patterns: 403 otherwise", "[integration][origin]") {
  auto s = ServerProcess::start({"--allow-origin", "https://*.example.com", "--allow-origin", "http://localhost:*"});
  auto status = [&](std::string origin) {
    WsClient c;
    WsOptions o;
    if (!origin.empty()) o.headers = {{"Origin", origin}};
    return c.connect(s->host(), s->port(), o);
  };
  CHECK(status("https://app.example.com") == 101);
  CHECK(status("http://localhost:5173") == 101);
  CHECK(status("") == 101);  // not a browser
  CHECK(status("http://127.0.0.1:" + std::to_string(s->port())) == 101);  // same origin
  CHECK(status("https://evil.com") == 403);
  CHECK(status("https://example.com.evil.com") == 403);
  CHECK(status("http://app.example.com") == 403);
  CHECK(status("null") == 403);
  CHECK(metricValue(metrics(*s), "stompwire_connections_rejected_total{reason=\"origin\"}") == 4);
}

TEST_CASE("no --allow-origin: only the same origin", "[integration][origin]") {
  auto s = ServerProcess::start();
  WsClient c;
  CHECK(c.connect(s->host(), s->port(), WsOptions{.headers = {{"Origin", "http://localhost:3000"}}}) == 403);
}

// ---- limits -----------------------------------------------------------------------------------

TEST_CASE("rate limit per user: ERROR naming the limit", "[integration][limits][rate]") {
  auto s = ServerProcess::start({"--rate-limit-user", "5/60"});
  auto c = connected(*s, {{"login", "spammer"}});
  for (int i = 0; i < 5; ++i) REQUIRE(c->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, "m")));
  c->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, "one too many"));
  auto f = c->readUntil("ERROR");
  CHECK(hdr(f, "message") == "rate limit exceeded: per-user");
  CHECK_THAT(f->body, ContainsSubstring("5 messages per 60000 ms"));
  CHECK(c->waitClosed() == 1008);
  // The bucket is per user: the same user on a new connection is still limited.
  auto again = connected(*s, {{"login", "spammer"}});
  again->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, "m"));
  CHECK(hdr(again->readUntil("ERROR"), "message") == "rate limit exceeded: per-user");
}

TEST_CASE("rate limit per IP across users", "[integration][limits][rate]") {
  auto s = ServerProcess::start({"--rate-limit-ip", "4/60", "--rate-limit-user", "0"});
  auto a = connected(*s, {{"login", "a"}}), b = connected(*s, {{"login", "b"}});
  for (int i = 0; i < 2; ++i) {
    a->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, "m"));
    b->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, "m"));
  }
  b->sendFrame(Frame("SEND", {{"destination", "/topic/x"}, {"receipt", "r"}}, "m"));
  CHECK(hdr(b->readUntil("ERROR"), "message") == "rate limit exceeded: per-ip");
}

TEST_CASE("max frame size: ERROR + close 1009; far larger messages refused by WebSocket 1009", "[integration][limits]") {
  auto s = ServerProcess::start({"--max-frame-size", "1024"});
  auto c = connected(*s);
  c->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, std::string(1500, 'x')));
  auto f = c->readUntil("ERROR");
  CHECK(hdr(f, "message") == "frame too large");
  CHECK_THAT(f->body, ContainsSubstring("1024"));
  CHECK(c->waitClosed() == 1009);
  auto d = connected(*s);
  // Far above the WebSocket message cap (4 x frame size + 4 KiB): Beast refuses it with close 1009
  // while our client is still writing, and the server's RST can discard that close frame before
  // this blocking client reads it; tests/js/server-limits.test.mjs sees the 1009 itself. Here: the
  // connection ends and the server is unharmed.
  d->sendFrame(Frame("SEND", {{"destination", "/topic/x"}}, std::string(100000, 'x')));
  CHECK(d->waitClosed().has_value());
  auto ok = connected(*s);  // a frame within the limit still goes through
  subscribe(*ok, "1", "/topic/ok");
  ok->sendFrame(Frame("SEND", {{"destination", "/topic/ok"}}, std::string(900, 'y')));
  CHECK(ok->readUntil("MESSAGE")->body.size() == 900);
}

TEST_CASE("slow consumer: a full send buffer disconnects it, the publisher is unaffected", "[integration][limits][slow]") {
  auto s = ServerProcess::start({"--send-buffer", "65536", "--rate-limit-user", "0", "--rate-limit-ip", "0"});
  WsOptions small;
  small.receiveBuffer = 4096;
  auto slow = connected(*s, {}, small);
  subscribe(*slow, "1", "/topic/firehose");
  auto pub = connected(*s);
  std::string body(16 * 1024, 'z');
  // The slow client reads nothing: kernel buffers fill, then the server's queue passes 64 KiB.
  for (int i = 0; i < 2000 && metricValue(metrics(*s), "stompwire_slow_consumer_disconnects_total") == 0; ++i)
    REQUIRE(pub->sendFrame(Frame("SEND", {{"destination", "/topic/firehose"}}, body)));
  CHECK(metricValue(metrics(*s), "stompwire_slow_consumer_disconnects_total") == 1);
  CHECK(metricValue(metrics(*s), "stompwire_connections") == 1);
  pub->sendFrame(Frame("SEND", {{"destination", "/topic/x"}, {"receipt", "still-here"}}, "x"));
  CHECK(hdr(pub->readUntil("RECEIPT"), "receipt-id") == "still-here");
  CHECK_THAT(s->stderrText(), ContainsSubstring("send buffer full"));
}

TEST_CASE("slow consumer: a write past the send timeout disconnects it", "[integration][limits][slow]") {
  auto s = ServerProcess::start({"--send-timeout", "300", "--send-buffer", "67108864", "--rate-limit-user", "0",
                                 "--rate-limit-ip", "0", "--max-frame-size", "1048576"});
  WsOptions small;
  small.receiveBuffer = 4096;
  auto slow = connected(*s, {}, small);
  subscribe(*slow, "1", "/topic/big");
  auto pub = connected(*s);
  std::string body(512 * 1024, 'q');
  for (int i = 0; i < 40; ++i) pub->sendFrame(Frame("SEND", {{"destination", "/topic/big"}}, body));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metricValue(metrics(*s), "stompwire_slow_consumer_disconnects_total") == 0 && std::chrono::steady_clock::now() < deadline)
    pub->sendFrame(Frame("SEND", {{"destination", "/topic/x"}, {"receipt", "p"}}, "x")), pub->readUntil("RECEIPT", 1s);
  CHECK(metricValue(metrics(*s), "stompwire_slow_consumer_disconnects_total") == 1);
  CHECK_THAT(s->stderrText(), ContainsSubstring("send timeout"));
}

TEST_CASE("max connections: 503 past it, room again after a close", "[integration][limits]") {
  auto s = ServerProcess::start({"--max-connections", "2"});
  auto a = std::make_unique<WsClient>();
  WsClient b, c;
  REQUIRE(a->connect(s->host(), s->port()) == 101);
  REQUIRE(b.connect(s->host(), s->port()) == 101);
  CHECK(c.connect(s->host(), s->port()) == 503);
  CHECK_THAT(c.responseBody(), ContainsSubstring("too many connections"));
  a->sendFrame(Frame("DISCONNECT", {}));
  CHECK(a->waitClosed().has_value());
  a.reset();
  // The slot frees when the server has processed the close: wait for the gauge, not a fixed time.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metricValue(metrics(*s), "stompwire_connections") != 1 && std::chrono::steady_clock::now() < deadline) {}
  WsClient d;
  CHECK(d.connect(s->host(), s->port()) == 101);
  CHECK(metricValue(metrics(*s), "stompwire_connections_rejected_total{reason=\"max_connections\"}") == 1);
}

TEST_CASE("handshake timeout: silent TCP connections and WebSockets without CONNECT are closed", "[integration][limits]") {
  auto s = ServerProcess::start({"--handshake-timeout", "300"});
  // Half an HTTP request, then silence: the server hangs up after the handshake timeout.
  auto t0 = std::chrono::steady_clock::now();
  CHECK(closedAfter(s->host(), s->port(), "GET /ws HTTP/1.1\r\nHost: x\r\n", 5s));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 250ms);
  CHECK(took < 3s);
  CHECK(closedAfter(s->host(), s->port(), "", 5s));  // nothing at all
  // Upgraded, but no CONNECT frame.
  WsClient ws;
  REQUIRE(ws.connect(s->host(), s->port()) == 101);
  CHECK(ws.waitClosed(3s) == 1008);
  CHECK(ws.closeReason() == "no CONNECT frame in time");
  CHECK(metricValue(metrics(*s), "stompwire_connections_rejected_total{reason=\"handshake_timeout\"}") == 2);
}

TEST_CASE("max HTTP header size: 431", "[integration][limits]") {
  auto s = ServerProcess::start({"--max-header-size", "2048"});
  auto r = httpRequest(s->host(), s->port(), "GET", "/healthz", {"X-Big: " + std::string(4000, 'h')});
  CHECK(r.status == 431);
  CHECK(httpRequest(s->host(), s->port(), "GET", "/healthz", {"X-Small: 1"}).status == 200);
}

// ---- heart-beats, fault injection ---------------------------------------------------------------

TEST_CASE("heart-beats both ways: the server beats, and drops a silent client", "[integration][heartbeat]") {
  auto s = ServerProcess::start({"--heartbeat-send", "100", "--heartbeat-receive", "100"});
  auto beating = connected(*s, {{"heart-beat", "0,100"}});
  CHECK_FALSE(beating->readFrame(550ms));  // no frames, only EOLs
  CHECK(beating->heartbeats() >= 3);
  auto silent = connected(*s, {{"heart-beat", "100,0"}});
  auto t0 = std::chrono::steady_clock::now();
  CHECK(silent->waitClosed(3s) == 1001);
  CHECK(silent->closeReason() == "heart-beat timeout");
  CHECK(std::chrono::steady_clock::now() - t0 >= 150ms);
  CHECK(metricValue(metrics(*s), "stompwire_heartbeat_timeouts_total") == 1);
}

TEST_CASE("fault injection is off by default", "[integration][fault]") {
  auto s = ServerProcess::start();
  CHECK(httpRequest(s->host(), s->port(), "POST", "/admin/fault/drop").status == 404);
}

TEST_CASE("fault injection: drop every connection, pause heart-beats, stall writes", "[integration][fault]") {
  auto s = ServerProcess::start({"--fault-injection", "--heartbeat-send", "100"});
  auto a = connected(*s, {{"heart-beat", "0,100"}}), b = connected(*s);
  auto r = httpRequest(s->host(), s->port(), "POST", "/admin/fault/drop");
  CHECK(r.status == 200);
  CHECK(r.body == "{\"dropped\":2}\n");
  CHECK(a->waitClosed() == 1006);
  CHECK(b->waitClosed() == 1006);

  auto c = connected(*s, {{"heart-beat", "0,100"}});
  CHECK(httpRequest(s->host(), s->port(), "POST", "/admin/fault/heartbeats?pause=1").status == 200);
  c->readFrame(150ms);  // let any beat already queued arrive
  auto before = c->heartbeats();
  CHECK_FALSE(c->readFrame(400ms));
  CHECK(c->heartbeats() == before);
  CHECK(httpRequest(s->host(), s->port(), "POST", "/admin/fault/heartbeats?pause=0").status == 200);
  CHECK_FALSE(c->readFrame(400ms));
  CHECK(c->heartbeats() > before);

  subscribe(*c, "1", "/topic/stall");
  CHECK(httpRequest(s->host(), s->port(), "POST", "/admin/fault/stall?ms=400").status == 200);
  auto t0 = std::chrono::steady_clock::now();
  c->sendFrame(Frame("SEND", {{"destination", "/topic/stall"}}, "late"));
  auto m = c->readUntil("MESSAGE", 3s);
  REQUIRE(m);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
}

// ---- TLS, config file, restart --------------------------------------------------------------------

TEST_CASE("wss:// with --tls-cert/--tls-key", "[integration][tls]") {
  std::string dir = "/tmp/stompwire-tls-" + std::to_string(::getpid());
  auto [out, code] = runCommand("mkdir -p " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                                dir + "/key.pem -out " + dir + "/cert.pem");
  REQUIRE(code == 0);
  auto s = ServerProcess::start({"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"});
  CHECK(s->tls());
  CHECK(s->url().starts_with("wss://127.0.0.1:"));
  auto c = connected(*s, {{"login", "tls"}}, WsOptions{.tls = true});
  subscribe(*c, "1", "/topic/secure");
  c->sendFrame(Frame("SEND", {{"destination", "/topic/secure"}}, "encrypted"));
  CHECK(c->readUntil("MESSAGE")->body == "encrypted");
  WsClient plain;
  CHECK(plain.connect(s->host(), s->port()) == 0);  // plain HTTP to a TLS port: no HTTP answer
  runCommand("rm -rf " + dir);
}

TEST_CASE("config JSON file; command-line flags win", "[integration][cli][config]") {
  std::string path = "/tmp/stompwire-config-" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream f(path);
    f << R"({"user": ["ann:from-file"], "max-connections": 1, "listen": "127.0.0.1:1"})";
  }
  auto s = ServerProcess::start({"--config", path, "--listen", "127.0.0.1:0"});
  auto ok = connected(*s, {{"login", "ann"}, {"passcode", "from-file"}});
  WsClient second;
  CHECK(second.connect(s->host(), s->port()) == 503);
  std::remove(path.c_str());
}

TEST_CASE("restart on the same port right after a stop (SO_REUSEADDR)", "[integration][restart]") {
  auto s = ServerProcess::start();
  auto port = s->port();
  auto c = connected(*s);
  CHECK(s->stop() == 0);
  auto again = ServerProcess::start({"--listen", "127.0.0.1:" + std::to_string(port)});
  CHECK(again->port() == port);
  connected(*again);
}

// ---- graceful shutdown ----------------------------------------------------------------------------

TEST_CASE("SIGTERM: ERROR 'server shutting down' + close 1001 to every client, exit 0", "[integration][shutdown]") {
  auto s = ServerProcess::start();
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(connected(*s, {{"login", "u" + std::to_string(i)}}));
    subscribe(*clients.back(), "1", "/topic/t");
  }
  // Read in parallel with the shutdown: each client sees ERROR then the close frame.
  kill(s->pid(), SIGTERM);
  for (auto& c : clients) {
    auto f = c->readUntil("ERROR");
    CHECK(hdr(f, "message") == "server shutting down");
    CHECK(c->waitClosed() == 1001);
  }
  CHECK(s->wait(5s) == 0);
  CHECK_THAT(s->stderrText(), ContainsSubstring("\"event\":\"shutdown.done\",\"how\":\"drained\""));
}

TEST_CASE("SIGINT with a client that never answers the close: exit 0 within the deadline", "[integration][shutdown]") {
  auto s = ServerProcess::start({"--shutdown-timeout", "500"});
  auto stubborn = connected(*s);  // never reads again, so never answers the close frame
  auto t0 = std::chrono::steady_clock::now();
  kill(s->pid(), SIGINT);
  CHECK(s->wait(5s) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(httpRequest(s->host(), s->port(), "GET", "/healthz", {}, 1s).status == 0);  // nothing listens any more
}
