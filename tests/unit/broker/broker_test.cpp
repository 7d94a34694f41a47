// Broker core, without sockets: a fake host records what each session would be sent.
#include <catch2/catch_test_macros.hpp>

#include <map>
#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "stompwire/parser.hpp"
#include "stompwire/serializer.hpp"

using namespace stompwire;
using namespace stompwire::server;
using namespace std::chrono_literals;

namespace {

struct FakeHost final : BrokerHost {
  struct Conn {
    std::string bytes;
    std::size_t read = 0;
    bool closed = false;
    int code = 0;
    std::string reason;
  };
  std::map<SessionId, Conn> conns;
  void send(SessionId id, std::string data) override {
    REQUIRE_FALSE(conns[id].closed);  // nothing is sent after close
    conns[id].bytes += data;
  }
  void close(SessionId id, int code, std::string_view reason) override {
    auto& c = conns[id];
    c.closed = true;
    c.code = code;
    c.reason = std::string(reason);
  }
};

struct Harness {
  FakeHost host;
  std::int64_t wall = 1700000000000;
  Broker broker;
  Millis now{1000};

  explicit Harness(BrokerConfig cfg = {}) : broker(withClock(std::move(cfg)), host) {}
  BrokerConfig withClock(BrokerConfig c) {
    c.wallClock = [this] { return wall; };
    return c;
  }

  SessionId open(std::string ip = "127.0.0.1", std::optional<Principal> p = std::nullopt) {
    return broker.open(SessionInfo{std::move(ip), std::move(p)}, now);
  }
  void feed(SessionId id, const Frame& f) {
    std::string out;
    REQUIRE_FALSE(serialize(f, out));
    broker.receive(id, out, now);
  }
  void raw(SessionId id, std::string_view bytes) { broker.receive(id, bytes, now); }
  // Frames sent to `id` since the last call.
  std::vector<Frame> take(SessionId id) {
    auto& c = host.conns[id];
    std::vector<Frame> frames;
    FrameParser p(ParserLimits{}, Version::v1_2);
    auto ec = p.feed(std::string_view(c.bytes).substr(c.read), [&](const FrameView& v) { frames.push_back(v.toFrame()); },
                     [] {});
    REQUIRE_FALSE(ec);
    c.read = c.bytes.size();
    return frames;
  }
  Frame one(SessionId id) {
    auto f = take(id);
    REQUIRE(f.size() == 1);
    return f[0];
  }
  SessionId connect(std::string login = "", std::string ip = "127.0.0.1", std::string hb = "0,0") {
    auto id = open(ip);
    Frame c("CONNECT", {{"accept-version", "1.0,1.1,1.2"}, {"host", "/"}, {"heart-beat", hb}});
    if (!login.empty()) c.add("login", login);
    feed(id, c);
    auto f = one(id);
    REQUIRE(f.command == "CONNECTED");
    return id;
  }
  void subscribe(SessionId id, std::string sub, std::string dest, std::string ack = "auto", std::string receipt = "") {
    Frame f("SUBSCRIBE", {{"id", sub}, {"destination", dest}, {"ack", ack}});
    if (!receipt.empty()) f.add("receipt", receipt);
    feed(id, f);
  }
  void send(SessionId id, std::string dest, std::string body, std::vector<Header> extra = {}) {
    Frame f("SEND", {{"destination", dest}}, std::move(body));
    for (auto& h : extra) f.headers.push_back(h);
    feed(id, f);
  }
  bool closed(SessionId id) { return host.conns[id].closed; }
  int closeCode(SessionId id) { return host.conns[id].code; }
};

std::string hdr(const Frame& f, std::string_view name) { return std::string(f.header(name).value_or("<none>")); }

}  // namespace

TEST_CASE("CONNECT negotiates the highest common version and answers CONNECTED", "[broker][connect]") {
  Harness h;
  auto id = h.open();
  h.feed(id, Frame("CONNECT", {{"accept-version", "1.1,1.2"}, {"host", "/"}, {"login", "ann"}}));
  auto f = h.one(id);
  CHECK(f.command == "CONNECTED");
  CHECK(hdr(f, "version") == "1.2");
  CHECK(hdr(f, "heart-beat") == "10000,10000");
  CHECK(hdr(f, "user-name") == "ann");
  CHECK(hdr(f, "server").starts_with("stompwire-server/"));
  CHECK(hdr(f, "session").starts_with("session-"));
}

TEST_CASE("STOMP command and 1.1-only clients", "[broker][connect]") {
  Harness h;
  auto id = h.open();
  h.feed(id, Frame("STOMP", {{"accept-version", "1.0,1.1"}, {"host", "/"}}));
  auto f = h.one(id);
  CHECK(hdr(f, "version") == "1.1");
  CHECK(hdr(f, "user-name").starts_with("anonymous-"));
}

TEST_CASE("CONNECT without accept-version is STOMP 1.0 (no heart-beat header)", "[broker][connect]") {
  Harness h;
  auto id = h.open();
  h.feed(id, Frame("CONNECT", {{"login", "x"}}));
  auto f = h.one(id);
  CHECK(hdr(f, "version") == "1.0");
  CHECK_FALSE(f.header("heart-beat"));
}

