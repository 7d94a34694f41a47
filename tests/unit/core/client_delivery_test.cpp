// The zero-copy delivery path: a subscription callback gets a Message that borrows the parsed frame.
// These tests pin what must hold anyway: a copy taken in the callback is owned and outlives the session's
// storage, a message can be read after the callback tore the connection or the client down, and a
// message queued behind other notifications (the owned-copy path) carries the same content; the
// session's event views stay valid while events are pending.
#include <catch2/catch_test_macros.hpp>

#include "client_fixture.hpp"
#include "stompwire/session.hpp"

using namespace stompwire;
using namespace stompwire::test;

TEST_CASE("a Message copied in the callback stays valid after later frames and a reconnect", "[client][delivery]") {
  ClientFixture f;
  std::vector<Message> kept;
  f.client->subscribe("/queue/c", [&](const Message& m) { kept.push_back(m); }, {{"id", "c"}, {"ack", "client"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("c", "first body", "m-1", "ack-1"));
  // Overwrites the session's event storage with frames of other sizes.
  l.deliver(message("c", std::string(3000, 'x'), "m-2", "ack-2") + message("c", "3", "m-3", "ack-3"));
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].body() == "first body");
  CHECK(kept[0].messageId() == "m-1");
  CHECK(kept[0].header("ack") == "ack-1");
  CHECK(kept[0].frame().command == "MESSAGE");
  CHECK(kept[0].headers().size() == 4);
  CHECK(kept[0].view().headers.size() == 4);
  CHECK(kept[1].body().size() == 3000);
  Message assigned;
  assigned = kept[2];
  REQUIRE_FALSE(kept[0].ack());
  l.drop();
  f.sched.advance(500ms);
  f.serverAccepts();
  CHECK(assigned.body() == "3");
  CHECK(assigned.subscription() == "c");
  CHECK(assigned.ack() == errc::connection_closed);
}

TEST_CASE("a borrowed Message is readable after its callback forced a disconnect or destroyed the client",
          "[client][delivery][lifetime]") {
  for (int destroy = 0; destroy < 2; ++destroy) {
    ClientFixture f;
    std::string seen;
    f.client->subscribe("/topic/t", [&](const Message& m) {
      if (destroy) {
        f.client.reset();
      } else {
        f.client->deactivate({.force = true});
      }
      // The session that parsed the frame is gone from the client now, its storage must not be.
      seen = std::string(m.body()) + "|" + std::string(m.destination()) + "|" + m.frame().body;
    }, {{"id", "s"}});
    auto& l = f.activateAndConnect();
    l.deliver(message("s", "payload") + message("s", "never delivered"));
    f.sched.runPosted();
    CHECK(seen == "payload|/topic/t|payload");
  }
}

TEST_CASE("messages queued behind other notifications arrive intact and in order", "[client][delivery]") {
  ClientFixture f;
  std::vector<std::string> got;
  f.client->subscribe("/topic/t", [&](const Message& m) {
    got.push_back(std::string(m.body()) + ":" + std::string(m.messageId()) + ":" + (m.isBinary() ? "b" : "t"));
  }, {{"id", "s"}});
  f.client->onConnect([&](const Frame&) { got.push_back("connect"); });
  f.client->activate();
  f.sched.runPosted();
  auto& l = f.net.last();
  l.accept();
  // CONNECTED and two MESSAGEs in one WebSocket message: the onConnect notification is still queued
  // when the messages are parsed, so they take the owned-copy path behind it.
  l.deliver(stompFrame("CONNECTED", {{"version", "1.2"}, {"heart-beat", "0,0"}}, "") + message("s", "a", "m-1") +
            message("s", "b", "m-2"));
  l.deliver(message("s", "c", "m-3"));
  f.sched.runPosted();
  CHECK(got == std::vector<std::string>{"connect", "a:m-1:t", "b:m-2:t", "c:m-3:t"});
}

TEST_CASE("Session::nextEvent: views of pending events survive the arena growing and the Session moving",
          "[session][delivery]") {
  Session s({});
  REQUIRE_FALSE(s.start(0ms));
  s.receive(stompFrame("CONNECTED", {{"version", "1.2"}, {"heart-beat", "0,0"}}), 0ms);
  SessionEventView ev;
  REQUIRE(s.nextEvent(ev));
  CHECK(ev.type == SessionEvent::Type::connected);
  // Many frames of growing size in one input: the arena grows while earlier events are pending.
  std::string input;
  for (int i = 0; i < 40; ++i)
    input += stompFrame("MESSAGE", {{"subscription", "s"}, {"message-id", std::to_string(i)}}, std::string(i * 97, 'a' + i % 26));
  s.receive(input, 1ms);
  Session moved(std::move(s));
  CHECK_FALSE(s.hasEvents());  // the events moved along; the moved-from session has none left
  for (int i = 0; i < 40; ++i) {
    REQUIRE(moved.nextEvent(ev));
    CHECK(ev.type == SessionEvent::Type::message);
    CHECK(ev.frame.command == "MESSAGE");
    CHECK(ev.frame.header("message-id") == std::to_string(i));
    CHECK(ev.frame.body == std::string(i * 97, 'a' + i % 26));
  }
  CHECK_FALSE(moved.nextEvent(ev));
  // The storage is reused after everything was taken; the old-style copy still works.
  moved.receive(stompFrame("MESSAGE", {{"subscription", "s"}, {"message-id", "x"}}, "last"), 2ms);
  auto copy = moved.popEvent();
  REQUIRE(copy);
  CHECK(copy->frame.body == "last");
  CHECK(copy->frame.header("message-id") == "x");
}
