// Client policy: subscriptions across reconnects, publish and the offline queue, receipts, ack/nack,
// transactions, large frames, metrics, and user code calling back into the client.
#include <catch2/catch_test_macros.hpp>

#include "client_fixture.hpp"

using namespace stompwire;
using namespace stompwire::test;

namespace {
std::vector<std::string> bodies(const std::vector<Frame>& frames) {
  std::vector<std::string> out;
  for (auto& f : frames) out.push_back(f.body);
  return out;
}
}  // namespace

TEST_CASE("subscriptions are re-sent with the same ids on every CONNECTED", "[client][subscribe]") {
  ClientFixture f;
  std::vector<std::string> got;
  auto a = f.client->subscribe("/topic/a", [&](const Message& m) { got.emplace_back(m.body()); });
  auto b = f.client->subscribe("/queue/b", [&](const Message& m) { got.emplace_back(m.body()); },
                               {{"id", "mine"}, {"ack", "client"}, {"x-prio", "9"}});
  REQUIRE_FALSE(a.error());
  CHECK(a.id() == "sub-0");
  CHECK(b.id() == "mine");
  CHECK(a.active());
  CHECK(a.destination() == "/topic/a");
  auto& l1 = f.activateAndConnect();
  auto subs1 = l1.framesNamed("SUBSCRIBE");
  REQUIRE(subs1.size() == 2);
  CHECK(subs1[0].header("id") == "sub-0");
  CHECK(subs1[0].header("ack") == "auto");
  CHECK(subs1[1].header("id") == "mine");
  CHECK(subs1[1].header("ack") == "client");
  CHECK(subs1[1].header("x-prio") == "9");
  l1.drop();
  f.sched.advance(500ms);
  auto& l2 = f.serverAccepts();
  auto subs2 = l2.framesNamed("SUBSCRIBE");
  REQUIRE(subs2.size() == 2);
  CHECK(subs2[0] == subs1[0]);
  CHECK(subs2[1] == subs1[1]);
  l2.deliver(message("mine", "hello"));
  CHECK(got == std::vector<std::string>{"hello"});
  CHECK(f.client->metrics().subscriptions == 2);
}

TEST_CASE("subscribe errors: empty destination, no callback, bad ack mode, duplicate id", "[client][subscribe]") {
  ClientFixture f;
  auto cb = [](const Message&) {};
  CHECK(f.client->subscribe("", cb).error() == errc::invalid_argument);
  CHECK(f.client->subscribe("/q", MessageCallback{}).error() == errc::invalid_argument);
  CHECK(f.client->subscribe("/q", cb, {{"ack", "sometimes"}}).error() == errc::invalid_argument);
  auto ok = f.client->subscribe("/q", cb, {{"id", "x"}});
  REQUIRE_FALSE(ok.error());
  auto dup = f.client->subscribe("/q", cb, {{"id", "x"}});
  CHECK(dup.error() == errc::invalid_argument);
  CHECK_FALSE(dup.active());
  CHECK(dup.unsubscribe() == errc::invalid_argument);
  // Generated ids skip ones the user took.
  f.client->subscribe("/q", cb, {{"id", "sub-0"}});
  CHECK(f.client->subscribe("/q", cb).id() == "sub-1");
}

TEST_CASE("unsubscribe: UNSUBSCRIBE when connected - offline it only forgets", "[client][subscribe]") {
  ClientFixture f;
  std::vector<std::string> got;
  auto a = f.client->subscribe("/topic/a", [&](const Message& m) { got.emplace_back(m.body()); }, {{"id", "a"}});
  auto b = f.client->subscribe("/topic/b", [&](const Message& m) { got.emplace_back(m.body()); }, {{"id", "b"}});
  auto& l1 = f.activateAndConnect();
  REQUIRE_FALSE(a.unsubscribe({{"receipt", "u1"}}));
  CHECK_FALSE(a.active());
  auto un = l1.framesNamed("UNSUBSCRIBE");
  REQUIRE(un.size() == 1);
  CHECK(un[0].header("id") == "a");
  CHECK(a.unsubscribe() == errc::invalid_state);
  l1.deliver(message("a", "late"));  // in flight before the broker saw UNSUBSCRIBE
  CHECK(got.empty());
  CHECK(f.logged("unhandled:late"));
  l1.drop();
  REQUIRE_FALSE(b.unsubscribe());  // offline: nothing to send
  f.sched.advance(500ms);
  auto& l2 = f.serverAccepts();
  CHECK(l2.framesNamed("SUBSCRIBE").empty());
  CHECK(l2.framesNamed("UNSUBSCRIBE").empty());
  CHECK(f.client->metrics().subscriptions == 0);
}

