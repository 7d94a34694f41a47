// Session: the STOMP protocol state machine, driven with bytes and times only.
#include <catch2/catch_test_macros.hpp>

#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "fake_transport.hpp"
#include "stompwire/serializer.hpp"
#include "stompwire/session.hpp"

using namespace stompwire;
using namespace std::chrono_literals;
using stompwire::test::stompFrame;

namespace {

// One WebSocket message a session sent.
struct Sent {
  std::string data;
  bool binary;
};

// An event a session reported, copied (the view is valid during the call only).
struct Event {
  SessionEvent::Type type;
  Frame frame;
  std::error_code error;
};

// Where a session's messages and events go in these tests: kept, in order, until the test takes them.
struct Wire final : Transport, SessionListener {
  std::vector<Sent> sent;
  std::vector<Event> events;
  void attach(SessionOptions& o) {
    o.transport = this;
    o.listener = this;
  }
  void open(std::string_view, std::span<const std::string_view>) override {}
  void send(std::string_view data, bool binary) override { sent.push_back({std::string(data), binary}); }
  void close(int, std::string_view) override {}
  std::size_t bufferedAmount() const override { return 0; }
  std::vector<Sent> takeOutput() { return std::exchange(sent, {}); }
  bool hasOutput() const { return !sent.empty(); }
  void onEvent(const SessionEvent& e) override { events.push_back({e.type, e.frame.toFrame(), e.error}); }
  std::vector<Event> takeEvents() { return std::exchange(events, {}); }
  bool hasEvents() const { return !events.empty(); }
};

std::vector<Frame> parseAll(const std::vector<Sent>& out, std::size_t* heartbeats = nullptr) {
  std::vector<Frame> frames;
  FrameParser p;
  for (const auto& m : out)
    p.feed(m.data, [&](const FrameView& v) { frames.push_back(v.toFrame()); },
           [&] {
             if (heartbeats) ++*heartbeats;
           });
  return frames;
}

// A session that is connected with the given version and server heart-beat, sending to `w`.
Session connected(Wire& w, SessionOptions o = {}, std::string version = "1.2", std::string hb = "0,0") {
  w.attach(o);
  Session s(o);
  REQUIRE_FALSE(s.start(0ms));
  w.takeOutput();
  std::vector<std::pair<std::string, std::string>> h{{"heart-beat", hb}};
  if (!version.empty()) h.push_back({"version", version});
  s.receive(stompFrame("CONNECTED", h), 0ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 1);
  REQUIRE(ev[0].type == SessionEvent::Type::connected);
  return s;
}

SessionOptions noHeartbeat() {
  SessionOptions o;
  o.heartbeatIncoming = 0ms;
  o.heartbeatOutgoing = 0ms;
  return o;
}

}  // namespace

TEST_CASE("heart-beat negotiation: explicit table", "[session][heartbeat]") {
  struct Row {
    Version v;
    int cx, cy, sx, sy;
    int send, expect;
  };
  const Row rows[] = {
      // 1.0 has no heart-beats at all.
      {Version::v1_0, 1000, 1000, 1000, 1000, 0, 0},
      {Version::v1_0, 0, 0, 0, 0, 0, 0},
      // Both directions, client slower / faster / equal.
      {Version::v1_2, 1000, 1000, 1000, 1000, 1000, 1000},
      {Version::v1_2, 5000, 2000, 1000, 3000, 5000, 2000},
      {Version::v1_2, 1000, 4000, 6000, 7000, 7000, 6000},
      {Version::v1_1, 10000, 10000, 4000, 4000, 10000, 10000},
      // A zero on either side of a direction disables that direction only.
      {Version::v1_2, 0, 1000, 1000, 1000, 0, 1000},
      {Version::v1_2, 1000, 0, 1000, 1000, 1000, 0},
      {Version::v1_2, 1000, 1000, 0, 1000, 1000, 0},
      {Version::v1_2, 1000, 1000, 1000, 0, 0, 1000},
      {Version::v1_2, 0, 0, 1000, 1000, 0, 0},
      {Version::v1_2, 1000, 1000, 0, 0, 0, 0},
      {Version::v1_2, 0, 1000, 1000, 0, 0, 1000},
      {Version::v1_2, 1000, 0, 0, 1000, 1000, 0},
      {Version::v1_1, 0, 0, 0, 0, 0, 0},
  };
  for (const auto& r : rows) {
    auto hb = negotiateHeartbeat(r.v, Millis(r.cx), Millis(r.cy), Millis(r.sx), Millis(r.sy));
    INFO(toString(r.v) << " " << r.cx << "," << r.cy << " / " << r.sx << "," << r.sy);
    CHECK(hb.send == Millis(r.send));
    CHECK(hb.expect == Millis(r.expect));
  }
}

TEST_CASE("heart-beat negotiation: every combination of zero, smaller, equal and larger", "[session][heartbeat]") {
  const int values[] = {0, 100, 500, 2000};
  int checked = 0;
  for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2})
    for (int cx : values)
      for (int cy : values)
        for (int sx : values)
          for (int sy : values) {
            auto hb = negotiateHeartbeat(v, Millis(cx), Millis(cy), Millis(sx), Millis(sy));
            INFO(toString(v) << " " << cx << "," << cy << " / " << sx << "," << sy);
            if (v == Version::v1_0) {
              CHECK(hb == Heartbeat{});
            } else {
              CHECK(hb.send.count() == ((cx == 0 || sy == 0) ? 0 : std::max(cx, sy)));
              CHECK(hb.expect.count() == ((sx == 0 || cy == 0) ? 0 : std::max(sx, cy)));
            }
            ++checked;
          }
  CHECK(checked == 3 * 256);
}

