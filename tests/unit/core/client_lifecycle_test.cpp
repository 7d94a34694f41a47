// Client policy: options, connect, timeouts, beforeConnect, reconnect/backoff, heart-beat loss, states,
// deactivate in every state, and destroying the client from inside its callbacks.
#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <random>

#include "client_fixture.hpp"

using namespace stompwire;
using namespace stompwire::test;

TEST_CASE("create validates every option and names the bad one", "[client][options]") {
  ManualScheduler sched;
  FakeNetwork net;
  struct Case {
    const char* what;
    void (*mutate)(ClientOptions&);
  };
  const Case cases[] = {
      {"brokerURL", [](ClientOptions& o) { o.brokerURL.clear(); }},
      {"versions", [](ClientOptions& o) { o.versions.clear(); }},
      {"versions", [](ClientOptions& o) { o.versions = {static_cast<Version>(7)}; }},
      {"connectHeaders", [](ClientOptions& o) { o.connectHeaders = {{"", "x"}}; }},
      {"heartbeatIncoming", [](ClientOptions& o) { o.heartbeatIncoming = Millis(-1); }},
      {"heartbeatOutgoing", [](ClientOptions& o) { o.heartbeatOutgoing = Millis(-1); }},
      {"heartbeatToleranceMultiplier", [](ClientOptions& o) { o.heartbeatToleranceMultiplier = 0.5; }},
      {"heartbeatToleranceMultiplier", [](ClientOptions& o) { o.heartbeatToleranceMultiplier = std::nan(""); }},
      {"connectionTimeout", [](ClientOptions& o) { o.connectionTimeout = Millis(-1); }},
      {"receiptTimeout", [](ClientOptions& o) { o.receiptTimeout = Millis(-1); }},
      {"disconnectTimeout", [](ClientOptions& o) { o.disconnectTimeout = Millis(-1); }},
      {"reconnect.initialDelay", [](ClientOptions& o) { o.reconnect.initialDelay = Millis(-1); }},
      {"reconnect.initialDelay", [](ClientOptions& o) { o.reconnect.initialDelay = Millis(0); }},
      {"reconnect.maxDelay", [](ClientOptions& o) { o.reconnect.maxDelay = Millis(10); }},
      {"reconnect.multiplier", [](ClientOptions& o) { o.reconnect.multiplier = 0.9; }},
      {"reconnect.resetAfter", [](ClientOptions& o) { o.reconnect.resetAfter = Millis(-5); }},
      {"maxWebSocketChunkSize", [](ClientOptions& o) { o.splitLargeFrames = true; o.maxWebSocketChunkSize = 0; }},
      {"maxIncomingFrameSize", [](ClientOptions& o) { o.maxIncomingFrameSize = 10; }},
  };
  for (const auto& c : cases) {
    ClientOptions o = testOptions();
    c.mutate(o);
    auto r = Client::create(o, net.factory(), sched, {});
    INFO(c.what);
    CHECK(r.error == errc::invalid_argument);
    CHECK(r.what == c.what);
    CHECK_FALSE(r.client);
  }
  auto noFactory = Client::create(testOptions(), {}, sched, {});
  CHECK(noFactory.error == errc::invalid_argument);
  CHECK(noFactory.what == "transportFactory");
  auto ok = Client::create(testOptions(), net.factory(), sched, {});
  CHECK_FALSE(ok.error);
  REQUIRE(ok.client);
  CHECK(ok.client->state() == ClientState::inactive);
  CHECK(ok.client->options().brokerURL == testOptions().brokerURL);
  ClientOptions off = testOptions();
  off.reconnect.enabled = false;
  off.reconnect.initialDelay = Millis(0);
  CHECK_FALSE(validate(off));  // irrelevant when reconnect is off
  // Defaults are valid too.
  ClientOptions defaults;
  defaults.brokerURL = "ws://x";
  CHECK_FALSE(validate(defaults));
}

