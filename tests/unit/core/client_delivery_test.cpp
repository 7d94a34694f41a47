// The zero-copy delivery path: a subscription callback gets a Message that borrows the parsed frame.
// These tests pin what must hold anyway: a copy taken in the callback is owned and outlives the parser's
// buffer, a message can be read after the callback tore the connection or the client down (and the frames
// after it in the same input are not delivered), and a message queued behind other notifications (the
// owned-copy path) carries the same content.
#include <catch2/catch_test_macros.hpp>

#include "client_fixture.hpp"

using namespace stompwire;
using namespace stompwire::test;

TEST_CASE("a Message copied in the callback stays valid after later frames and a reconnect", "[client][delivery]") {
  ClientFixture f;
  std::vector<Message> kept;
  f.client->subscribe("/queue/c", [&](const Message& m) { kept.push_back(m); }, {{"id", "c"}, {"ack", "client"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("c", "first body", "m-1", "ack-1"));
  // Overwrites the parser's buffer with frames of other sizes.
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
      // The session that parsed the frame is gone from the client now, its buffer must not be.
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