TEST_CASE("heart-beat header parsing", "[session][heartbeat]") {
  auto p = parseHeartbeat("10000,2500");
  REQUIRE(p);
  CHECK(p->first == 10000ms);
  CHECK(p->second == 2500ms);
  CHECK(parseHeartbeat(" 1 , 2 "));
  CHECK_FALSE(parseHeartbeat("1000"));
  CHECK_FALSE(parseHeartbeat("a,1"));
  CHECK_FALSE(parseHeartbeat("1,"));
  CHECK_FALSE(parseHeartbeat("-1,5"));
  CHECK_FALSE(parseHeartbeat("99999999999,1"));
  // Spaces only around each number; exactly one comma between two numbers.
  auto spaced = parseHeartbeat("  7 ,8");
  REQUIRE(spaced);
  CHECK(spaced->first == 7ms);
  CHECK(spaced->second == 8ms);
  CHECK(parseHeartbeat("0,0"));
  CHECK(parseHeartbeat("2147483648,1"));  // 2^31: the largest accepted
  CHECK_FALSE(parseHeartbeat("2147483649,1"));
  CHECK_FALSE(parseHeartbeat("1,2147483649"));
  CHECK_FALSE(parseHeartbeat("1,99999999999999999999999"));
  CHECK_FALSE(parseHeartbeat(""));
  CHECK_FALSE(parseHeartbeat(","));
  CHECK_FALSE(parseHeartbeat(",5"));
  CHECK_FALSE(parseHeartbeat(" ,5"));
  CHECK_FALSE(parseHeartbeat("5, "));
  CHECK_FALSE(parseHeartbeat("1,2,3"));
  CHECK_FALSE(parseHeartbeat("1 1,2"));
  CHECK_FALSE(parseHeartbeat("1,2 2"));
  CHECK_FALSE(parseHeartbeat("1\t,2"));
  CHECK_FALSE(parseHeartbeat("+1,2"));
  CHECK(subprotocolFor(Version::v1_0) == "v10.stomp");
  CHECK(subprotocolFor(Version::v1_1) == "v11.stomp");
  CHECK(subprotocolFor(Version::v1_2) == "v12.stomp");
}

TEST_CASE("CONNECT carries accept-version, host, credentials, heart-beat and custom headers", "[session]") {
  Wire w;
  SessionOptions o;
  // The options are views: the lists they point to outlive the session.
  const std::vector<Header> extra{{"host", "/"},     {"login", "guest"},         {"passcode", "secret"},
                                  {"x-token", "abc"}, {"accept-version", "9.9"}, {"heart-beat", "1,1"}};
  o.connectHeaders = extra;
  o.heartbeatOutgoing = 4000ms;
  o.heartbeatIncoming = 6000ms;
  w.attach(o);
  Session s(o);
  CHECK(s.state() == SessionState::idle);
  REQUIRE_FALSE(s.start(0ms));
  CHECK(s.state() == SessionState::connecting);
  CHECK(s.start(0ms) == errc::invalid_state);
  auto frames = parseAll(w.takeOutput());
  REQUIRE(frames.size() == 1);
  const Frame& f = frames[0];
  CHECK(f.command == "CONNECT");
  CHECK(f.header("accept-version") == "1.0,1.1,1.2");
  CHECK(f.header("host") == "/");
  CHECK(f.header("login") == "guest");
  CHECK(f.header("passcode") == "secret");
  CHECK(f.header("heart-beat") == "4000,6000");
  CHECK(f.header("x-token") == "abc");
  // The custom copies of negotiated headers are dropped, not sent twice.
  std::size_t accepts = 0;
  for (auto& h : f.headers) accepts += h.name == "accept-version";
  CHECK(accepts == 1);
}

TEST_CASE("STOMP command, a subset of versions, and no optional headers", "[session]") {
  Wire w;
  SessionOptions o;
  o.useStompCommand = true;
  const Version v11[] = {Version::v1_1};
  o.versions = v11;
  w.attach(o);
  Session s(o);
  REQUIRE_FALSE(s.start(0ms));
  auto frames = parseAll(w.takeOutput());
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].command == "STOMP");
  CHECK(frames[0].header("accept-version") == "1.1");
  CHECK_FALSE(frames[0].header("host"));
  CHECK_FALSE(frames[0].header("login"));
  CHECK(s.version() == Version::v1_1);

  SessionOptions none;
  none.versions = {};
  Session bad(none);
  CHECK(bad.start(0ms) == errc::invalid_argument);
}