TEST_CASE("activate: open with subprotocols, CONNECT with headers, CONNECTED, listeners", "[client]") {
  ClientOptions o = testOptions();
  o.connectHeaders = {{"login", "guest"}, {"passcode", "pw"}, {"host", "/"}};
  ClientFixture f(o);
  int second = 0;
  auto id = f.client->onConnect([&](const Frame& fr) {
    ++second;
    CHECK(fr.header("session") == "s1");
  });
  f.client->activate();
  f.client->activate();  // no-op while connecting
  CHECK(f.client->state() == ClientState::connecting);
  REQUIRE(f.net.count() == 1);
  auto& l = f.net.last();
  CHECK(l.url == o.brokerURL);
  CHECK(l.subprotocols == std::vector<std::string>{"v12.stomp", "v11.stomp", "v10.stomp"});
  CHECK(l.sent.empty());
  l.accept("v12.stomp");
  auto connect = l.lastFrame();
  REQUIRE(connect);
  CHECK(connect->command == "CONNECT");
  CHECK(connect->header("login") == "guest");
  CHECK(connect->header("passcode") == "pw");
  CHECK(connect->header("host") == "/");
  CHECK(connect->header("accept-version") == "1.0,1.1,1.2");
  l.connected();
  CHECK(f.client->connected());
  CHECK(second == 1);
  CHECK(f.log == std::vector<std::string>{"state:connecting", "state:connected", "connect"});
  CHECK(f.client->removeListener(id));
  CHECK_FALSE(f.client->removeListener(id));
  f.client->activate();  // connected: no-op
  CHECK(f.net.count() == 1);
  CHECK(f.sched.pendingTimers() == 0);  // connect timer cancelled, no heart-beats
}

TEST_CASE("connection timeout counts as a failed attempt and closes the transport", "[client]") {
  ClientFixture f;
  f.client->activate();
  auto& l = f.net.last();
  l.accept();
  f.sched.advance(4999ms);
  CHECK(f.client->state() == ClientState::connecting);
  f.sched.advance(1ms);
  CHECK(f.client->state() == ClientState::reconnecting);
  CHECK(f.logged("state:reconnecting(connect_timeout)"));
  CHECK(l.closeRequested);
  CHECK(l.closeCode == 4000);
  CHECK(l.closeReason == "connect_timeout");
  CHECK(l.destroyed);  // retired via post, after the callback stack unwound
  CHECK(f.client->metrics().lastError == errc::connect_timeout);
  // A late CONNECTED on the retired transport changes nothing.
  CHECK(f.client->state() == ClientState::reconnecting);
}

TEST_CASE("a refused transport (factory returns null) is a failed attempt", "[client]") {
  ClientFixture f;
  f.net.refuse = true;
  f.client->activate();
  CHECK(f.client->state() == ClientState::reconnecting);
  CHECK(f.logged("state:reconnecting(transport_error)"));
  f.net.refuse = false;
  f.sched.advance(500ms);  // backoff(1) = 1000 * 0.5
  CHECK(f.client->state() == ClientState::connecting);
  f.serverAccepts();
  CHECK(f.client->connected());
  CHECK(f.client->metrics().reconnects == 1);
  CHECK(f.client->metrics().attempts == 2);
}

TEST_CASE("beforeConnect runs before every attempt - async - failure counts - setConnectHeaders", "[client]") {
  ClientOptions o = testOptions();
  std::vector<BeforeConnectDone> calls;
  o.beforeConnect = [&](BeforeConnectDone done) { calls.push_back(std::move(done)); };
  ClientFixture f(o);
  f.client->activate();
  REQUIRE(calls.size() == 1);
  CHECK(f.net.count() == 0);  // nothing opened until done()
  f.client->setConnectHeaders({{"Authorization", "Bearer t1"}});
  calls[0]({});
  calls[0]({});  // a second call is ignored
  REQUIRE(f.net.count() == 1);
  auto& l = f.net.last();
  l.accept();
  CHECK(l.lastFrame()->header("Authorization") == "Bearer t1");
  l.drop();
  CHECK(f.client->state() == ClientState::reconnecting);
  f.sched.advance(500ms);
  REQUIRE(calls.size() == 2);
  calls[1](make_error_code(errc::unauthorized));
  calls[1]({});  // a second call after a failure is ignored too
  auto copy = calls[1];
  copy({});  // and so is a copy's
  CHECK(f.client->state() == ClientState::reconnecting);
  CHECK(f.logged("state:reconnecting(before_connect_failed)"));
  CHECK(f.net.count() == 1);
  CHECK(f.client->metrics().consecutiveFailures == 2);
  f.sched.advance(1000ms);  // backoff(2) = 2000 * 0.5
  REQUIRE(calls.size() == 3);
  // A done() that arrives after the attempt timed out is stale.
  f.sched.advance(5000ms);
  CHECK(f.logged("state:reconnecting(connect_timeout)"));
  calls[2]({});
  CHECK(f.net.count() == 1);
}

