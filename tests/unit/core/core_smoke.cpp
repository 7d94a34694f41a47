// A Catch2-free run of the client core through the fake transport and manual clock, so the same policy
// can be checked where Catch2 is not available: under Emscripten (-fno-exceptions, Node) and in the
// native build. Exit status 0 = every check held; each failed check prints its line.
#include <cstdio>
#include <memory>

#include "fake_transport.hpp"
#include "manual_scheduler.hpp"
#include "stompwire/client.hpp"

using namespace stompwire;
using namespace stompwire::test;
using namespace std::chrono_literals;

static int failures = 0;
#define EXPECT(cond)                                              \
  do {                                                            \
    if (!(cond)) {                                                \
      std::printf("core_smoke: FAILED line %d: %s\n", __LINE__, #cond); \
      ++failures;                                                 \
    }                                                             \
  } while (0)

int main() {
  ManualScheduler sched;
  FakeNetwork net;
  ClientOptions o;
  o.brokerURL = "ws://127.0.0.1:1/ws";
  o.heartbeatIncoming = 1000ms;
  o.heartbeatOutgoing = 1000ms;
  o.reconnect.initialDelay = 1000ms;
  auto created = Client::create(o, net.factory(), sched, [] { return 0.5; });
  EXPECT(!created.error);
  std::unique_ptr<Client> client = std::move(created.client);
  if (!client) return 1;

  int messages = 0;
  client->subscribe("/topic/t", [&](const Message& m) { messages += m.body() == "hi"; }, {{"id", "s"}});
  auto queued = client->publish({.destination = "/q", .body = "offline", .receipt = true});
  EXPECT(queued.status() == PublishStatus::queued);

  client->activate();
  net.last().accept();
  net.last().connected("1.2", "1000,1000");
  EXPECT(client->connected());
  EXPECT(net.last().framesNamed("SUBSCRIBE").size() == 1);
  EXPECT(net.last().framesNamed("SEND").size() == 1);
  net.last().deliver(stompFrame("MESSAGE", {{"subscription", "s"}, {"destination", "/topic/t"}}, "hi"));
  EXPECT(messages == 1);

  // Heart-beat loss: silence for 1000 x 2 ms.
  sched.advance(2000ms);
  EXPECT(client->state() == ClientState::reconnecting);
  sched.advance(500ms);  // backoff: 1000 x 0.5
  net.last().accept();
  net.last().connected();
  EXPECT(client->connected());
  // The unconfirmed publish was re-sent; completing it once.
  auto sends = net.last().framesNamed("SEND");
  EXPECT(sends.size() == 1);
  int completions = 0;
  queued.onComplete([&](std::error_code ec) { completions += !ec; });
  net.last().deliver(stompFrame("RECEIPT", {{"receipt-id", queued.receiptId()}}));
  EXPECT(completions == 1);

  // Destroying the client from its own callback.
  client->onStompError([&](const Frame&) { client.reset(); });
  net.last().deliver(stompFrame("ERROR", {}, "bye"));
  EXPECT(!client);
  sched.advance(60000ms);
  for (auto& l : net.links) EXPECT(l->destroyed);

  std::printf("core_smoke: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