TEST_CASE("CONNECTED: version, heart-beat negotiation, 1.0 without version header", "[session]") {
  Wire w;
  SessionOptions o;
  o.heartbeatOutgoing = 1000ms;
  o.heartbeatIncoming = 2000ms;
  {
    auto s = connected(w, o, "1.2", "3000,500");
    CHECK(s.state() == SessionState::connected);
    CHECK(s.version() == Version::v1_2);
    CHECK(s.heartbeat().send == 1000ms);
    CHECK(s.heartbeat().expect == 3000ms);
  }
  {
    auto s = connected(w, o, "1.1", "0,0");
    CHECK(s.version() == Version::v1_1);
    CHECK(s.heartbeat() == Heartbeat{});
  }
  {
    auto s = connected(w, o, "", "1000,1000");  // a 1.0 server: no version header, no heart-beats
    CHECK(s.version() == Version::v1_0);
    CHECK(s.heartbeat() == Heartbeat{});
  }
}

TEST_CASE("CONNECTED errors: unoffered version, garbage version, bad heart-beat, wrong first frame", "[session]") {
  auto failWith = [](SessionOptions o, std::string frame) {
    Wire w;
    w.attach(o);
    Session s(o);
    REQUIRE_FALSE(s.start(0ms));
    s.receive(frame, 0ms);
    auto ev = w.takeEvents();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == SessionEvent::Type::failed);
    CHECK(s.state() == SessionState::closed);
    // A closed session ignores everything.
    s.receive(stompFrame("CONNECTED", {{"version", "1.2"}}), 1ms);
    CHECK_FALSE(w.hasEvents());
    return ev[0].error;
  };
  SessionOptions only11;
  const Version v11[] = {Version::v1_1};
  only11.versions = v11;
  CHECK(failWith(only11, stompFrame("CONNECTED", {{"version", "1.2"}})) == errc::unsupported_version);
  CHECK(failWith({}, stompFrame("CONNECTED", {{"version", "2.0"}})) == errc::unsupported_version);
  CHECK(failWith({}, stompFrame("CONNECTED", {{"version", "1.2"}, {"heart-beat", "x"}})) == errc::protocol_error);
  CHECK(failWith({}, stompFrame("MESSAGE", {{"destination", "/q"}})) == errc::protocol_error);
  CHECK(failWith({}, "NOT A FRAME\n\n") == errc::invalid_command);
}

TEST_CASE("ERROR before CONNECTED is surfaced with headers and body", "[session]") {
  Wire w;
  SessionOptions o;
  w.attach(o);
  Session s(o);
  REQUIRE_FALSE(s.start(0ms));
  s.receive(stompFrame("ERROR", {{"message", "bad login"}}, "who are you"), 0ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == SessionEvent::Type::error);
  CHECK(ev[0].error == errc::stomp_error);  // the client fails the connection with the event's error
  CHECK(ev[0].frame.header("message") == "bad login");
  CHECK(ev[0].frame.body == "who are you");
  CHECK(s.state() == SessionState::closed);
  CHECK(s.error() == errc::stomp_error);
}

TEST_CASE("commands before CONNECTED fail with not_connected and send nothing", "[session]") {
  Wire w;
  SessionOptions o;
  w.attach(o);
  Session s(o);
  Frame msg("MESSAGE", {{"ack", "1"}, {"message-id", "1"}, {"subscription", "s"}});
  CHECK(s.subscribe("s", "/q", "auto", {}) == errc::not_connected);
  CHECK(s.unsubscribe("s", {}) == errc::not_connected);
  CHECK(s.send("/q", "x", {}) == errc::not_connected);
  CHECK(s.ack(msg, "", {}) == errc::not_connected);
  CHECK(s.nack(msg, "", {}) == errc::not_connected);
  CHECK(s.begin("t") == errc::not_connected);
  CHECK(s.commit("t") == errc::not_connected);
  CHECK(s.abort("t") == errc::not_connected);
  CHECK(s.disconnect("r") == errc::not_connected);
  CHECK_FALSE(w.hasOutput());
  CHECK_FALSE(s.nextDeadline());
  s.receive("CONNECTED\n\n", 0ms);  // idle: ignored
  CHECK_FALSE(w.hasEvents());
}

TEST_CASE("SUBSCRIBE, UNSUBSCRIBE, SEND with content-type, content-length and binary bodies", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat());
  REQUIRE_FALSE(s.subscribe("sub-1", "/topic/a", "client-individual", {{"x", "1"}, {"id", "ignored"}}));
  REQUIRE_FALSE(s.send("/queue/b", std::string("a\0b", 3), {{"content-type", "application/octet-stream"}},
                       {.binary = true, .contentLength = true}));
  REQUIRE_FALSE(s.send("/queue/b", "text", {{"content-length", "999"}}, {.binary = false, .contentLength = false}));
  REQUIRE_FALSE(s.unsubscribe("sub-1", {{"receipt", "r1"}}));
  CHECK(s.subscribe("", "/q", "auto", {}) == errc::invalid_argument);
  CHECK(s.subscribe("x", "", "auto", {}) == errc::invalid_argument);
  CHECK(s.unsubscribe("", {}) == errc::invalid_argument);
  CHECK(s.send("", "x", {}) == errc::invalid_argument);
  auto out = w.takeOutput();
  REQUIRE(out.size() == 4);
  CHECK_FALSE(out[0].binary);
  CHECK(out[1].binary);
  auto frames = parseAll(out);
  REQUIRE(frames.size() == 4);
  CHECK(frames[0].command == "SUBSCRIBE");
  CHECK(frames[0].header("id") == "sub-1");
  CHECK(frames[0].header("destination") == "/topic/a");
  CHECK(frames[0].header("ack") == "client-individual");
  CHECK(frames[0].header("x") == "1");
  CHECK(frames[1].command == "SEND");
  CHECK(frames[1].body == std::string("a\0b", 3));
  CHECK(frames[1].header("content-length") == "3");
  CHECK(frames[1].header("content-type") == "application/octet-stream");
  CHECK(frames[2].body == "text");
  CHECK_FALSE(frames[2].header("content-length"));  // user's bogus value dropped, none asked for
  CHECK(frames[3].command == "UNSUBSCRIBE");
  CHECK(frames[3].header("receipt") == "r1");
  CHECK(s.counters().framesOut == 5);  // with CONNECT
}