TEST_CASE("a message for an unknown subscription goes to onUnhandledMessage", "[client][subscribe]") {
  ClientFixture f;
  int second = 0;
  f.client->onUnhandledMessage([&](const Message& m) {
    if (m.body() != "boo") return;
    ++second;
    CHECK(m.subscription() == "ghost");
    CHECK(m.destination() == "/topic/t");
    CHECK(m.messageId() == "m-9");
    CHECK(m.header("destination") == "/topic/t");
    CHECK(m.headers().size() == 3);
    CHECK(m.frame().command == "MESSAGE");
    CHECK(m.isBinary());  // it came in a binary WebSocket message
  });
  auto& l = f.activateAndConnect();
  l.deliver(message("ghost", "boo", "m-9"), true);
  CHECK(f.logged("unhandled:boo"));
  CHECK(second == 1);
  // 1.0-style MESSAGE without a subscription header is unhandled too.
  l.deliver(stompFrame("MESSAGE", {{"destination", "/q"}}, "nosub"));
  CHECK(f.logged("unhandled:nosub"));
}

TEST_CASE("publish when connected sends now and completes - SEND headers", "[client][publish]") {
  ClientFixture f;
  auto& l = f.activateAndConnect();
  auto h = f.client->publish({.destination = "/queue/x",
                              .body = "{\"a\":1}",
                              .headers = {{"content-type", "application/json"}, {"destination", "/evil"}}});
  CHECK(h.status() == PublishStatus::completed);
  CHECK(h.done());
  CHECK_FALSE(h.error());
  CHECK(h.receiptId().empty());
  std::error_code seen = make_error_code(errc::invalid_state);
  h.onComplete([&](std::error_code ec) { seen = ec; });
  CHECK_FALSE(seen);
  auto sends = l.framesNamed("SEND");
  REQUIRE(sends.size() == 1);
  CHECK(sends[0].header("destination") == "/queue/x");
  CHECK(sends[0].header("content-type") == "application/json");
  CHECK(sends[0].header("content-length") == "7");
  CHECK(sends[0].body == "{\"a\":1}");

  auto bin = f.client->publish({.destination = "/q", .body = std::string("\0\1", 2), .binary = true});
  CHECK(l.sent.back().binary);
  auto nolen = f.client->publish({.destination = "/q", .body = "plain", .skipContentLengthHeader = true});
  CHECK_FALSE(l.framesNamed("SEND").back().header("content-length"));
  auto bad = f.client->publish({.destination = "", .body = "x"});
  CHECK(bad.error() == errc::invalid_argument);
  CHECK(bad.status() == PublishStatus::failed);
  CHECK_FALSE(PublishHandle().done() == false);  // an empty handle reports failed
  CHECK(PublishHandle().error() == errc::invalid_state);
}

TEST_CASE("offline queue: order, overflow by count and by bytes, flush after resubscribe", "[client][queue]") {
  ClientOptions o = testOptions();
  o.offlineQueue.maxMessages = 3;
  o.offlineQueue.maxBytes = 1000;
  ClientFixture f(o);
  f.client->subscribe("/topic/a", [](const Message&) {});
  auto h1 = f.client->publish({.destination = "/q", .body = "1"});  // before activate: queued too
  f.client->activate();
  auto h2 = f.client->publish({.destination = "/q", .body = "2"});
  auto h3 = f.client->publish({.destination = "/q", .body = "3"});
  auto h4 = f.client->publish({.destination = "/q", .body = "4"});
  CHECK(h1.status() == PublishStatus::queued);
  CHECK(h3.status() == PublishStatus::queued);
  CHECK(h4.error() == errc::queue_full);  // overflow: an error to the caller, never a silent drop
  auto m = f.client->metrics();
  CHECK(m.queueDepth == 3);
  CHECK(m.queueBytes == 9);  // body + destination
  std::vector<std::string> completions;
  h2.onComplete([&](std::error_code ec) { completions.push_back(ec ? "err" : "h2"); });
  auto& l = f.serverAccepts();
  auto frames = l.frames();
  REQUIRE(frames.size() == 5);
  CHECK(frames[0].command == "CONNECT");
  CHECK(frames[1].command == "SUBSCRIBE");  // resubscribe first
  CHECK(bodies(l.framesNamed("SEND")) == std::vector<std::string>{"1", "2", "3"});
  CHECK(h1.status() == PublishStatus::completed);
  CHECK(completions == std::vector<std::string>{"h2"});
  CHECK(f.client->metrics().queueDepth == 0);
  CHECK(f.client->metrics().queueBytes == 0);

  // By bytes.
  l.drop();
  auto big = f.client->publish({.destination = "/q", .body = std::string(990, 'x')});
  CHECK(big.status() == PublishStatus::queued);
  auto over = f.client->publish({.destination = "/q", .body = "abcdefghij"});
  CHECK(over.error() == errc::queue_full);
  auto fits = f.client->publish({.destination = "/q", .body = "a", .headers = {{"k", "v"}}});
  CHECK(fits.status() == PublishStatus::queued);  // 990+2 + 1+2+1+1 <= 1000
  auto hdrs = f.client->publish({.destination = "/q", .body = "", .headers = {{"key", "value"}}});
  CHECK(hdrs.error() == errc::queue_full);  // headers count: 997 + 2+3+5 > 1000
  auto tiny = f.client->publish({.destination = "/", .body = ""});
  CHECK(tiny.status() == PublishStatus::queued);
  CHECK(f.client->metrics().queueBytes == 998);
}