TEST_CASE("beforeConnect is not called for an attempt an earlier callback cancelled", "[client]") {
  ClientOptions o = testOptions();
  int calls = 0;
  o.beforeConnect = [&](BeforeConnectDone done) {
    ++calls;
    done({});
  };
  ClientFixture f(o);
  f.client->onStateChange([&](const StateChange& c) {
    if (c.state == ClientState::connecting) f.client->deactivate();
  });
  f.client->activate();
  CHECK(calls == 0);
  CHECK(f.net.count() == 0);
  CHECK(f.client->state() == ClientState::inactive);
}

TEST_CASE("beforeConnect completing synchronously", "[client]") {
  ClientOptions o = testOptions();
  int n = 0;
  o.beforeConnect = [&](BeforeConnectDone done) {
    ++n;
    done({});
  };
  ClientFixture f(o);
  f.activateAndConnect();
  CHECK(n == 1);
  CHECK(f.client->connected());
}

TEST_CASE("backoff: exponential sequence capped at maxDelay", "[client][backoff]") {
  ReconnectOptions r;
  r.initialDelay = 1000ms;
  r.maxDelay = 30000ms;
  r.multiplier = 2.0;
  const long expected[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (std::uint32_t n = 1; n <= 8; ++n) CHECK(backoffDelay(r, n, 1.0).count() == expected[n - 1]);
  CHECK(backoffDelay(r, 0, 1.0) == 1000ms);  // treated as the first
  CHECK(backoffDelay(r, 4000000000u, 1.0) == 30000ms);  // no overflow
  CHECK(backoffDelay(r, 3, 0.0) == 0ms);
  CHECK(backoffDelay(r, 3, 0.5) == 2000ms);
  CHECK(backoffDelay(r, 3, -3.0) == 0ms);
  CHECK(backoffDelay(r, 3, 7.0) == 4000ms);
  CHECK(backoffDelay(r, 3, std::nan("")) == 0ms);
  r.multiplier = 1.5;
  CHECK(backoffDelay(r, 3, 1.0) == 2250ms);
}

TEST_CASE("backoff: full jitter stays within 0..base over 10,000 draws and spreads evenly", "[client][backoff]") {
  ReconnectOptions r;
  r.initialDelay = 500ms;
  r.maxDelay = 20000ms;
  r.multiplier = 3.0;
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  for (std::uint32_t failures : {1u, 2u, 3u, 4u, 10u}) {
    const double base = std::min(20000.0, 500.0 * std::pow(3.0, failures - 1));
    double sum = 0, lo = 1e18, hi = -1;
    int buckets[10] = {};
    for (int i = 0; i < 10000; ++i) {
      auto d = static_cast<double>(backoffDelay(r, failures, uni(rng)).count());
      REQUIRE(d >= 0);
      REQUIRE(d < base);
      sum += d;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      ++buckets[std::min(9, static_cast<int>(d / base * 10))];
    }
    INFO("failures " << failures << " base " << base << " mean " << sum / 10000);
    CHECK(std::abs(sum / 10000 - base / 2) < base * 0.02);
    CHECK(lo < base * 0.01);
    CHECK(hi > base * 0.99);
    for (int b : buckets) CHECK((b > 850 && b < 1150));
  }
}

TEST_CASE("backoff through the client: delays grow, nextAttemptAt is reported, success resets", "[client][backoff]") {
  ClientFixture f;
  f.random = 0.999;
  f.client->activate();
  std::vector<long> delays;
  for (int i = 0; i < 5; ++i) {
    f.sched.runPosted();
    f.net.last().drop();
    REQUIRE(f.client->state() == ClientState::reconnecting);
    auto m = f.client->metrics();
    REQUIRE(m.nextAttemptAt);
    delays.push_back((*m.nextAttemptAt - f.sched.now()).count());
    f.sched.advanceTo(*m.nextAttemptAt);
    REQUIRE(f.client->state() == ClientState::connecting);
  }
  CHECK(delays == std::vector<long>{999, 1998, 3996, 7992, 7992});
  CHECK(f.client->metrics().consecutiveFailures == 5);
  // A connection that drops before resetAfter keeps counting...
  f.serverAccepts();
  f.sched.advance(9999ms);
  f.net.last().drop();
  CHECK(f.client->metrics().consecutiveFailures == 6);
  f.sched.advanceTo(*f.client->metrics().nextAttemptAt);
  // ...one that stayed up for resetAfter starts over at initialDelay.
  f.serverAccepts();
  CHECK(f.client->metrics().consecutiveFailures == 6);
  f.sched.advance(10000ms);
  CHECK(f.client->metrics().consecutiveFailures == 0);  // stable now
  f.net.last().drop();
  CHECK(f.client->metrics().consecutiveFailures == 1);
  CHECK(*f.client->metrics().nextAttemptAt - f.sched.now() == 999ms);
}

TEST_CASE("maxAttempts: terminal failed state with the reason - activate restarts", "[client][backoff]") {
  ClientOptions o = testOptions();
  o.reconnect.maxAttempts = 3;
  ClientFixture f(o);
  f.client->activate();
  auto queued = f.client->publish({.destination = "/q", .body = "x"});
  CHECK(queued.status() == PublishStatus::queued);
  for (int i = 0; i < 3; ++i) {
    f.sched.runPosted();
    f.net.last().drop();
    if (i < 2) f.sched.advanceTo(*f.client->metrics().nextAttemptAt);
  }
  CHECK(f.client->state() == ClientState::failed);
  CHECK(f.logged("state:failed(max_attempts_reached)"));
  CHECK(f.net.count() == 3);
  CHECK(queued.error() == errc::max_attempts_reached);  // nothing dropped silently
  f.sched.advance(60000ms);
  CHECK(f.net.count() == 3);
  f.client->activate();
  f.serverAccepts();
  CHECK(f.client->connected());
}

TEST_CASE("reconnect disabled: the first failure is terminal", "[client]") {
  ClientOptions o = testOptions();
  o.reconnect.enabled = false;
  ClientFixture f(o);
  f.activateAndConnect().drop(1001, "going away", true);
  CHECK(f.client->state() == ClientState::failed);
  CHECK(f.log == std::vector<std::string>{"state:connecting", "state:connected", "connect", "ws-close:1001",
                                          "disconnect:connection_closed", "state:failed(connection_closed)"});
}

TEST_CASE("transport error then close: reported, and the error is the failure reason", "[client]") {
  ClientFixture f;
  auto& l = f.activateAndConnect();
  l.fail(make_error_code(std::errc::connection_reset));
  CHECK(f.client->connected());  // waits for onClose
  l.drop();
  CHECK(f.client->state() == ClientState::reconnecting);
  CHECK(f.log == std::vector<std::string>{"state:connecting", "state:connected", "connect", "ws-error",
                                          "ws-close:1006", "disconnect:other", "state:reconnecting(other)"});
  CHECK(f.client->metrics().lastError == std::errc::connection_reset);
}

TEST_CASE("ERROR frame: surfaced with headers and body, then reconnect", "[client]") {
  ClientFixture f;
  std::string header;
  f.client->onStompError([&](const Frame& e) { header = std::string(e.header("message").value_or("")); });
  auto& l = f.activateAndConnect();
  f.log.clear();
  l.deliver(stompFrame("ERROR", {{"message", "malformed"}}, "explain"));
  CHECK(header == "malformed");
  CHECK(f.log == std::vector<std::string>{"stomp-error:explain", "disconnect:stomp_error",
                                          "state:reconnecting(stomp_error)"});
  CHECK(l.closeRequested);
  f.sched.advance(500ms);
  f.serverAccepts();
  CHECK(f.client->connected());
}

TEST_CASE("ERROR mid-stream: earlier messages are delivered, later ones are not", "[client]") {
  ClientFixture f;
  std::vector<std::string> got;
  f.client->subscribe("/topic/t", [&](const Message& m) { got.emplace_back(m.body()); }, {{"id", "s"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("s", "one") + message("s", "two") + stompFrame("ERROR", {}, "bad") + message("s", "three"));
  CHECK(got == std::vector<std::string>{"one", "two"});
  CHECK(f.logged("stomp-error:bad"));
  CHECK(f.client->state() == ClientState::reconnecting);
}

TEST_CASE("ERROR during connect (e.g. bad credentials) is a failed attempt", "[client]") {
  ClientFixture f;
  f.client->activate();
  auto& l = f.net.last();
  l.accept();
  l.deliver(stompFrame("ERROR", {{"message", "auth"}}, "denied"));
  CHECK(f.log == std::vector<std::string>{"state:connecting", "stomp-error:denied", "state:reconnecting(stomp_error)"});
  CHECK(f.client->metrics().consecutiveFailures == 1);
}

TEST_CASE("heart-beat loss is detected at interval x tolerance and triggers a reconnect", "[client][heartbeat]") {
  ClientOptions o = testOptions();
  o.heartbeatIncoming = 1000ms;
  o.heartbeatOutgoing = 800ms;
  o.heartbeatToleranceMultiplier = 2.0;
  ClientFixture f(o);
  auto& l = f.activateAndConnect("1.2", "1500,1000");  // server sends every 1500, wants ours every 1000
  // Negotiated: we send every max(800,1000)=1000; we expect every max(1500,1000)=1500; limit 3000.
  f.sched.advance(1000ms);
  CHECK(l.heartbeatsSent() == 1);
  f.sched.advance(1000ms);
  CHECK(l.heartbeatsSent() == 2);
  l.deliver("\n");  // t=2000: the server's heart-beat
  CHECK(f.client->metrics().heartbeatsIn == 1);
  CHECK(f.client->metrics().lastReceivedAt == 2000ms);
  f.sched.advance(2999ms);
  CHECK(f.client->connected());
  f.sched.advance(1ms);  // t = 5000 = 2000 + 1500 x 2
  CHECK(f.client->state() == ClientState::reconnecting);
  CHECK(f.logged("disconnect:heartbeat_timeout"));
  CHECK(l.closeRequested);
  CHECK(l.closeReason == "heartbeat_timeout");
  CHECK(f.client->metrics().heartbeatsOut >= 4);
}

TEST_CASE("STOMP 1.0 server: no heart-beats even when asked", "[client][heartbeat]") {
  ClientOptions o = testOptions();
  o.heartbeatIncoming = 1000ms;
  o.heartbeatOutgoing = 1000ms;
  ClientFixture f(o);
  auto& l = f.activateAndConnect("1.0", "1000,1000");
  f.sched.advance(60000ms);
  CHECK(f.client->connected());
  CHECK(l.heartbeatsSent() == 0);
}

TEST_CASE("incoming oversize frame: error + reconnect, not unbounded memory", "[client]") {
  ClientOptions o = testOptions();
  o.maxIncomingFrameSize = 1024;
  ClientFixture f(o);
  auto& l = f.activateAndConnect();
  l.deliver(message("s", std::string(4096, 'x')));
  CHECK(f.client->state() == ClientState::reconnecting);
  auto err = f.client->metrics().lastError;
  CHECK((err == errc::frame_too_large || err == errc::body_too_large));
}

TEST_CASE("states are observable: all six, with nextAttemptAt in reconnecting", "[client]") {
  ClientOptions o = testOptions();
  o.reconnect.maxAttempts = 2;
  ClientFixture f(o);
  std::vector<StateChange> changes;
  f.client->onStateChange([&](const StateChange& c) { changes.push_back(c); });
  auto& l = f.activateAndConnect();
  f.client->deactivate();
  CHECK(f.client->state() == ClientState::deactivating);
  l.deliver(receipt(l.lastFrame()->header("receipt").value()));
  CHECK(f.client->state() == ClientState::inactive);
  f.client->activate();
  f.sched.runPosted();
  f.net.last().drop();
  REQUIRE(f.client->state() == ClientState::reconnecting);
  f.sched.advanceTo(*f.client->metrics().nextAttemptAt);
  f.net.last().drop();
  CHECK(f.client->state() == ClientState::failed);
  std::vector<ClientState> seq;
  for (auto& c : changes) seq.push_back(c.state);
  CHECK(seq == std::vector<ClientState>{ClientState::connecting, ClientState::connected, ClientState::deactivating,
                                         ClientState::inactive, ClientState::connecting, ClientState::reconnecting,
                                         ClientState::connecting, ClientState::failed});
  CHECK(changes[5].previous == ClientState::connecting);
  REQUIRE(changes[5].nextAttemptAt);
  CHECK_FALSE(changes[4].nextAttemptAt);
  for (auto s : {ClientState::inactive, ClientState::connecting, ClientState::connected, ClientState::reconnecting,
                 ClientState::deactivating, ClientState::failed})
    CHECK(toString(s) != "unknown");
}

TEST_CASE("graceful deactivate: DISCONNECT + receipt, then close and inactive", "[client][deactivate]") {
  ClientFixture f;
  auto& l = f.activateAndConnect();
  int done = 0;
  f.client->deactivate({}, [&] { ++done; });
  f.client->deactivate({}, [&] { ++done; });  // a second request joins the first
  auto d = l.lastFrame();
  REQUIRE(d->command == "DISCONNECT");
  CHECK(l.framesNamed("DISCONNECT").size() == 1);
  CHECK(done == 0);
  CHECK_FALSE(l.closeRequested);
  l.deliver(receipt(*d->header("receipt")));
  CHECK(done == 2);
  CHECK(l.closeRequested);
  CHECK(l.closeCode == 1000);
  CHECK(f.client->state() == ClientState::inactive);
  CHECK(f.log == std::vector<std::string>{"state:connecting", "state:connected", "connect", "state:deactivating",
                                          "disconnect", "state:inactive"});
  f.sched.advance(60000ms);
  CHECK(f.net.count() == 1);  // no reconnect
}

TEST_CASE("graceful deactivate without a receipt gives up after disconnectTimeout", "[client][deactivate]") {
  ClientFixture f;
  auto& l = f.activateAndConnect();
  bool done = false;
  f.client->deactivate({}, [&] { done = true; });
  f.sched.advance(4999ms);
  CHECK_FALSE(done);
  f.sched.advance(1ms);
  CHECK(done);
  CHECK(l.closeRequested);
  CHECK(f.client->state() == ClientState::inactive);
}

TEST_CASE("deactivate while deactivating with force - transport drop while deactivating", "[client][deactivate]") {
  SECTION("force") {
    ClientFixture f;
    auto& l = f.activateAndConnect();
    f.client->deactivate();
    f.client->deactivate({.force = true});
    CHECK(f.client->state() == ClientState::inactive);
    CHECK(l.closeRequested);
  }
  SECTION("drop") {
    ClientFixture f;
    auto& l = f.activateAndConnect();
    f.client->deactivate();
    l.drop();
    CHECK(f.client->state() == ClientState::inactive);
    CHECK(f.logged("disconnect:connection_closed"));
    f.sched.advance(60000ms);
    CHECK(f.net.count() == 1);
  }
  SECTION("force when connected") {
    ClientFixture f;
    auto& l = f.activateAndConnect();
    f.client->deactivate({.force = true});
    CHECK(f.client->state() == ClientState::inactive);
    CHECK(l.framesNamed("DISCONNECT").empty());
    CHECK(l.closeRequested);
  }
}

TEST_CASE("deactivate during connecting: before open, after open, before beforeConnect completes", "[client][deactivate]") {
  SECTION("before open") {
    ClientFixture f;
    f.client->activate();
    bool done = false;
    f.client->deactivate({}, [&] { done = true; });
    CHECK(done);
    CHECK(f.client->state() == ClientState::inactive);
    CHECK(f.net.last().closeRequested);
    f.net.last().accept();  // destroyed: nothing delivered
    f.sched.advance(60000ms);
    CHECK(f.net.count() == 1);
    CHECK(f.states() == std::vector<std::string>{"state:connecting", "state:inactive"});
  }
  SECTION("after open, CONNECT sent") {
    ClientFixture f;
    f.client->activate();
    auto link = f.net.links.back();
    link->accept();
    f.client->deactivate();
    CHECK(f.client->state() == ClientState::inactive);
    CHECK(link->framesNamed("DISCONNECT").empty());
    f.sched.runPosted();
    CHECK(link->destroyed);
    CHECK_FALSE(f.logged("connect"));
  }
  SECTION("beforeConnect pending") {
    ClientOptions o = testOptions();
    BeforeConnectDone pending;
    o.beforeConnect = [&](BeforeConnectDone d) { pending = std::move(d); };
    ClientFixture f(o);
    f.client->activate();
    f.client->deactivate();
    pending({});
    CHECK(f.net.count() == 0);
    CHECK(f.client->state() == ClientState::inactive);
  }
}

TEST_CASE("deactivate during backoff cancels the reconnect", "[client][deactivate]") {
  ClientFixture f;
  f.activateAndConnect().drop();
  REQUIRE(f.client->state() == ClientState::reconnecting);
  f.client->deactivate();
  CHECK(f.client->state() == ClientState::inactive);
  f.sched.advance(60000ms);
  CHECK(f.net.count() == 1);
  CHECK(f.sched.pendingTimers() == 0);
}

TEST_CASE("deactivate inside onConnect", "[client][deactivate]") {
  ClientFixture f;
  std::vector<std::string> subsSeen;
  f.client->subscribe("/topic/a", [](const Message&) {});
  f.client->onConnect([&](const Frame&) { f.client->deactivate(); });
  auto& l = f.activateAndConnect();
  CHECK(f.client->state() == ClientState::deactivating);
  auto frames = l.frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames[1].command == "SUBSCRIBE");
  CHECK(frames[2].command == "DISCONNECT");
  l.deliver(receipt(*frames[2].header("receipt")));
  CHECK(f.client->state() == ClientState::inactive);
  CHECK(f.states() == std::vector<std::string>{"state:connecting", "state:connected", "state:deactivating",
                                               "state:inactive"});
}

TEST_CASE("activate and deactivate in any order, repeatedly, from callbacks", "[client][deactivate]") {
  ClientFixture f;
  // deactivate when inactive: done runs, nothing else.
  bool done = false;
  f.client->deactivate({}, [&] { done = true; });
  CHECK(done);
  CHECK(f.log.empty());
  // activate inside onStateChange(inactive) after a deactivate: reconnects cleanly.
  auto& l = f.activateAndConnect();
  bool once = true;
  f.client->onStateChange([&](const StateChange& c) {
    if (c.state == ClientState::inactive && once) {
      once = false;
      f.client->activate();
    }
  });
  f.client->deactivate({.force = true});
  CHECK(l.closeRequested);
  CHECK(f.client->state() == ClientState::connecting);
  f.serverAccepts();
  CHECK(f.client->connected());
  // activate while deactivating does nothing; the deactivate still completes.
  f.client->deactivate();
  f.client->activate();
  CHECK(f.client->state() == ClientState::deactivating);
  f.client->deactivate({.force = true});
  CHECK(f.client->state() == ClientState::inactive);
  // from failed, deactivate makes it inactive.
  ClientOptions o = testOptions();
  o.reconnect.enabled = false;
  ClientFixture g(o);
  g.activateAndConnect().drop();
  CHECK(g.client->state() == ClientState::failed);
  g.client->deactivate();
  CHECK(g.client->state() == ClientState::inactive);
}

TEST_CASE("destroying the client inside each of its callbacks is safe", "[client][lifetime]") {
  enum Where { onConnect, onMessage, onStateChangeReconnecting, onStompError, onWsClose, onReceipt, beforeConnect,
               onUnhandled, onDeactivated, onWsError };
  for (Where where : {onConnect, onMessage, onStateChangeReconnecting, onStompError, onWsClose, onReceipt,
                      beforeConnect, onUnhandled, onDeactivated, onWsError}) {
    INFO("where " << where);
    ManualScheduler sched;
    FakeNetwork net;
    ClientOptions o = testOptions();
    o.heartbeatIncoming = 1000ms;
    o.heartbeatOutgoing = 1000ms;
    int after = 0;
    std::unique_ptr<Client> client;
    auto kill = [&] { client.reset(); };
    if (where == beforeConnect) o.beforeConnect = [&](BeforeConnectDone d) { kill(); d({}); };
    client = Client::create(o, net.factory(), sched, [] { return 0.5; }).client;
    REQUIRE(client);
    client->subscribe("/q", [&](const Message&) { if (where == onMessage) kill(); else ++after; }, {{"id", "s"}});
    client->onConnect([&](const Frame&) { if (where == onConnect) kill(); });
    client->onStateChange([&](const StateChange& c) {
      if (where == onStateChangeReconnecting && c.state == ClientState::reconnecting) kill();
      if (where == onDeactivated && c.state == ClientState::inactive) kill();
    });
    client->onStompError([&](const Frame&) { if (where == onStompError) kill(); });
    client->onWebSocketClose([&](const CloseEvent&) { if (where == onWsClose) kill(); });
    client->onWebSocketError([&](std::error_code) { if (where == onWsError) kill(); });
    client->onUnhandledMessage([&](const Message&) { if (where == onUnhandled) kill(); });
    // A second listener that must not run after the client is gone.
    client->onConnect([&](const Frame&) { ++after; });
    client->activate();
    sched.runPosted();
    if (!client) goto done;
    {
      auto link = net.links.back();
      link->accept();
      link->connected("1.2", "1000,1000");
      if (!client) goto done;
      CHECK(after == 1);
      auto handle = client->publish({.destination = "/q", .body = "b", .receipt = true});
      handle.onComplete([&](std::error_code) { if (where == onReceipt) kill(); });
      switch (where) {
        case onMessage: link->deliver(message("s", "1") + message("s", "2")); break;
        case onReceipt: link->deliver(receipt(handle.receiptId()) + message("s", "x")); break;
        case onStompError: link->deliver(stompFrame("ERROR", {}, "x") + message("s", "y")); break;
        case onUnhandled: link->deliver(message("nope", "1") + message("s", "2")); break;
        case onWsError: link->fail(make_error_code(errc::transport_error)); link->drop(); break;
        case onWsClose:
        case onStateChangeReconnecting: link->drop(); break;
        case onDeactivated: client->deactivate({.force = true}); break;
        default: break;
      }
      CHECK_FALSE(client);
      CHECK(after == 1);
      // Whatever the client left behind (posted transport destruction, timers) runs without it.
      sched.advance(60000ms);
      CHECK(link->destroyed);
      CHECK(handle.done());
    }
  done:
    CHECK_FALSE(client);
    sched.advance(60000ms);
    CHECK(net.count() <= 1);
  }
}

TEST_CASE("destroying the client with work pending fails handles quietly and frees the transport", "[client][lifetime]") {
  ManualScheduler sched;
  FakeNetwork net;
  auto r = Client::create(testOptions(), net.factory(), sched, {});
  auto client = std::move(r.client);
  client->activate();
  auto link = net.links.back();
  link->accept();
  link->connected();
  auto h = client->publish({.destination = "/q", .body = "b", .receipt = true});
  bool called = false;
  h.onComplete([&](std::error_code) { called = true; });
  client.reset();
  CHECK(h.error() == errc::deactivated);
  CHECK_FALSE(called);
  CHECK(link->closeRequested);
  sched.runPosted();
  CHECK(link->destroyed);
  h.onComplete([&](std::error_code ec) { called = ec == errc::deactivated; });
  CHECK(called);  // already done: runs at once
}

TEST_CASE("handles find no client once it is destroyed, also inside the callback that destroyed it", "[client][lifetime]") {
  ClientFixture f;
  Subscription other = f.client->subscribe("/queue/o", [](const Message&) {}, {{"id", "o"}});
  auto& l = f.activateAndConnect();
  Transaction tx = f.client->begin("t1");
  REQUIRE_FALSE(tx.error());
  std::vector<Message> kept;
  std::vector<std::error_code> inside;
  f.client->subscribe("/queue/c", [&](const Message& m) {
    kept.push_back(m);  // an owned copy
    f.client.reset();
    CHECK_FALSE(other.active());
    inside = {other.unsubscribe(), m.ack(), kept[0].nack(), tx.ack(m), tx.publish({.destination = "/q"}).error(),
              tx.commit()};
  }, {{"id", "c"}, {"ack", "client"}});
  l.deliver(message("c", "1", "m-1", "ack-1"));
  REQUIRE_FALSE(f.client);
  const std::vector<std::error_code> invalid(6, errc::invalid_state);
  CHECK(inside == invalid);
  // And afterwards, from outside any callback.
  CHECK_FALSE(other.active());
  CHECK(other.unsubscribe() == errc::invalid_state);
  CHECK(kept[0].ack() == errc::invalid_state);
  CHECK(tx.abort() == errc::invalid_state);
  CHECK(l.framesNamed("ACK").empty());
  CHECK(l.framesNamed("NACK").empty());
  CHECK(l.framesNamed("UNSUBSCRIBE").empty());
  CHECK(l.framesNamed("COMMIT").empty());
}

TEST_CASE("versions option: subprotocols, STOMP command, and a server answering another version", "[client]") {
  ClientOptions o = testOptions();
  o.versions = {Version::v1_1};
  o.useStompCommand = true;
  ClientFixture f(o);
  f.client->activate();
  auto& l = f.net.last();
  CHECK(l.subprotocols == std::vector<std::string>{"v11.stomp"});
  l.accept("v11.stomp");
  auto connect = l.lastFrame();
  REQUIRE(connect);
  CHECK(connect->command == "STOMP");
  CHECK(connect->header("accept-version") == "1.1");
  l.connected("1.2");  // not offered
  CHECK(f.client->state() == ClientState::reconnecting);
  CHECK(f.logged("state:reconnecting(unsupported_version)"));
  CHECK(l.closeReason == "unsupported_version");
}