TEST_CASE("ACK and NACK use the header of the negotiated version", "[session]") {
  Wire w;
  Frame msg("MESSAGE", {{"destination", "/q"}, {"message-id", "m-7"}, {"subscription", "sub-3"}, {"ack", "a-9"}});
  SECTION("1.2: id from the ack header") {
    auto s = connected(w, noHeartbeat(), "1.2");
    REQUIRE_FALSE(s.ack(msg, "tx1", {{"x", "y"}}));
    REQUIRE_FALSE(s.nack(msg, "", {}));
    auto f = parseAll(w.takeOutput());
    REQUIRE(f.size() == 2);
    CHECK(f[0].command == "ACK");
    CHECK(f[0].header("id") == "a-9");
    CHECK(f[0].header("transaction") == "tx1");
    CHECK(f[0].header("x") == "y");
    CHECK_FALSE(f[0].header("message-id"));
    CHECK(f[1].command == "NACK");
    CHECK(f[1].header("id") == "a-9");
    Frame noAck("MESSAGE", {{"message-id", "m"}, {"subscription", "s"}});
    CHECK(s.ack(noAck, "", {}) == errc::invalid_argument);
  }
  SECTION("1.1: message-id and subscription") {
    auto s = connected(w, noHeartbeat(), "1.1");
    REQUIRE_FALSE(s.ack(msg, "", {}));
    auto f = parseAll(w.takeOutput());
    REQUIRE(f.size() == 1);
    CHECK(f[0].header("message-id") == "m-7");
    CHECK(f[0].header("subscription") == "sub-3");
    CHECK_FALSE(f[0].header("id"));
    Frame noSub("MESSAGE", {{"message-id", "m"}});
    CHECK(s.ack(noSub, "", {}) == errc::invalid_argument);
  }
  SECTION("1.0: message-id only, and no NACK in 1.0") {
    auto s = connected(w, noHeartbeat(), "");
    REQUIRE_FALSE(s.ack(msg, "", {}));
    auto f = parseAll(w.takeOutput());
    REQUIRE(f.size() == 1);
    CHECK(f[0].header("message-id") == "m-7");
    CHECK_FALSE(f[0].header("subscription"));
    CHECK(s.nack(msg, "", {}) == errc::unsupported_version);
    Frame noId("MESSAGE", {});
    CHECK(s.ack(noId, "", {}) == errc::invalid_argument);
  }
}

TEST_CASE("BEGIN, COMMIT, ABORT", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat());
  REQUIRE_FALSE(s.begin("t1"));
  REQUIRE_FALSE(s.commit("t1"));
  REQUIRE_FALSE(s.abort("t2"));
  CHECK(s.begin("") == errc::invalid_argument);
  CHECK(s.commit("") == errc::invalid_argument);
  CHECK(s.abort("") == errc::invalid_argument);
  auto f = parseAll(w.takeOutput());
  REQUIRE(f.size() == 3);
  CHECK(f[0].command == "BEGIN");
  CHECK(f[1].command == "COMMIT");
  CHECK(f[2].command == "ABORT");
  CHECK(f[2].header("transaction") == "t2");
}

TEST_CASE("MESSAGE and RECEIPT events - frames split across transport messages", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat());
  std::string both = stompFrame("MESSAGE", {{"destination", "/q"}, {"subscription", "s"}, {"message-id", "1"}}, "hi") +
                     "\n" + stompFrame("RECEIPT", {{"receipt-id", "r-1"}});
  s.receive(both.substr(0, 10), 1ms);
  CHECK_FALSE(w.hasEvents());
  s.receive(both.substr(10), 2ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == SessionEvent::Type::message);
  CHECK(ev[0].frame.body == "hi");
  CHECK(ev[1].type == SessionEvent::Type::receipt);
  CHECK(ev[1].frame.header("receipt-id") == "r-1");
  CHECK(s.counters().framesIn == 3);
  CHECK(s.counters().heartbeatsIn == 1);
  CHECK(s.lastReceived() == 2ms);
}