TEST_CASE("offline queue disabled (maxMessages 0): publish offline fails", "[client][queue]") {
  ClientOptions o = testOptions();
  o.offlineQueue.maxMessages = 0;
  ClientFixture f(o);
  CHECK(f.client->publish({.destination = "/q", .body = "x"}).error() == errc::queue_full);
}

TEST_CASE("publish without receipt is at-most-once: not re-sent after a drop", "[client][publish]") {
  ClientFixture f;
  auto& l1 = f.activateAndConnect();
  f.client->publish({.destination = "/q", .body = "once"});
  l1.drop();
  f.sched.advance(500ms);
  auto& l2 = f.serverAccepts();
  CHECK(l2.framesNamed("SEND").empty());
}

TEST_CASE("receipt: completes on RECEIPT, records the RTT, unknown receipts reported", "[client][receipt]") {
  ClientFixture f;
  std::vector<std::string> unknown;
  f.client->onUnhandledReceipt([&](const Frame& r) { unknown.emplace_back(r.header("receipt-id").value_or("")); });
  auto& l = f.activateAndConnect();
  auto h = f.client->publish({.destination = "/q", .body = "x", .receipt = true});
  CHECK(h.status() == PublishStatus::sent);
  CHECK_FALSE(h.receiptId().empty());
  CHECK(l.framesNamed("SEND").back().header("receipt") == h.receiptId());
  CHECK(f.client->metrics().pendingReceipts == 1);
  int calls = 0;
  h.onComplete([&](std::error_code ec) {
    CHECK_FALSE(ec);
    ++calls;
  });
  f.sched.advance(42ms);
  l.deliver(receipt(h.receiptId()));
  CHECK(calls == 1);
  CHECK(h.status() == PublishStatus::completed);
  CHECK(f.client->metrics().lastReceiptRtt == 42ms);
  CHECK(f.client->metrics().pendingReceipts == 0);
  l.deliver(receipt(h.receiptId()));  // duplicate: not completed twice
  CHECK(calls == 1);
  CHECK(unknown == std::vector<std::string>{h.receiptId()});
}

TEST_CASE("receipt-tracked publish is re-sent after a drop and completed once", "[client][receipt]") {
  ClientFixture f;
  auto& l1 = f.activateAndConnect();
  auto h1 = f.client->publish({.destination = "/q", .body = "first", .receipt = true});
  auto h2 = f.client->publish({.destination = "/q", .body = "second", .receipt = true});
  l1.deliver(receipt(h1.receiptId()));  // only the first is confirmed
  l1.drop();
  auto h3 = f.client->publish({.destination = "/q", .body = "third", .receipt = true});  // queued offline
  CHECK(h3.status() == PublishStatus::queued);
  int completions = 0;
  h2.onComplete([&](std::error_code ec) {
    CHECK_FALSE(ec);
    ++completions;
  });
  f.sched.advance(500ms);
  auto& l2 = f.serverAccepts();
  auto sends = l2.framesNamed("SEND");
  CHECK(bodies(sends) == std::vector<std::string>{"second", "third"});  // unconfirmed first, then the queue
  CHECK(sends[0].header("receipt") == h2.receiptId());
  CHECK(h3.status() == PublishStatus::sent);
  CHECK(f.client->metrics().pendingReceipts == 2);
  l2.deliver(receipt(h2.receiptId()) + receipt(h3.receiptId()) + receipt(h2.receiptId()));
  CHECK(completions == 1);
  CHECK(h2.status() == PublishStatus::completed);
  CHECK(h3.status() == PublishStatus::completed);
}