TEST_CASE("unsupported version gets ERROR with the supported list and a close", "[broker][connect][error]") {
  Harness h;
  auto id = h.open();
  h.feed(id, Frame("CONNECT", {{"accept-version", "2.0"}}));
  auto f = h.one(id);
  CHECK(f.command == "ERROR");
  CHECK(hdr(f, "version") == "1.0,1.1,1.2");
  CHECK(hdr(f, "message") == "unsupported STOMP version");
  CHECK(h.closed(id));
  CHECK(h.broker.sessionCount() == 0);
}

TEST_CASE("a first frame other than CONNECT is a protocol error", "[broker][connect][error]") {
  Harness h;
  auto id = h.open();
  h.feed(id, Frame("SEND", {{"destination", "/topic/a"}}));
  auto f = h.one(id);
  CHECK(f.command == "ERROR");
  CHECK(hdr(f, "message") == "expected CONNECT");
  CHECK(h.closed(id));
  CHECK(h.closeCode(id) == kCloseProtocolError);
}

TEST_CASE("a second CONNECT is an error", "[broker][connect][error]") {
  Harness h;
  auto id = h.connect("a");
  h.feed(id, Frame("CONNECT", {{"accept-version", "1.2"}}));
  CHECK(hdr(h.one(id), "message") == "already connected");
  CHECK(h.closed(id));
}

TEST_CASE("malformed heart-beat header is rejected", "[broker][connect][error]") {
  Harness h;
  auto id = h.open();
  h.feed(id, Frame("CONNECT", {{"accept-version", "1.2"}, {"heart-beat", "soon"}}));
  CHECK(hdr(h.one(id), "message") == "malformed heart-beat header");
}

TEST_CASE("login/passcode checked against the user list", "[broker][auth]") {
  BrokerConfig cfg;
  cfg.users = {{"alice", "s3cret"}, {"bob", "pw"}};
  Harness h(cfg);
  SECTION("right passcode") {
    auto id = h.open();
    h.feed(id, Frame("CONNECT", {{"accept-version", "1.2"}, {"login", "alice"}, {"passcode", "s3cret"}}));
    auto f = h.one(id);
    CHECK(f.command == "CONNECTED");
    CHECK(hdr(f, "user-name") == "alice");
  }
  SECTION("wrong passcode, unknown user, no login") {
    for (auto hdrs : {std::vector<Header>{{"login", "alice"}, {"passcode", "s3cre"}},
                      std::vector<Header>{{"login", "carol"}, {"passcode", "pw"}},
                      std::vector<Header>{{"login", "bob"}}, std::vector<Header>{}}) {
      auto id = h.open();
      Frame c("CONNECT", {{"accept-version", "1.2"}});
      for (auto& x : hdrs) c.headers.push_back(x);
      h.feed(id, c);
      auto f = h.one(id);
      CHECK(f.command == "ERROR");
      CHECK(hdr(f, "message") == "authentication failed");
      CHECK(h.closeCode(id) == kClosePolicy);
    }
    CHECK(h.broker.stats().authFailures == 4);
    CHECK(h.broker.sessionCount() == 0);
  }
}

TEST_CASE("a handshake principal wins over STOMP login", "[broker][auth]") {
  BrokerConfig cfg;
  cfg.users = {{"alice", "pw"}};
  Harness h(cfg);
  auto id = h.open("10.0.0.1", Principal{"jwtuser", {}});
  h.feed(id, Frame("CONNECT", {{"accept-version", "1.2"}, {"login", "alice"}, {"passcode", "wrong"}}));
  auto f = h.one(id);
  CHECK(f.command == "CONNECTED");
  CHECK(hdr(f, "user-name") == "jwtuser");
}

TEST_CASE("topic fan-out copies body and custom headers to every subscriber", "[broker][topic]") {
  Harness h;
  auto a = h.connect("a"), b = h.connect("b"), c = h.connect("c");
  h.subscribe(a, "s1", "/topic/news");
  h.subscribe(b, "s2", "/topic/news");
  h.subscribe(c, "s3", "/topic/other");
  h.send(c, "/topic/news", "hello", {{"content-type", "text/plain"}, {"x-trace", "42"}, {"receipt", "r1"}});
  auto fa = h.one(a), fb = h.one(b);
  CHECK(fa.command == "MESSAGE");
  CHECK(hdr(fa, "subscription") == "s1");
  CHECK(hdr(fb, "subscription") == "s2");
  CHECK(hdr(fa, "destination") == "/topic/news");
  CHECK(hdr(fa, "content-type") == "text/plain");
  CHECK(hdr(fa, "x-trace") == "42");
  CHECK(hdr(fa, "content-length") == "5");
  CHECK_FALSE(fa.header("receipt"));
  CHECK(fa.body == "hello");
  CHECK(hdr(fa, "message-id") != hdr(fb, "message-id"));
  auto rc = h.one(c);  // the sender only gets its receipt
  CHECK(rc.command == "RECEIPT");
  CHECK(hdr(rc, "receipt-id") == "r1");
  CHECK(h.broker.stats().routedTopic == 1);
  CHECK(h.broker.stats().deliveries == 2);
}