TEST_CASE("events come as each frame is parsed: the listener may ACK and DISCONNECT from inside one", "[session]") {
  // A listener that acts on what it sees, as the client does: the session's state already includes the
  // frame, and what the listener sends goes out between the frames of the same input.
  struct Acting final : SessionListener {
    Session* session = nullptr;
    std::vector<std::string> seen;
    void onEvent(const SessionEvent& e) override {
      if (e.type != SessionEvent::Type::message) {
        seen.push_back(e.type == SessionEvent::Type::disconnected ? "disconnected" : "other");
        return;
      }
      const std::string id(e.frame.header("message-id").value_or(""));
      seen.push_back(id + "=" + std::string(e.frame.body));
      if (id == "1") CHECK_FALSE(session->acknowledge(e.frame, false, "", {}));
      if (id == "2") CHECK_FALSE(session->disconnect("bye"));
    }
  } acting;
  Wire w;
  SessionOptions o = noHeartbeat();
  o.transport = &w;
  o.listener = &acting;
  Session s(o);
  acting.session = &s;
  REQUIRE_FALSE(s.start(0ms));
  s.receive(stompFrame("CONNECTED", {{"version", "1.2"}}), 0ms);
  REQUIRE(s.state() == SessionState::connected);
  w.takeOutput();
  auto msg = [](int i, std::size_t size) {
    return stompFrame("MESSAGE", {{"destination", "/q"}, {"subscription", "s"}, {"message-id", std::to_string(i)}, {"ack", "a" + std::to_string(i)}},
                      std::string(size, static_cast<char>('a' + i)));
  };
  // Message 1 spans two inputs (its view is whole all the same); the DISCONNECT receipt and a message
  // after it come in the same input as message 2, whose listener call sends the DISCONNECT.
  const std::string first = msg(0, 3) + msg(1, 5000);
  s.receive(first.substr(0, 2000), 1ms);
  s.receive(first.substr(2000), 2ms);
  s.receive(msg(2, 1) + stompFrame("RECEIPT", {{"receipt-id", "bye"}}) + msg(3, 1), 3ms);
  CHECK(acting.seen == std::vector<std::string>{"other", "0=aaa", "1=" + std::string(5000, 'b'), "2=c", "disconnected"});
  auto f = parseAll(w.takeOutput());
  REQUIRE(f.size() == 2);
  CHECK(f[0].command == "ACK");
  CHECK(f[0].header("id") == "a1");
  CHECK(f[1].command == "DISCONNECT");
  CHECK(s.state() == SessionState::closed);
  CHECK(s.counters().framesIn == 5);  // CONNECTED, three messages, the receipt: not the message after it
}

TEST_CASE("a failure after messages in one input: the messages, then a failed event without a frame", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat());
  s.receive(stompFrame("MESSAGE", {{"destination", "/q"}, {"subscription", "s"}, {"empty", ""}}, "x") + "not STOMP\n\n" + std::string(1, '\0'), 1ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == SessionEvent::Type::message);
  REQUIRE(ev[0].frame.headers.size() == 3);
  CHECK(ev[0].frame.headers[2].name == "empty");
  CHECK(ev[0].frame.headers[2].value.empty());
  CHECK(ev[1].type == SessionEvent::Type::failed);
  CHECK(ev[1].error == errc::invalid_command);
  CHECK(ev[1].frame.command.empty());
  CHECK(ev[1].frame.headers.empty());
  CHECK(s.state() == SessionState::closed);
}

TEST_CASE("protocol errors after CONNECTED: RECEIPT without id, second CONNECTED, unknown command", "[session]") {
  Wire w;
  for (std::string bad : {stompFrame("RECEIPT", {}), stompFrame("CONNECTED", {{"version", "1.2"}}),
                          stompFrame("SEND", {{"destination", "/q"}})}) {
    auto s = connected(w, noHeartbeat());
    s.receive(bad, 1ms);
    auto ev = w.takeEvents();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == SessionEvent::Type::failed);
    CHECK(ev[0].error == errc::protocol_error);
    CHECK(s.send("/q", "x", {}) == errc::not_connected);
  }
}

TEST_CASE("ERROR mid-stream: frames before it are delivered, frames after it are not", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat());
  std::string bytes = stompFrame("MESSAGE", {{"destination", "/q"}, {"subscription", "s"}}, "1") +
                      stompFrame("ERROR", {{"message", "boom"}}, "details") +
                      stompFrame("MESSAGE", {{"destination", "/q"}, {"subscription", "s"}}, "2");
  s.receive(bytes, 1ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == SessionEvent::Type::message);
  CHECK(ev[1].type == SessionEvent::Type::error);
  CHECK(ev[1].frame.body == "details");
  CHECK(s.state() == SessionState::closed);
}

TEST_CASE("oversize incoming frame is an error, not unbounded memory", "[session]") {
  Wire w;
  SessionOptions o = noHeartbeat();
  o.limits.maxFrameSize = 256;
  o.limits.maxBodySize = 256;
  auto s = connected(w, o);
  s.receive(stompFrame("MESSAGE", {{"destination", "/q"}}, std::string(1000, 'x')), 1ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == SessionEvent::Type::failed);
  CHECK((ev[0].error == errc::frame_too_large || ev[0].error == errc::body_too_large));
}

TEST_CASE("DISCONNECT with receipt: other receipts still flow, the matching one closes", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat());
  CHECK(s.disconnect("") == errc::invalid_argument);
  REQUIRE_FALSE(s.disconnect("bye-1"));
  CHECK(s.state() == SessionState::disconnecting);
  auto f = parseAll(w.takeOutput());
  REQUIRE(f.size() == 1);
  CHECK(f[0].command == "DISCONNECT");
  CHECK(f[0].header("receipt") == "bye-1");
  CHECK(s.send("/q", "x", {}) == errc::not_connected);
  s.receive(stompFrame("RECEIPT", {{"receipt-id", "r-5"}}) + stompFrame("RECEIPT", {{"receipt-id", "bye-1"}}), 1ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == SessionEvent::Type::receipt);
  CHECK(ev[1].type == SessionEvent::Type::disconnected);
  CHECK(s.state() == SessionState::closed);
}