TEST_CASE("receipts in and out of order: each completes once, the unconfirmed rest is re-sent in order", "[client][receipt]") {
  ClientOptions o = testOptions();
  o.receiptTimeout = 3000ms;
  ClientFixture f(o);
  auto& l1 = f.activateAndConnect();
  std::vector<PublishHandle> h;
  for (int i = 0; i < 10; ++i) {
    h.push_back(f.client->publish({.destination = "/q", .body = std::to_string(i), .receipt = true}));
  }
  std::vector<int> completed, timedOut;
  for (int i = 0; i < 10; ++i) {
    h[static_cast<std::size_t>(i)].onComplete([&completed, &timedOut, i](std::error_code ec) {
      if (!ec) completed.push_back(i);
      if (ec == errc::receipt_timeout) timedOut.push_back(i);
    });
  }
  // In order from the front, then out of order (from the middle and the back), then a duplicate.
  l1.deliver(receipt(h[0].receiptId()) + receipt(h[1].receiptId()) + receipt(h[5].receiptId()) +
             receipt(h[9].receiptId()) + receipt(h[2].receiptId()) + receipt(h[5].receiptId()));
  CHECK(completed == std::vector<int>{0, 1, 5, 9, 2});
  CHECK(timedOut.empty());
  CHECK(f.client->metrics().pendingReceipts == 5);
  l1.drop();
  f.sched.advance(500ms);
  auto& l2 = f.serverAccepts();
  CHECK(bodies(l2.framesNamed("SEND")) == std::vector<std::string>{"3", "4", "6", "7", "8"});
  CHECK(f.client->metrics().pendingReceipts == 5);
  l2.deliver(receipt(h[4].receiptId()) + receipt(h[3].receiptId()));
  CHECK(f.client->metrics().pendingReceipts == 3);
  // The rest time out (their timers ran from the publish): failed once, not completed.
  f.sched.advance(3000ms);
  for (int i : {6, 7, 8}) CHECK(h[static_cast<std::size_t>(i)].error() == errc::receipt_timeout);
  CHECK(f.client->metrics().pendingReceipts == 0);
  CHECK(completed == std::vector<int>{0, 1, 5, 9, 2, 4, 3});
  CHECK(timedOut == std::vector<int>{6, 7, 8});
  l2.deliver(receipt(h[7].receiptId()));  // too late
  CHECK(h[7].status() == PublishStatus::failed);
}

TEST_CASE("receipt timeout: fails the handle, sent or still queued", "[client][receipt]") {
  ClientOptions o = testOptions();
  o.receiptTimeout = 3000ms;
  ClientFixture f(o);
  auto queued = f.client->publish({.destination = "/q", .body = "q", .receipt = true});
  auto& l = f.activateAndConnect();
  CHECK(queued.status() == PublishStatus::sent);
  f.sched.advance(1000ms);
  auto sent = f.client->publish({.destination = "/q", .body = "s", .receipt = true});
  std::error_code ec;
  sent.onComplete([&](std::error_code e) { ec = e; });
  f.sched.advance(2000ms);
  CHECK(queued.error() == errc::receipt_timeout);
  CHECK(sent.status() == PublishStatus::sent);
  f.sched.advance(1000ms);
  CHECK(sent.error() == errc::receipt_timeout);
  CHECK(ec == errc::receipt_timeout);
  l.deliver(receipt(sent.receiptId()));  // too late: stays failed
  CHECK(sent.status() == PublishStatus::failed);

  l.drop();
  auto offline = f.client->publish({.destination = "/q", .body = "o", .receipt = true});
  f.sched.advance(400ms);
  CHECK(offline.status() == PublishStatus::queued);
  f.client->deactivate();
  CHECK(offline.error() == errc::deactivated);
}