TEST_CASE("bodies with NUL bytes survive", "[broker][topic]") {
  Harness h;
  auto a = h.connect("a");
  h.subscribe(a, "s", "/topic/bin");
  std::string body("a\0b\0", 4);
  h.send(a, "/topic/bin", body);
  CHECK(h.one(a).body == body);
}

TEST_CASE("UNSUBSCRIBE stops delivery; unknown id is an error", "[broker][topic]") {
  Harness h;
  auto a = h.connect("a");
  h.subscribe(a, "s", "/topic/t");
  h.feed(a, Frame("UNSUBSCRIBE", {{"id", "s"}, {"receipt", "u"}}));
  CHECK(h.one(a).command == "RECEIPT");
  h.send(a, "/topic/t", "x");
  CHECK(h.take(a).empty());
  CHECK(h.broker.subscriptionCount() == 0);
  h.feed(a, Frame("UNSUBSCRIBE", {{"id", "nope"}}));
  CHECK(hdr(h.one(a), "message") == "unknown subscription");
}

TEST_CASE("queue: one consumer per message, round-robin", "[broker][queue]") {
  Harness h;
  auto a = h.connect("a"), b = h.connect("b"), p = h.connect("p");
  h.subscribe(a, "qa", "/queue/work");
  h.subscribe(b, "qb", "/queue/work");
  for (int i = 0; i < 4; ++i) h.send(p, "/queue/work", std::to_string(i));
  auto fa = h.take(a), fb = h.take(b);
  REQUIRE(fa.size() == 2);
  REQUIRE(fb.size() == 2);
  CHECK(fa[0].body == "0");
  CHECK(fb[0].body == "1");
  CHECK(fa[1].body == "2");
  CHECK(fb[1].body == "3");
}

TEST_CASE("queue keeps messages until a consumer subscribes, in order", "[broker][queue]") {
  Harness h;
  auto p = h.connect("p");
  for (int i = 0; i < 3; ++i) h.send(p, "/queue/later", std::to_string(i));
  CHECK(h.broker.queuedMessageCount() == 3);
  auto c = h.connect("c");
  h.subscribe(c, "s", "/queue/later");
  auto f = h.take(c);
  REQUIRE(f.size() == 3);
  CHECK(f[0].body == "0");
  CHECK(f[2].body == "2");
  CHECK(h.broker.queuedMessageCount() == 0);
}

TEST_CASE("queue depth is bounded: a full queue is an ERROR to the sender", "[broker][queue][limits]") {
  BrokerConfig cfg;
  cfg.maxQueueDepth = 2;
  Harness h(cfg);
  auto p = h.connect("p");
  h.send(p, "/queue/q", "1");
  h.send(p, "/queue/q", "2");
  CHECK(h.take(p).empty());
  h.send(p, "/queue/q", "3");
  auto f = h.one(p);
  CHECK(hdr(f, "message") == "queue full");
  CHECK(h.closed(p));
  CHECK(h.broker.queuedMessageCount() == 2);
}

TEST_CASE("client-individual: ACK removes one, NACK redelivers to the next consumer", "[broker][queue][ack]") {
  Harness h;
  auto a = h.connect("a"), b = h.connect("b"), p = h.connect("p");
  h.subscribe(a, "qa", "/queue/j", "client-individual");
  h.subscribe(b, "qb", "/queue/j", "client-individual");
  h.send(p, "/queue/j", "one");
  h.send(p, "/queue/j", "two");
  auto m1 = h.one(a);
  auto m2 = h.one(b);
  CHECK(hdr(m1, "ack") == hdr(m1, "message-id"));
  CHECK(h.broker.pendingAckCount() == 2);
  h.feed(b, Frame("ACK", {{"id", hdr(m2, "ack")}, {"receipt", "ack1"}}));
  CHECK(h.one(b).command == "RECEIPT");
  CHECK(h.broker.pendingAckCount() == 1);
  h.feed(a, Frame("NACK", {{"id", hdr(m1, "ack")}}));
  // Round-robin continues: the NACKed message goes to the next consumer, marked redelivered.
  auto again = h.take(a);
  auto againB = h.take(b);
  REQUIRE(again.size() + againB.size() == 1);
  auto& r = again.empty() ? againB[0] : again[0];
  CHECK(r.body == "one");
  CHECK(hdr(r, "redelivered") == "true");
}