TEST_CASE("outgoing heart-beats only when quiet - incoming loss at interval x tolerance", "[session][heartbeat]") {
  Wire w;
  SessionOptions o;
  o.heartbeatOutgoing = 1000ms;
  o.heartbeatIncoming = 1000ms;
  o.heartbeatToleranceMultiplier = 1.5;
  w.attach(o);
  Session s(o);
  REQUIRE_FALSE(s.start(0ms));
  w.takeOutput();
  s.receive(stompFrame("CONNECTED", {{"version", "1.2"}, {"heart-beat", "2000,1000"}}), 0ms);
  w.takeEvents();
  REQUIRE(s.heartbeat().send == 1000ms);
  REQUIRE(s.heartbeat().expect == 2000ms);
  // Deadline: the earlier of the next send (0+1000) and the silence limit (0 + 2000*1.5).
  CHECK(s.nextDeadline() == 1000ms);

  s.tick(999ms);
  CHECK_FALSE(w.hasOutput());
  s.tick(1000ms);
  std::size_t hb = 0;
  parseAll(w.takeOutput(), &hb);
  CHECK(hb == 1);
  CHECK(s.counters().heartbeatsOut == 1);

  // Sending a frame counts as activity: no heart-beat 1000 ms after it.
  s.updateTime(1500ms);
  REQUIRE_FALSE(s.send("/q", "x", {}));
  w.takeOutput();
  s.tick(2000ms);
  CHECK_FALSE(w.hasOutput());
  CHECK(s.nextDeadline() == 2500ms);

  // Incoming: anything received resets the silence clock.
  s.receive("\n", 2900ms);
  CHECK(s.lastReceived() == 2900ms);
  s.tick(2900ms + 2999ms);
  CHECK(s.state() == SessionState::connected);
  w.takeOutput();
  s.tick(2900ms + 3000ms);
  auto ev = w.takeEvents();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == SessionEvent::Type::failed);
  CHECK(ev[0].error == errc::heartbeat_timeout);
  CHECK_FALSE(s.nextDeadline());
  s.tick(10000ms);  // closed: nothing
  CHECK_FALSE(w.hasEvents());
}

TEST_CASE("splitLargeFrames cuts text frames into chunks, never binary ones", "[session]") {
  Wire w;
  SessionOptions o = noHeartbeat();
  o.splitLargeFrames = true;
  o.maxWebSocketChunkSize = 64;
  auto s = connected(w, o);
  const std::string body(300, 'z');
  REQUIRE_FALSE(s.send("/q", body, {}));
  auto out = w.takeOutput();
  CHECK(out.size() > 1);
  for (const auto& m : out) CHECK(m.data.size() <= 64);
  auto frames = parseAll(out);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].body == body);

  REQUIRE_FALSE(s.send("/q", body, {}, {.binary = true, .contentLength = true}));
  out = w.takeOutput();
  CHECK(out.size() == 1);
  CHECK(out[0].binary);
}

TEST_CASE("a frame the version cannot encode is refused and nothing is queued", "[session]") {
  Wire w;
  auto s = connected(w, noHeartbeat(), "");  // 1.0: no escaping, so a header value with EOL is unencodable
  CHECK(s.send("/q", "x", {{"bad", "a\nb"}}) == errc::unencodable_header);
  CHECK_FALSE(w.hasOutput());
  CHECK(s.sendFrame(Frame("lower")) == errc::invalid_command);
  CHECK_FALSE(w.hasOutput());

  // Refused between two good frames: both of those go out whole, in order.
  REQUIRE_FALSE(s.send("/q", "one", {}));
  CHECK(s.send("/q", "x", {{"bad", "a\nb"}}) == errc::unencodable_header);
  CHECK(s.sendFrame(Frame("lower")) == errc::invalid_command);
  REQUIRE_FALSE(s.sendFrame(Frame("SEND", {{"destination", "/r"}}, "two")));
  auto frames = parseAll(w.takeOutput());
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].body == "one");
  CHECK(frames[1].header("destination") == "/r");
  CHECK(frames[1].body == "two");
}

// Each frame goes to the transport as it is written: large text frames cut into chunks, binary ones
// never; the counters count frames, not chunks.
TEST_CASE("messages go out in order as written, large text frames in chunks", "[session]") {
  Wire w;
  using namespace std::string_literals;
  SessionOptions o = noHeartbeat();
  o.splitLargeFrames = true;
  o.maxWebSocketChunkSize = 16;
  auto s = connected(w, o);
  CHECK_FALSE(w.hasOutput());

  const SessionCounters before = s.counters();
  REQUIRE_FALSE(s.send("/q", "a", {}, {.binary = false, .contentLength = false}));  // 23 bytes: two chunks
  REQUIRE_FALSE(s.send("/q", "b", {}, {.binary = true, .contentLength = false}));   // binary: never cut
  REQUIRE_FALSE(s.begin("t"));                                                       // 22 bytes: two chunks
  REQUIRE_FALSE(s.send("/q", "c", {{"content-type", "x"}}));                         // 55 bytes: four
  const std::string first = "SEND\ndestination:/q\n\na\0"s;
  const std::string second = "SEND\ndestination:/q\n\nb\0"s;
  const std::string third = "BEGIN\ntransaction:t\n\n\0"s;
  const std::string fourth = "SEND\ndestination:/q\ncontent-type:x\ncontent-length:1\n\nc\0"s;
  const std::pair<std::string, bool> expected[] = {
      {first.substr(0, 16), false}, {first.substr(16), false},  {second, true},
      {third.substr(0, 16), false}, {third.substr(16), false},  {fourth.substr(0, 16), false},
      {fourth.substr(16, 16), false}, {fourth.substr(32, 16), false}, {fourth.substr(48), false}};
  const auto out = w.takeOutput();
  REQUIRE(out.size() == std::size(expected));
  for (std::size_t i = 0; i < out.size(); ++i) {
    CAPTURE(i);
    CHECK(out[i].data == expected[i].first);
    CHECK(out[i].binary == expected[i].second);
  }
  CHECK(s.counters().framesOut == before.framesOut + 4);
  CHECK(s.counters().bytesOut == before.bytesOut + first.size() + second.size() + third.size() + fourth.size());
}