TEST_CASE("receipt timeout of a queued message removes it from the queue", "[client][receipt]") {
  ClientOptions o = testOptions();
  o.receiptTimeout = 3000ms;
  o.connectionTimeout = 0ms;
  ClientFixture f(o);
  f.client->activate();
  auto h = f.client->publish({.destination = "/q", .body = "q", .receipt = true});
  f.sched.advance(3000ms);
  CHECK(h.error() == errc::receipt_timeout);
  CHECK(f.client->metrics().queueDepth == 0);
  auto& l = f.serverAccepts();
  CHECK(l.framesNamed("SEND").empty());
}

TEST_CASE("deactivate fails pending receipts and the offline queue - graceful keeps earlier receipts", "[client][receipt]") {
  ClientFixture f;
  auto& l = f.activateAndConnect();
  auto a = f.client->publish({.destination = "/q", .body = "a", .receipt = true});
  auto b = f.client->publish({.destination = "/q", .body = "b", .receipt = true});
  f.client->deactivate();
  CHECK(f.client->publish({.destination = "/q", .body = "late"}).error() == errc::deactivated);
  auto disc = l.lastFrame();
  l.deliver(receipt(a.receiptId()) + receipt(*disc->header("receipt")));
  CHECK(a.status() == PublishStatus::completed);  // the broker confirmed it before the DISCONNECT
  CHECK(b.error() == errc::deactivated);
  CHECK(f.client->metrics().pendingReceipts == 0);
}

TEST_CASE("ack and nack on the message, per subscription ack mode", "[client][ack]") {
  ClientFixture f;
  std::vector<Message> kept;
  f.client->subscribe("/queue/c", [&](const Message& m) { kept.push_back(m); }, {{"id", "c"}, {"ack", "client"}});
  f.client->subscribe("/queue/a", [&](const Message& m) { kept.push_back(m); }, {{"id", "a"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("c", "1", "m-1", "ack-1") + message("a", "2", "m-2") + message("c", "3", "m-3", "ack-3"));
  REQUIRE(kept.size() == 3);
  REQUIRE_FALSE(kept[0].ack());
  REQUIRE_FALSE(kept[2].nack({{"requeue", "false"}}));
  CHECK(kept[1].ack() == errc::invalid_state);  // auto subscription
  CHECK(kept[1].nack() == errc::invalid_state);
  auto acks = l.framesNamed("ACK");
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].header("id") == "ack-1");
  auto nacks = l.framesNamed("NACK");
  REQUIRE(nacks.size() == 1);
  CHECK(nacks[0].header("id") == "ack-3");
  CHECK(nacks[0].header("requeue") == "false");
  // Settled once: a second ACK/NACK of the same message (or a copy of it) is refused and not sent.
  CHECK(kept[0].ack() == errc::invalid_state);
  CHECK(Message(kept[0]).nack() == errc::invalid_state);
  CHECK(kept[2].ack() == errc::invalid_state);
  CHECK(l.framesNamed("ACK").size() == 1);
  CHECK(l.framesNamed("NACK").size() == 1);
  CHECK_FALSE(kept[0].isBinary());
  // After a reconnect the broker redelivers; acking the old delivery is refused.
  l.drop();
  CHECK(kept[0].ack() == errc::connection_closed);
  f.sched.advance(500ms);
  f.serverAccepts();
  CHECK(kept[0].ack() == errc::connection_closed);
  CHECK(Message().ack() == errc::invalid_state);
  CHECK(Message().nack() == errc::invalid_state);
  CHECK(Message().body().empty());
}

TEST_CASE("ack on a 1.1 connection uses message-id and subscription", "[client][ack]") {
  ClientFixture f;
  Message kept;
  f.client->subscribe("/q", [&](const Message& m) { kept = m; }, {{"id", "s"}, {"ack", "client-individual"}});
  auto& l = f.activateAndConnect("1.1");
  l.deliver(message("s", "x", "m-5"));
  REQUIRE(kept);
  REQUIRE_FALSE(kept.ack());
  auto ack = l.framesNamed("ACK").at(0);
  CHECK(ack.header("message-id") == "m-5");
  CHECK(ack.header("subscription") == "s");
}