TEST_CASE("client ack is cumulative per subscription", "[broker][queue][ack]") {
  Harness h;
  auto a = h.connect("a"), p = h.connect("p");
  h.subscribe(a, "q", "/queue/c", "client");
  for (int i = 0; i < 3; ++i) h.send(p, "/queue/c", std::to_string(i));
  auto ms = h.take(a);
  REQUIRE(ms.size() == 3);
  CHECK(h.broker.pendingAckCount() == 3);
  h.feed(a, Frame("ACK", {{"id", hdr(ms[1], "ack")}}));
  CHECK(h.broker.pendingAckCount() == 1);
  h.feed(a, Frame("ACK", {{"id", hdr(ms[2], "ack")}}));
  CHECK(h.broker.pendingAckCount() == 0);
}

TEST_CASE("unacked messages are redelivered when their consumer disconnects", "[broker][queue][ack]") {
  Harness h;
  auto a = h.connect("a"), p = h.connect("p");
  h.subscribe(a, "q", "/queue/r", "client-individual");
  h.send(p, "/queue/r", "m1");
  h.send(p, "/queue/r", "m2");
  CHECK(h.take(a).size() == 2);
  h.broker.disconnected(a);
  CHECK(h.broker.queuedMessageCount() == 2);
  auto b = h.connect("b");
  h.subscribe(b, "q", "/queue/r", "auto");
  auto ms = h.take(b);
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].body == "m1");
  CHECK(ms[1].body == "m2");
  CHECK(hdr(ms[0], "redelivered") == "true");
  CHECK(h.broker.pendingAckCount() == 0);
}

TEST_CASE("UNSUBSCRIBE with unacked messages hands them to the remaining consumer", "[broker][queue][ack]") {
  Harness h;
  auto a = h.connect("a"), b = h.connect("b"), p = h.connect("p");
  h.subscribe(a, "qa", "/queue/u", "client");
  h.send(p, "/queue/u", "x");
  CHECK(h.take(a).size() == 1);
  h.subscribe(b, "qb", "/queue/u", "auto");
  h.feed(a, Frame("UNSUBSCRIBE", {{"id", "qa"}}));
  auto f = h.one(b);
  CHECK(f.body == "x");
  CHECK(hdr(f, "redelivered") == "true");
}

TEST_CASE("ACK of an unknown id is an ERROR", "[broker][ack][error]") {
  Harness h;
  auto a = h.connect("a");
  h.feed(a, Frame("ACK", {{"id", "m-999"}}));
  CHECK(hdr(h.one(a), "message") == "unknown ack id");
  CHECK(h.closed(a));
}

TEST_CASE("STOMP 1.0 and 1.1 ack by message-id", "[broker][ack]") {
  Harness h;
  auto a = h.open();
  h.feed(a, Frame("CONNECT", {{"accept-version", "1.1"}}));
  h.take(a);
  h.subscribe(a, "q", "/queue/v11", "client-individual");
  h.send(a, "/queue/v11", "x");
  auto m = h.one(a);
  CHECK_FALSE(m.header("ack"));  // 1.1 has no ack header
  h.feed(a, Frame("ACK", {{"subscription", "q"}, {"message-id", hdr(m, "message-id")}}));
  CHECK(h.broker.pendingAckCount() == 0);
  CHECK_FALSE(h.closed(a));
}

TEST_CASE("topic with client ack tracks pending acks but never redelivers", "[broker][topic][ack]") {
  Harness h;
  auto a = h.connect("a");
  h.subscribe(a, "t", "/topic/acked", "client");
  h.send(a, "/topic/acked", "x");
  auto m = h.one(a);
  CHECK(h.broker.pendingAckCount() == 1);
  h.feed(a, Frame("NACK", {{"id", hdr(m, "ack")}}));
  CHECK(h.take(a).empty());
  CHECK(h.broker.pendingAckCount() == 0);
}

TEST_CASE("receipts for every frame that asks; DISCONNECT receipt then close", "[broker][receipt]") {
  Harness h;
  auto a = h.connect("a");
  h.subscribe(a, "s", "/topic/r", "auto", "sub-1");
  CHECK(hdr(h.one(a), "receipt-id") == "sub-1");
  h.feed(a, Frame("BEGIN", {{"transaction", "t"}, {"receipt", "b"}}));
  CHECK(hdr(h.one(a), "receipt-id") == "b");
  h.feed(a, Frame("DISCONNECT", {{"receipt", "bye"}}));
  auto f = h.one(a);
  CHECK(f.command == "RECEIPT");
  CHECK(hdr(f, "receipt-id") == "bye");
  CHECK(h.closed(a));
  CHECK(h.closeCode(a) == kCloseNormal);
}