// The session writes its own frames in one pass (no Frame built first): the bytes must be exactly what
// serialize() writes for the equivalent Frame, escaping, repeats and the caller's overrides included.
TEST_CASE("the session's frames are byte for byte what serialize() writes", "[session]") {
  Wire w;
  const std::vector<Header> extra{{"x", "a:b\\c"}, {"id", "mine"}, {"x", "again"}, {"destination", "/d"},
                                  {"transaction", "t9"}, {"subscription", "s9"}, {"content-length", "7"}};
  auto expect = [](Version v, const Frame& f, bool contentLength = false) {
    std::string wire;
    REQUIRE_FALSE(serialize(f, wire, {.version = v, .alwaysContentLength = contentLength}));
    return wire;
  };
  for (const char* version : {"1.0", "1.1", "1.2"}) {
    CAPTURE(version);
    auto s = connected(w, noHeartbeat(), version == std::string("1.0") ? "" : version);
    const Version v = s.version();
    REQUIRE_FALSE(s.subscribe("sub-1", "/t", "client", extra));
    REQUIRE_FALSE(s.unsubscribe("sub-1", extra));
    const HeaderView trailing[] = {{"transaction", "tx"}, {"receipt", "r-1"}};
    REQUIRE_FALSE(s.send("/q", std::string("b\0dy", 4), extra, {.binary = false, .contentLength = false}, trailing));
    REQUIRE_FALSE(s.send("/q", "body", {}, {.binary = true, .contentLength = true}));
    const Frame msg("MESSAGE", {{"message-id", "m-1"}, {"subscription", "s-1"}, {"ack", "a-1"}});
    REQUIRE_FALSE(s.ack(msg, "tx", extra));
    REQUIRE_FALSE(s.ack(msg, "", extra));
    const HeaderView mv[] = {{"message-id", "m-1"}, {"subscription", "s-1"}, {"ack", "a-1"}};
    REQUIRE_FALSE(s.acknowledge(FrameView{"MESSAGE", mv, {}}, false, "", {}));
    REQUIRE_FALSE(s.begin("t:1"));
    REQUIRE_FALSE(s.disconnect("d-1"));
    auto out = w.takeOutput();
    REQUIRE(out.size() == 9);

    std::vector<Header> kept;  // what a caller's headers add next to the session's own, per frame
    auto without = [&](std::initializer_list<std::string_view> own, bool dedupe) {
      kept.clear();
      for (const auto& h : extra) {
        bool skip = false;
        for (auto o : own) skip = skip || h.name == o;
        for (const auto& k : kept) skip = skip || (dedupe && k.name == h.name);
        if (!skip) kept.push_back(h);
      }
      return kept;
    };
    Frame sub("SUBSCRIBE", {{"destination", "/t"}, {"id", "sub-1"}, {"ack", "client"}});
    for (auto& h : without({"destination", "id", "ack"}, false)) sub.headers.push_back(h);
    CHECK(out[0].data == expect(v, sub));
    Frame unsub("UNSUBSCRIBE", {{"id", "sub-1"}});
    for (auto& h : without({"id"}, false)) unsub.headers.push_back(h);
    CHECK(out[1].data == expect(v, unsub));
    Frame send("SEND", {{"destination", "/q"}}, std::string("b\0dy", 4));
    for (auto& h : without({"destination"}, false)) send.headers.push_back(h);
    send.headers.push_back({"transaction", "tx"});
    send.headers.push_back({"receipt", "r-1"});
    CHECK(out[2].data == expect(v, send));
    CHECK(out[3].data == expect(v, Frame("SEND", {{"destination", "/q"}}, "body"), true));
    CHECK(out[3].binary);
    Frame ack("ACK");
    if (v == Version::v1_2) {
      ack.headers = {{"id", "a-1"}};
    } else {
      ack.headers = {{"message-id", "m-1"}};
      if (v == Version::v1_1) ack.headers.push_back({"subscription", "s-1"});
    }
    Frame ackTx = ack;
    ackTx.headers.push_back({"transaction", "tx"});
    for (auto& h : extra)
      if (!ackTx.header(h.name)) ackTx.headers.push_back(h);
    CHECK(out[4].data == expect(v, ackTx));
    Frame ackPlain = ack;
    for (auto& h : extra)
      if (!ackPlain.header(h.name)) ackPlain.headers.push_back(h);
    CHECK(out[5].data == expect(v, ackPlain));
    CHECK(out[6].data == expect(v, ack));
    CHECK(out[7].data == expect(v, Frame("BEGIN", {{"transaction", "t:1"}})));
    CHECK(out[8].data == expect(v, Frame("DISCONNECT", {{"receipt", "d-1"}})));
  }
  SECTION("CONNECT: never escaped; custom headers after the standard ones, negotiation headers dropped") {
    SessionOptions o;
    const std::vector<Header> extra{{"host", "vh"}, {"login", "u"},         {"passcode", "p:w"},         {"heart-beat", "1,1"},
                                    {"k", "v:1"},   {"accept-version", "1.0"}, {"k", "2"}};
    o.connectHeaders = extra;
    w.attach(o);
    Session s(o);
    REQUIRE_FALSE(s.start(0ms));
    auto out = w.takeOutput();
    REQUIRE(out.size() == 1);
    const Frame connect("CONNECT", {{"accept-version", "1.0,1.1,1.2"}, {"heart-beat", "10000,10000"}, {"host", "vh"},
                                    {"login", "u"}, {"passcode", "p:w"}, {"k", "v:1"}, {"k", "2"}});
    CHECK(out[0].data == expect(Version::v1_2, connect));
  }
  SECTION("a header the version cannot carry: refused, nothing queued") {
    auto s11 = connected(w, noHeartbeat(), "1.1");  // 1.1 has no escape for CR
    CHECK(s11.send("/q", "x", {{"a", "b\rc"}}) == errc::unencodable_header);
    CHECK(s11.subscribe("s", "/q", "auto", {{"a\r", "b"}}) == errc::unencodable_header);
    CHECK(s11.send("/q", "x", {{"", "b"}}) == errc::unencodable_header);
    CHECK_FALSE(w.hasOutput());
    SessionOptions o;
    const std::vector<Header> extra{{"a:b", "c"}};
    o.connectHeaders = extra;  // CONNECT is never escaped: a colon in a name cannot be written
    w.attach(o);
    Session s(o);
    CHECK(s.start(0ms) == errc::unencodable_header);
    CHECK_FALSE(w.hasOutput());
    CHECK(s.state() == SessionState::idle);
  }
}