TEST_CASE("transactions: begin, publish, ack, commit, abort, and the errors", "[client][tx]") {
  ClientFixture f;
  auto offline = f.client->begin();
  CHECK(offline.error() == errc::not_connected);
  CHECK(offline.commit() == errc::not_connected);
  CHECK(offline.publish({.destination = "/q", .body = "x"}).error() == errc::not_connected);
  Message kept;
  f.client->subscribe("/q", [&](const Message& m) { kept = m; }, {{"id", "s"}, {"ack", "client"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("s", "in", "m-1", "ack-1"));
  auto tx = f.client->begin();
  REQUIRE_FALSE(tx.error());
  CHECK_FALSE(tx.id().empty());
  auto h = tx.publish({.destination = "/q", .body = "p"});
  CHECK(h.status() == PublishStatus::completed);
  auto hr = tx.publish({.destination = "/q", .body = "r", .receipt = true});
  CHECK(hr.status() == PublishStatus::sent);
  REQUIRE_FALSE(tx.ack(kept));
  REQUIRE_FALSE(tx.nack(kept));
  REQUIRE_FALSE(tx.commit());
  CHECK(tx.commit() == errc::invalid_state);
  CHECK(tx.abort() == errc::invalid_state);
  CHECK(tx.ack(Message()) == errc::invalid_state);
  auto frames = l.frames();
  std::vector<std::string> cmds;
  for (auto& fr : frames)
    if (fr.header("transaction")) cmds.push_back(fr.command + ":" + std::string(*fr.header("transaction")));
  const std::string t = tx.id();
  CHECK(cmds == std::vector<std::string>{"BEGIN:" + t, "SEND:" + t, "SEND:" + t, "ACK:" + t, "NACK:" + t,
                                         "COMMIT:" + t});
  auto tx2 = f.client->begin("my-tx");
  CHECK(tx2.id() == "my-tx");
  REQUIRE_FALSE(tx2.ack(kept));
  REQUIRE_FALSE(tx2.abort());
  CHECK(l.framesNamed("ABORT").at(0).header("transaction") == "my-tx");
  // The aborted transaction's ACK never took effect: the message can still be acked, once.
  REQUIRE_FALSE(kept.ack());
  CHECK(kept.ack() == errc::invalid_state);
  CHECK_FALSE(l.framesNamed("ACK").back().header("transaction"));
  // A reconnect ends a transaction.
  auto tx3 = f.client->begin();
  auto txReceipt = tx3.publish({.destination = "/q", .body = "t", .receipt = true});
  CHECK(txReceipt.status() == PublishStatus::sent);
  l.drop();
  CHECK(txReceipt.error() == errc::connection_closed);  // not re-sent outside its transaction
  f.sched.advance(500ms);
  f.serverAccepts();
  CHECK(tx3.commit() == errc::connection_closed);
  CHECK(f.net.last().framesNamed("SEND").empty());
  CHECK(tx3.publish({.destination = "/q", .body = "x"}).error() == errc::connection_closed);
  CHECK(Transaction().commit() == errc::invalid_state);
  CHECK(Transaction().publish({}).error() == errc::invalid_state);
}

TEST_CASE("splitLargeFrames through the client", "[client][publish]") {
  ClientOptions o = testOptions();
  o.splitLargeFrames = true;
  o.maxWebSocketChunkSize = 100;
  ClientFixture f(o);
  auto& l = f.activateAndConnect();
  std::size_t before = l.sent.size();
  f.client->publish({.destination = "/q", .body = std::string(1000, 'a')});
  CHECK(l.sent.size() - before >= 10);
  CHECK(l.framesNamed("SEND").at(0).body.size() == 1000);
}

TEST_CASE("metrics snapshot counts frames, bytes, attempts and connects", "[client][metrics]") {
  ClientFixture f;
  auto m0 = f.client->metrics();
  CHECK(m0.state == ClientState::inactive);
  CHECK(m0.attempts == 0);
  auto& l = f.activateAndConnect();
  f.client->publish({.destination = "/q", .body = "x"});
  l.deliver(message("s", "y"));
  auto m = f.client->metrics();
  CHECK(m.state == ClientState::connected);
  CHECK(m.attempts == 1);
  CHECK(m.connects == 1);
  CHECK(m.framesOut == 2);  // CONNECT, SEND
  CHECK(m.framesIn == 2);   // CONNECTED, MESSAGE
  std::size_t out = 0;
  for (auto& s : l.sent) out += s.data.size();
  CHECK(m.bytesOut == out);
  CHECK(m.bytesIn > 0);
  l.drop();
  auto m2 = f.client->metrics();  // totals survive the connection
  CHECK(m2.framesOut == 2);
  CHECK(m2.framesIn == 2);
  CHECK(m2.state == ClientState::reconnecting);
  CHECK(m2.nextAttemptAt);
  CHECK(m2.lastError == errc::connection_closed);
}

TEST_CASE("user code may publish, subscribe, unsubscribe and deactivate from a message callback", "[client][reentrancy]") {
  ClientFixture f;
  std::vector<std::string> got;
  Subscription self;
  self = f.client->subscribe("/topic/t", [&](const Message& m) {
    got.emplace_back(m.body());
    if (m.body() == "1") {
      f.client->publish({.destination = "/q", .body = "reply"});
      f.client->subscribe("/topic/other", [&](const Message& m2) { got.push_back("other:" + std::string(m2.body())); },
                          {{"id", "o"}});
      self.unsubscribe();
    }
  }, {{"id", "s"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("s", "1") + message("s", "2") + message("o", "3"));
  CHECK(got == std::vector<std::string>{"1", "other:3"});
  CHECK(f.logged("unhandled:2"));  // unsubscribed by the first callback
  CHECK(bodies(l.framesNamed("SEND")) == std::vector<std::string>{"reply"});
  auto s = l.framesNamed("SUBSCRIBE");
  CHECK(s.back().header("id") == "o");

  // deactivate from a callback: the rest of the batch is not delivered.
  std::vector<std::string> after;
  f.client->subscribe("/x", [&](const Message& m) {
    after.emplace_back(m.body());
    f.client->deactivate({.force = true});
  }, {{"id", "d"}});
  l.deliver(message("d", "a") + message("d", "b"));
  CHECK(after == std::vector<std::string>{"a"});
  CHECK(f.client->state() == ClientState::inactive);
}

TEST_CASE("listeners: several per event, removal during emission", "[client][events]") {
  ClientFixture f;
  std::vector<int> calls;
  ListenerId second = 0;
  f.client->onConnect([&](const Frame&) {
    calls.push_back(1);
    f.client->removeListener(second);  // removed before its turn: not called
  });
  second = f.client->onConnect([&](const Frame&) { calls.push_back(2); });
  ListenerId self = 0;
  std::string captured = "kept alive";  // copied into the listener: read after it removed itself
  self = f.client->onConnect([&, captured](const Frame&) {
    f.client->removeListener(self);
    calls.push_back(captured == "kept alive" ? 3 : -3);
    f.client->onConnect([&](const Frame&) { calls.push_back(5); });  // added meanwhile: next event only
  });
  f.client->onStompError([&](const Frame&) { calls.push_back(9); });  // another event: not called
  f.client->onConnect([&](const Frame&) { calls.push_back(4); });
  auto& l = f.activateAndConnect();
  CHECK(calls == std::vector<int>{1, 3, 4});
  calls.clear();
  l.drop();
  f.sched.advance(1000ms);
  f.serverAccepts();
  CHECK(calls == std::vector<int>{1, 4, 5});
}

TEST_CASE("listener and subscription functions are released when removed, after the delivery that removed them, and with the client", "[client][events]") {
  ClientFixture f;
  auto token = std::make_shared<int>(0);
  // Runs in place (not a copy): its captured state lasts from one event to the next.
  f.client->onStateChange([token, n = 0](const StateChange&) mutable { *token = ++n; });
  ListenerId removed = f.client->onConnect([token](const Frame&) {});
  CHECK(token.use_count() == 3);
  CHECK(f.client->removeListener(removed));  // outside a delivery: released at once
  CHECK(token.use_count() == 2);
  ListenerId self = 0;
  long countInside = 0;
  self = f.client->onConnect([&, token](const Frame&) {
    f.client->removeListener(self);
    countInside = token.use_count();  // still alive while it runs
  });
  Subscription sub;
  sub = f.client->subscribe("/x", [&, token](const Message&) {
    CHECK(sub.unsubscribe() == std::error_code());
    CHECK(token.use_count() >= 3);  // this callback and the state-change listener still hold it
  }, {{"id", "s"}});
  auto& l = f.activateAndConnect();
  CHECK(*token == 2);  // connecting, connected
  CHECK(countInside == 4);  // state-change listener, this listener, the subscription
  CHECK(token.use_count() == 3);  // the removed listener went when the delivery ended
  l.deliver(message("s", "a"));
  CHECK(token.use_count() == 2);  // the unsubscribed callback too
  auto sub2 = f.client->subscribe("/y", [token](const Message&) {}, {{"id", "t"}});
  CHECK(token.use_count() == 3);
  f.client.reset();  // the client's listeners and subscriptions go with it
  CHECK(token.use_count() == 1);
}

TEST_CASE("a queued or unconfirmed publish the negotiated version cannot encode fails, the rest flows", "[client][queue]") {
  ClientFixture f;
  auto& l1 = f.activateAndConnect("1.2");
  // Fine in 1.2 (escaped), unencodable in 1.0 (no escaping).
  auto unconfirmed = f.client->publish({.destination = "/q", .body = "u", .headers = {{"note", "a\nb"}}, .receipt = true});
  CHECK(unconfirmed.status() == PublishStatus::sent);
  l1.drop();
  auto bad = f.client->publish({.destination = "/q", .body = "bad", .headers = {{"note", "x\ny"}}});
  auto good = f.client->publish({.destination = "/q", .body = "good"});
  f.sched.advance(500ms);
  auto& l2 = f.serverAccepts("1.0");
  CHECK(unconfirmed.error() == errc::unencodable_header);
  CHECK(bad.error() == errc::unencodable_header);
  CHECK(good.status() == PublishStatus::completed);
  CHECK(bodies(l2.framesNamed("SEND")) == std::vector<std::string>{"good"});
  // Connected: refused at once.
  auto now = f.client->publish({.destination = "/q", .body = "n", .headers = {{"note", "x\ny"}}});
  CHECK(now.error() == errc::unencodable_header);
}

TEST_CASE("removeListener works for every event kind", "[client][events]") {
  ClientFixture f;
  int n = 0;
  std::vector<ListenerId> ids{
      f.client->onConnect([&](const Frame&) { ++n; }),
      f.client->onDisconnect([&](std::error_code) { ++n; }),
      f.client->onStompError([&](const Frame&) { ++n; }),
      f.client->onStateChange([&](const StateChange&) { ++n; }),
      f.client->onWebSocketClose([&](const CloseEvent&) { ++n; }),
      f.client->onWebSocketError([&](std::error_code) { ++n; }),
      f.client->onUnhandledMessage([&](const Message&) { ++n; }),
      f.client->onUnhandledReceipt([&](const Frame&) { ++n; }),
  };
  for (auto id : ids) CHECK(f.client->removeListener(id));
  for (auto id : ids) CHECK_FALSE(f.client->removeListener(id));
  auto& l = f.activateAndConnect();
  l.deliver(message("none", "x") + receipt("none"));
  l.fail(make_error_code(errc::transport_error));
  l.deliver(stompFrame("ERROR", {}, "e"));
  CHECK(n == 0);
  CHECK(f.logged("unhandled:x"));  // the fixture's own listeners still run
}

TEST_CASE("Message::ackable: true only for client and client-individual subscriptions, kept by copies", "[client][ack]") {
  ClientFixture f;
  std::vector<std::pair<std::string, bool>> seen;
  std::vector<Message> kept;
  auto record = [&](const Message& m) {
    seen.emplace_back(std::string(m.subscription()), m.ackable());
    kept.push_back(m);  // an owned copy keeps the flag
  };
  f.client->subscribe("/a", record, {{"id", "auto"}});
  f.client->subscribe("/b", record, {{"id", "explicit-auto"}, {"ack", "auto"}});
  f.client->subscribe("/c", record, {{"id", "client"}, {"ack", "client"}});
  f.client->subscribe("/d", record, {{"id", "individual"}, {"ack", "client-individual"}});
  bool unhandledAckable = true;
  f.client->onUnhandledMessage([&](const Message& m) { unhandledAckable = m.ackable(); });
  auto& l = f.activateAndConnect();
  l.deliver(message("auto", "1") + message("explicit-auto", "2") + message("client", "3", "m-3", "a-3") +
            message("individual", "4", "m-4", "a-4") + message("nobody", "5"));
  CHECK(seen == std::vector<std::pair<std::string, bool>>{
                    {"auto", false}, {"explicit-auto", false}, {"client", true}, {"individual", true}});
  CHECK_FALSE(unhandledAckable);
  REQUIRE(kept.size() == 4);
  CHECK_FALSE(kept[0].ackable());
  CHECK(kept[2].ackable());
  CHECK(kept[3].ackable());
  // ackable says whether ack() applies, not whether it still succeeds.
  CHECK(kept[0].ack() == errc::invalid_state);
  CHECK_FALSE(kept[2].ack());
  CHECK(kept[2].ackable());
  CHECK_FALSE(Message().ackable());
}