TEST_CASE("transactions buffer SENDs and ACKs until COMMIT; ABORT drops them", "[broker][tx]") {
  Harness h;
  auto a = h.connect("a"), b = h.connect("b");
  h.subscribe(b, "s", "/topic/tx");
  h.feed(a, Frame("BEGIN", {{"transaction", "t1"}}));
  h.send(a, "/topic/tx", "1", {{"transaction", "t1"}});
  h.send(a, "/topic/tx", "2", {{"transaction", "t1"}});
  CHECK(h.take(b).empty());
  h.feed(a, Frame("COMMIT", {{"transaction", "t1"}}));
  auto ms = h.take(b);
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].body == "1");
  CHECK_FALSE(ms[0].header("transaction"));

  h.feed(a, Frame("BEGIN", {{"transaction", "t2"}}));
  h.send(a, "/topic/tx", "3", {{"transaction", "t2"}});
  h.feed(a, Frame("ABORT", {{"transaction", "t2"}}));
  CHECK(h.take(b).empty());

  SECTION("ACK inside a transaction applies at commit") {
    h.subscribe(b, "q", "/queue/txq", "client-individual");
    h.send(a, "/queue/txq", "w");
    auto m = h.one(b);
    h.feed(b, Frame("BEGIN", {{"transaction", "ta"}}));
    h.feed(b, Frame("ACK", {{"id", hdr(m, "ack")}, {"transaction", "ta"}}));
    CHECK(h.broker.pendingAckCount() == 1);
    h.feed(b, Frame("COMMIT", {{"transaction", "ta"}}));
    CHECK(h.broker.pendingAckCount() == 0);
  }
  SECTION("unknown and duplicate transactions are errors") {
    h.feed(a, Frame("COMMIT", {{"transaction", "nope"}}));
    CHECK(hdr(h.one(a), "message") == "unknown transaction");
    h.feed(b, Frame("BEGIN", {{"transaction", "d"}}));
    h.feed(b, Frame("BEGIN", {{"transaction", "d"}}));
    CHECK(hdr(h.one(b), "message") == "transaction already started");
  }
}

TEST_CASE("protocol violations get ERROR with a message header that says what was wrong", "[broker][error]") {
  Harness h;
  struct Case {
    Frame frame;
    std::string message;
  };
  std::vector<Case> cases = {
      {Frame("SEND", {{"receipt", "r9"}}), "missing destination header"},
      {Frame("SEND", {{"destination", "/elsewhere"}}), "invalid destination"},
      {Frame("SUBSCRIBE", {{"destination", "/topic/a"}}), "missing id header"},
      {Frame("SUBSCRIBE", {{"id", "1"}, {"destination", "/app/echo"}}), "invalid destination"},
      {Frame("SUBSCRIBE", {{"id", "1"}, {"destination", "/user/bob/queue/x"}}), "invalid destination"},
      {Frame("SUBSCRIBE", {{"id", "1"}, {"destination", "/topic/a"}, {"ack", "sometimes"}}), "invalid ack mode"},
      {Frame("FOO", {}), "unknown command"},
      {Frame("SEND", {{"destination", "/app/nothing"}}), "no handler"},
      {Frame("ACK", {}), "missing id header"},
      {Frame("BEGIN", {}), "missing transaction header"},
  };
  for (auto& c : cases) {
    auto id = h.connect("x");
    h.feed(id, c.frame);
    auto f = h.one(id);
    INFO(c.frame.command << " -> " << c.message);
    CHECK(f.command == "ERROR");
    CHECK(hdr(f, "message") == c.message);
    CHECK(h.closed(id));
    if (c.frame.header("receipt")) CHECK(hdr(f, "receipt-id") == "r9");
  }
  CHECK(h.broker.sessionCount() == 0);
}

TEST_CASE("duplicate subscription id and subscription limit", "[broker][error][limits]") {
  BrokerConfig cfg;
  cfg.maxSubscriptionsPerSession = 2;
  Harness h(cfg);
  auto a = h.connect("a");
  h.subscribe(a, "1", "/topic/a");
  h.subscribe(a, "1", "/topic/b");
  CHECK(hdr(h.one(a), "message") == "duplicate subscription id");
  auto b = h.connect("b");
  h.subscribe(b, "1", "/topic/a");
  h.subscribe(b, "2", "/topic/a");
  h.subscribe(b, "3", "/topic/a");
  CHECK(hdr(h.one(b), "message") == "too many subscriptions");
}

TEST_CASE("malformed bytes get ERROR and close; later frames in the message are ignored", "[broker][error]") {
  Harness h;
  auto a = h.connect("a");
  h.raw(a, std::string("SEND\nno-colon-here\n\nx\0SEND\ndestination:/topic/a\n\n\0", 48));
  auto f = h.one(a);
  CHECK(f.command == "ERROR");
  CHECK(hdr(f, "message").starts_with("malformed frame"));
  CHECK(h.closed(a));
}

TEST_CASE("frames above the configured maximum size: ERROR and close 1009", "[broker][limits]") {
  BrokerConfig cfg;
  cfg.parser.maxFrameSize = 1024;
  cfg.parser.maxBodySize = 1024;
  Harness h(cfg);
  auto a = h.connect("a");
  h.send(a, "/topic/big", std::string(2000, 'x'));
  auto f = h.one(a);
  CHECK(hdr(f, "message") == "frame too large");
  CHECK(f.body.find("1024") != std::string::npos);
  CHECK(h.closeCode(a) == kCloseTooBig);
}