TEST_CASE("the session's frames, byte for byte as literals: escaping by version, CONNECT verbatim", "[session]") {
  Wire w;
  using namespace std::string_literals;
  {
    SessionOptions o = noHeartbeat();
    const std::vector<Header> extra{{"host", "h:1"}, {"login", "a\\b"}};
    o.connectHeaders = extra;
    w.attach(o);
    Session s(o);
    REQUIRE_FALSE(s.start(0ms));
    auto out = w.takeOutput();
    REQUIRE(out.size() == 1);
    CHECK(out[0].data == "CONNECT\naccept-version:1.0,1.1,1.2\nheart-beat:0,0\nhost:h:1\nlogin:a\\b\n\n\0"s);
  }
  {
    auto s = connected(w, noHeartbeat(), "1.2");
    REQUIRE_FALSE(s.subscribe("s:1", "/t", "", {{"x", "a:b\\c\nd\re"}}));
    REQUIRE_FALSE(s.send("/q", "b\0dy"s, {}, {.binary = false, .contentLength = false}));
    REQUIRE_FALSE(s.send("/q", "", {}));
    auto out = w.takeOutput();
    REQUIRE(out.size() == 3);
    CHECK(out[0].data == "SUBSCRIBE\ndestination:/t\nid:s\\c1\nack:auto\nx:a\\cb\\\\c\\nd\\re\n\n\0"s);
    CHECK(out[1].data == "SEND\ndestination:/q\ncontent-length:4\n\nb\0dy\0"s);
    CHECK(out[2].data == "SEND\ndestination:/q\ncontent-length:0\n\n\0"s);
  }
  {
    auto s = connected(w, noHeartbeat(), "1.1");
    CHECK(s.subscribe("s1", "/t", "", {{"x", "a\rb"}}) == errc::unencodable_header);  // no CR escape in 1.1
    REQUIRE_FALSE(s.subscribe("s1", "/t", "", {{"x", "a\nb:c"}}));
    auto out = w.takeOutput();
    REQUIRE(out.size() == 1);
    CHECK(out[0].data == "SUBSCRIBE\ndestination:/t\nid:s1\nack:auto\nx:a\\nb\\cc\n\n\0"s);
  }
  {
    auto s = connected(w, noHeartbeat(), "");  // 1.0: nothing is escaped
    REQUIRE_FALSE(s.subscribe("s:1", "/t", "", {{"x", "a:b\\c"}}));
    CHECK(s.subscribe("s2", "/t", "", {{"x", "a\nb"}}) == errc::unencodable_header);
    CHECK(s.subscribe("s2", "/t", "", {{"x:y", "v"}}) == errc::unencodable_header);
    CHECK(s.subscribe("s2", "/t", "", {{"", "v"}}) == errc::unencodable_header);
    auto out = w.takeOutput();
    REQUIRE(out.size() == 1);
    CHECK(out[0].data == "SUBSCRIBE\ndestination:/t\nid:s:1\nack:auto\nx:a:b\\c\n\n\0"s);
  }
}