TEST_CASE("a frame split into single bytes and several frames in one message", "[broker][codec]") {
  Harness h;
  auto a = h.connect("a");
  h.subscribe(a, "s", "/topic/split");
  std::string wire;
  serialize(Frame("SEND", {{"destination", "/topic/split"}}, "abc"), wire);
  serialize(Frame("SEND", {{"destination", "/topic/split"}}, "def"), wire);
  for (char c : wire) h.raw(a, std::string_view(&c, 1));
  auto ms = h.take(a);
  REQUIRE(ms.size() == 2);
  CHECK(ms[1].body == "def");
  h.raw(a, "\n\n" + wire);  // heart-beat EOLs then two frames in one message
  CHECK(h.take(a).size() == 2);
}

TEST_CASE("/app/echo answers only the sending session on /user/queue/echo", "[broker][app]") {
  Harness h;
  auto a = h.connect("ann"), a2 = h.connect("ann");
  h.subscribe(a, "e", "/user/queue/echo");
  h.subscribe(a2, "e", "/user/queue/echo");
  h.send(a, "/app/echo", "ping", {{"content-type", "text/plain"}});
  auto f = h.one(a);
  CHECK(f.body == "ping");
  CHECK(hdr(f, "destination") == "/user/queue/echo");
  CHECK(hdr(f, "content-type") == "text/plain");
  CHECK(h.take(a2).empty());
}

TEST_CASE("/app/chat.send stamps sender and time and forwards to the room topic", "[broker][app]") {
  Harness h;
  auto a = h.connect("ann"), b = h.connect("bob");
  h.subscribe(b, "p", "/topic/public");
  h.subscribe(b, "r", "/topic/room.42");
  h.send(a, "/app/chat.send", R"({"content":"hi all","sender":"forged"})");
  auto f = h.one(b);
  CHECK(hdr(f, "destination") == "/topic/public");
  CHECK(hdr(f, "content-type") == "application/json");
  CHECK(f.body.find(R"("sender":"ann")") != std::string::npos);
  CHECK(f.body.find(R"("content":"hi all")") != std::string::npos);
  CHECK(f.body.find(R"("timestamp":1700000000000)") != std::string::npos);
  h.send(a, "/app/chat.send", R"({"content":"in room","room":"42"})");
  auto r = h.one(b);
  CHECK(hdr(r, "destination") == "/topic/room.42");
  CHECK(hdr(r, "subscription") == "r");
  SECTION("bad JSON and bad rooms are errors") {
    h.send(a, "/app/chat.send", "not json");
    CHECK(hdr(h.one(a), "message").starts_with("chat.send expects JSON"));
    h.send(b, "/app/chat.send", R"({"content":"x","room":"../x"})");
    CHECK(hdr(h.take(b).back(), "message") == "chat.send: invalid room");
  }
}

TEST_CASE("/app/chat.private reaches every session of the recipient and the sender's copy", "[broker][app][user]") {
  Harness h;
  auto a = h.connect("ann"), b1 = h.connect("bob"), b2 = h.connect("bob"), c = h.connect("cat");
  for (auto id : {a, b1, b2, c}) h.subscribe(id, "pq", "/user/queue/private");
  h.send(a, "/app/chat.private", R"({"recipient":"bob","content":"psst"})");
  auto f1 = h.one(b1), f2 = h.one(b2);
  CHECK(f1.body.find(R"("sender":"ann")") != std::string::npos);
  CHECK(hdr(f1, "destination") == "/user/queue/private");
  CHECK(f2.body == f1.body);
  CHECK(h.one(a).body == f1.body);
  CHECK(h.take(c).empty());
}

TEST_CASE("/user/<name>/queue/x goes to every session of that user only", "[broker][user]") {
  Harness h;
  auto a1 = h.connect("ann"), a2 = h.connect("ann"), b = h.connect("bob");
  h.subscribe(a1, "n", "/user/queue/notes");
  h.subscribe(a2, "n", "/user/queue/notes");
  h.subscribe(b, "n", "/user/queue/notes");
  h.send(b, "/user/ann/queue/notes", "for ann");
  CHECK(h.one(a1).body == "for ann");
  CHECK(h.one(a2).body == "for ann");
  CHECK(h.take(b).empty());
  h.send(b, "/user/nobody/queue/notes", "lost");  // no such user online: accepted, delivered to none
  CHECK_FALSE(h.closed(b));
  h.send(b, "/user/ann", "x");
  CHECK(hdr(h.one(b), "message") == "invalid user destination");
}

TEST_CASE("an embedding app registers its own handler", "[broker][app]") {
  struct Upper final : AppHandler {
    std::optional<std::string> handle(AppContext& ctx, const FrameView& f) override {
      std::string s(f.body);
      for (auto& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
      ctx.publish("/topic/upper", s, "text/plain");
      return std::nullopt;
    }
  };
  Harness h;
  h.broker.addAppHandler("/app/upper", std::make_unique<Upper>());
  auto a = h.connect("a");
  h.subscribe(a, "u", "/topic/upper");
  h.send(a, "/app/upper", "shout");
  CHECK(h.one(a).body == "SHOUT");
}

TEST_CASE("per-destination permissions from the principal", "[broker][auth][permissions]") {
  Harness h;
  Permissions perms{true, {"/topic/room.1", "/topic/public"}, {"/topic/room.*"}};
  auto connectAs = [&] {
    auto id = h.open("127.0.0.1", Principal{"limited", perms});
    h.feed(id, Frame("CONNECT", {{"accept-version", "1.2"}}));
    h.take(id);
    return id;
  };
  auto a = connectAs();
  h.subscribe(a, "1", "/topic/room.1", "auto", "ok");
  CHECK(h.one(a).command == "RECEIPT");
  h.send(a, "/topic/room.9", "allowed");
  CHECK_FALSE(h.closed(a));
  h.subscribe(a, "2", "/topic/room.2", "auto", "no");
  auto f = h.one(a);
  CHECK(hdr(f, "message") == "forbidden");
  CHECK(hdr(f, "receipt-id") == "no");
  CHECK(h.closeCode(a) == kClosePolicy);
  auto b = connectAs();
  h.send(b, "/topic/public", "read-only");
  CHECK(hdr(h.one(b), "message") == "forbidden");
}

TEST_CASE("globMatch", "[broker][glob]") {
  CHECK(globMatch("/topic/room.*", "/topic/room.1"));
  CHECK(globMatch("/topic/room.*", "/topic/room."));
  CHECK_FALSE(globMatch("/topic/room.*", "/topic/roomx1"));
  CHECK(globMatch("*", ""));
  CHECK(globMatch("a*b*c", "aXXbYYc"));
  CHECK_FALSE(globMatch("a*b*c", "aXXbYY"));
  CHECK(globMatch("exact", "exact"));
  CHECK_FALSE(globMatch("exact", "exactly"));
}

TEST_CASE("rate limit per user: ERROR naming the limit, shared by the user's sessions", "[broker][limits][rate]") {
  BrokerConfig cfg;
  cfg.perUser = {3, Millis{60000}};
  cfg.perIp = {0, Millis{1000}};
  Harness h(cfg);
  auto a = h.connect("ann", "10.0.0.1"), a2 = h.connect("ann", "10.0.0.2");
  h.send(a, "/topic/x", "1");
  h.send(a2, "/topic/x", "2");
  h.send(a, "/topic/x", "3");
  CHECK(h.take(a).empty());
  h.send(a2, "/topic/x", "4");
  auto f = h.one(a2);
  CHECK(hdr(f, "message") == "rate limit exceeded: per-user");
  CHECK(f.body.find("3 messages per 60000 ms") != std::string::npos);
  CHECK(h.closeCode(a2) == kClosePolicy);
  CHECK(h.broker.stats().rateLimited == 1);
  // Tokens come back with time: 20 s buys one message.
  h.now += Millis{20000};
  h.send(a, "/topic/x", "5");
  CHECK(h.take(a).empty());
  h.send(a, "/topic/x", "6");
  CHECK(hdr(h.one(a), "message") == "rate limit exceeded: per-user");
  // Reconnecting does not reset the limit: the bucket outlives the sessions until it is full again.
  CHECK(h.broker.rateBucketCount() == 1);
  auto a3 = h.connect("ann", "10.0.0.3");
  h.send(a3, "/topic/x", "7");
  CHECK(hdr(h.one(a3), "message") == "rate limit exceeded: per-user");
  h.now += Millis{59999};
  h.broker.tick(h.now);
  CHECK(h.broker.rateBucketCount() == 1);
  h.now += Millis{1};
  h.broker.tick(h.now);
  CHECK(h.broker.rateBucketCount() == 0);
}

TEST_CASE("rate limit per IP across different users", "[broker][limits][rate]") {
  BrokerConfig cfg;
  cfg.perUser = {0, Millis{1000}};
  cfg.perIp = {2, Millis{1000}};
  Harness h(cfg);
  auto a = h.connect("a", "10.1.1.1"), b = h.connect("b", "10.1.1.1"), c = h.connect("c", "10.1.1.2");
  h.send(a, "/topic/x", "1");
  h.send(b, "/topic/x", "2");
  h.send(c, "/topic/x", "other ip");
  CHECK(h.take(c).empty());
  h.send(b, "/topic/x", "3");
  CHECK(hdr(h.one(b), "message") == "rate limit exceeded: per-ip");
}

TEST_CASE("heart-beats: negotiated per spec, sent on time, silent peers dropped", "[broker][heartbeat]") {
  BrokerConfig cfg;
  cfg.heartbeatSend = Millis{5000};
  cfg.heartbeatReceive = Millis{4000};
  cfg.heartbeatTolerance = 2.0;
  Harness h(cfg);
  // Client can send every 1 s, wants one every 2 s: server sends every max(5000,2000) = 5 s and
  // expects one every max(1000,4000) = 4 s, tolerating 8 s.
  auto a = h.connect("a", "127.0.0.1", "1000,2000");
  auto b = h.connect("b", "127.0.0.1", "0,0");
  auto next = h.broker.tick(h.now);
  CHECK(next == h.now + Millis{5000});
  h.now += Millis{5000};
  h.broker.tick(h.now);
  CHECK(h.host.conns[a].bytes.ends_with("\n"));
  std::size_t before = h.host.conns[b].bytes.size();
  h.now += Millis{2000};
  h.raw(a, "\n");  // the client's own heart-beat keeps it alive
  h.now += Millis{7000};
  h.broker.tick(h.now);
  CHECK_FALSE(h.closed(a));
  h.now += Millis{1001};
  h.broker.tick(h.now);
  CHECK(h.closed(a));
  CHECK(h.host.conns[a].reason == "heart-beat timeout");
  CHECK(h.broker.stats().heartbeatTimeouts == 1);
  CHECK(h.host.conns[b].bytes.size() == before);  // 0,0: neither side beats
  CHECK_FALSE(h.closed(b));
}

TEST_CASE("fault injection: paused heart-beats are not sent", "[broker][heartbeat]") {
  BrokerConfig cfg;
  cfg.heartbeatSend = Millis{1000};
  cfg.heartbeatReceive = Millis{0};
  Harness h(cfg);
  auto a = h.connect("a", "127.0.0.1", "0,1000");
  h.broker.setHeartbeatsPaused(true);
  auto size = h.host.conns[a].bytes.size();
  h.now += Millis{3000};
  h.broker.tick(h.now);
  CHECK(h.host.conns[a].bytes.size() == size);
  h.broker.setHeartbeatsPaused(false);
  h.broker.tick(h.now);
  CHECK(h.host.conns[a].bytes.size() == size + 1);
}

TEST_CASE("shutdown: ERROR 'server shutting down' and close 1001 to every session", "[broker][shutdown]") {
  Harness h;
  auto a = h.connect("a"), b = h.connect("b");
  auto pending = h.open();  // not yet CONNECTed: told as well
  h.subscribe(a, "s", "/topic/x");
  h.broker.shutdown();
  for (auto id : {a, b, pending}) {
    auto f = h.one(id);
    CHECK(f.command == "ERROR");
    CHECK(hdr(f, "message") == "server shutting down");
    CHECK(h.closeCode(id) == kCloseGoingAway);
  }
  CHECK(h.broker.sessionCount() == 0);
  CHECK(h.broker.subscriptionCount() == 0);
}

TEST_CASE("every session's state is freed on close", "[broker][lifecycle]") {
  Harness h;
  std::vector<SessionId> ids;
  for (int i = 0; i < 50; ++i) {
    auto id = h.connect("user" + std::to_string(i % 5), "10.0.0." + std::to_string(i % 7));
    h.subscribe(id, "t", "/topic/all");
    h.subscribe(id, "q", "/queue/all", "client");
    h.subscribe(id, "u", "/user/queue/x");
    h.feed(id, Frame("BEGIN", {{"transaction", "open"}}));
    ids.push_back(id);
  }
  auto p = h.connect("p");
  for (int i = 0; i < 100; ++i) h.send(p, "/queue/all", "m");
  CHECK(h.broker.pendingAckCount() == 100);
  CHECK(h.broker.subscriptionCount() == 150);
  for (auto id : ids) h.broker.disconnected(id);
  h.broker.disconnected(p);
  h.broker.disconnected(p);  // twice: ignored
  CHECK(h.broker.sessionCount() == 0);
  CHECK(h.broker.subscriptionCount() == 0);
  CHECK(h.broker.pendingAckCount() == 0);
  h.now += Millis{1000};
  h.broker.tick(h.now);
  CHECK(h.broker.rateBucketCount() == 0);
  CHECK(h.broker.queuedMessageCount() == 100);  // unacked queue messages are kept for the next consumer
  h.raw(ids[0], "SEND\n\n\0");                   // input for a gone session is ignored
  CHECK(h.broker.sessionCount() == 0);
}

TEST_CASE("STOMP 1.1 escaping is applied to MESSAGE headers", "[broker][codec]") {
  Harness h;
  auto a = h.connect("a");
  h.subscribe(a, "s", "/topic/esc");
  h.send(a, "/topic/esc", "", {{"x-odd", "a:b\nc"}});
  CHECK(h.host.conns[a].bytes.find("x-odd:a\\cb\\nc") != std::string::npos);
  CHECK(hdr(h.one(a), "x-odd") == "a:b\nc");
}

TEST_CASE("a connection that never sends CONNECT is closed after the connect timeout", "[broker][limits]") {
  BrokerConfig cfg;
  cfg.connectTimeout = Millis{3000};
  Harness h(cfg);
  auto idle = h.open();
  auto ok = h.connect("a");
  CHECK(h.broker.tick(h.now) == h.now + Millis{3000});
  h.now += Millis{2999};
  h.broker.tick(h.now);
  CHECK_FALSE(h.closed(idle));
  h.now += Millis{1};
  h.broker.tick(h.now);
  CHECK(h.closed(idle));
  CHECK(h.closeCode(idle) == kClosePolicy);
  CHECK_FALSE(h.closed(ok));
  CHECK(h.broker.stats().connectTimeouts == 1);
}
