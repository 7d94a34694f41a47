// Random interleavings of user calls, server behaviour and time, seeded and reproducible: "any call, in
// any state, in any order, from any callback" checked against invariants, and under ASan for memory.
#include <catch2/catch_test_macros.hpp>

#include <random>
#include <set>

#include "client_fixture.hpp"

using namespace stompwire;
using namespace stompwire::test;

namespace {

struct World {
  ManualScheduler sched;
  FakeNetwork net;
  std::mt19937 rng;
  std::unique_ptr<Client> client;
  std::vector<PublishHandle> handles;
  std::vector<Subscription> subs;
  std::vector<Message> messages;
  std::vector<Transaction> txs;
  std::size_t callbacks = 0;
  std::size_t connects = 0;
  bool destroyFromCallback = false;
  bool quiet = false;

  explicit World(unsigned seed) : rng(seed) {
    ClientOptions o = testOptions();
    o.heartbeatIncoming = Millis(pick(3) * 500);
    o.heartbeatOutgoing = Millis(pick(3) * 500);
    o.receiptTimeout = Millis(pick(2) * 4000);
    o.offlineQueue.maxMessages = 5;
    o.reconnect.maxAttempts = static_cast<std::uint32_t>(pick(3));
    if (pick(4) == 0) o.beforeConnect = [this](BeforeConnectDone d) {
      ++callbacks;
      if (pick(3) == 0) d(make_error_code(errc::unauthorized));
      else d({});
    };
    client = Client::create(o, net.factory(), sched, [this] { return std::uniform_real_distribution<double>(0, 1)(rng); }).client;
    REQUIRE(client);
    client->onStateChange([this](const StateChange&) { maybeChaos(); });
    client->onConnect([this](const Frame&) {
      ++connects;
      maybeChaos();
    });
    client->onDisconnect([this](std::error_code) { maybeChaos(); });
    client->onStompError([this](const Frame&) { maybeChaos(); });
    client->onUnhandledMessage([this](const Message& m) {
      messages.push_back(m);
      maybeChaos();
    });
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  // From inside a callback: any call, including destroying the client.
  void maybeChaos() {
    ++callbacks;
    if (quiet || !client || pick(4) != 0) return;
    if (destroyFromCallback && pick(20) == 0) {
      client.reset();
      return;
    }
    userStep();
  }

  void userStep() {
    if (!client) return;
    switch (pick(10)) {
      case 0: client->activate(); break;
      case 1: client->deactivate({.force = pick(2) == 0}); break;
      case 2:
      case 3: handles.push_back(client->publish({.destination = "/q", .body = "b", .receipt = pick(2) == 0})); break;
      case 4:
        subs.push_back(client->subscribe("/t", [this](const Message& m) {
          messages.push_back(m);
          maybeChaos();
        }, {{"ack", pick(2) ? "client" : "auto"}}));
        break;
      case 5:
        if (!subs.empty()) subs[static_cast<std::size_t>(pick(static_cast<int>(subs.size())))].unsubscribe();
        break;
      case 6:
        if (!messages.empty()) {
          auto& m = messages[static_cast<std::size_t>(pick(static_cast<int>(messages.size())))];
          if (pick(2)) m.ack(); else m.nack();
        }
        break;
      case 7: txs.push_back(client->begin()); break;
      case 8:
        if (!txs.empty()) {
          auto& t = txs.back();
          if (pick(2)) t.commit(); else t.publish({.destination = "/q", .body = "t"});
        }
        break;
      default: (void)client->metrics(); break;
    }
  }

  std::set<const FakeLink*> accepted, established;

  void serverStep() {
    if (net.count() == 0) return;
    auto link = net.links.back();
    if (link->destroyed || link->closedByServer || !link->opened) return;
    // Mostly a cooperative server, so that the walk spends time connected.
    if (!accepted.count(link.get()) && pick(5) != 0) {
      accepted.insert(link.get());
      link->accept();
      return;
    }
    if (accepted.count(link.get()) && !established.count(link.get()) && pick(4) != 0) {
      established.insert(link.get());
      link->connected(pick(3) == 0 ? "1.1" : "1.2", pick(2) ? "0,0" : "500,500");
      return;
    }
    switch (pick(12)) {
      case 0: link->accept(); break;
      case 1: link->connected(pick(3) == 0 ? "1.1" : "1.2", pick(2) ? "0,0" : "500,500"); break;
      case 2:
      case 3:
      case 4: link->deliver(message(pick(2) ? "sub-0" : "sub-1", "m", "id", "ack")); break;
      case 5: {
        // Confirm a random receipt sent on this link.
        auto frames = link->framesNamed("SEND");
        if (!frames.empty()) {
          auto r = frames[static_cast<std::size_t>(pick(static_cast<int>(frames.size())))].header("receipt");
          if (r) link->deliver(receipt(*r));
        }
        break;
      }
      case 6: link->deliver(stompFrame("ERROR", {}, "e")); break;
      case 7: link->drop(); break;
      case 8: link->deliver("\n"); break;
      case 9: link->deliver("garbage\x01\n\n"); break;
      default: {
        auto d = link->framesNamed("DISCONNECT");
        if (!d.empty()) link->deliver(receipt(*d.back().header("receipt")));
        break;
      }
    }
  }

  void checkInvariants() {
    if (!client) return;
    auto m = client->metrics();
    CHECK(m.queueDepth <= 5);
    CHECK(m.state == client->state());
    if (m.state == ClientState::connected) {
      // Exactly one live transport.
      std::size_t live = 0;
      for (auto& l : net.links) live += !l->destroyed && !l->closeRequested && !l->closedByServer;
      CHECK(live == 1);
    }
    if (m.state == ClientState::inactive || m.state == ClientState::failed) {
      CHECK(m.pendingReceipts == 0);
      for (auto& l : net.links) CHECK((l->destroyed || l->closeRequested || l->closedByServer));
    }
  }
};

}  // namespace

TEST_CASE("random interleavings keep the invariants and never lose a handle", "[client][random]") {
  std::size_t connects = 0, destroyed = 0, messagesSeen = 0, handlesMade = 0, callbacks = 0;
  for (unsigned seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    World w(seed);
    w.destroyFromCallback = seed % 3 == 0;
    w.client->activate();
    for (int step = 0; step < 200 && w.client; ++step) {
      switch (w.pick(3)) {
        case 0: w.userStep(); break;
        case 1: w.serverStep(); break;
        default: w.sched.advance(Millis(w.pick(4) * 700)); break;
      }
      w.checkInvariants();
    }
    connects += w.connects;
    destroyed += !w.client;
    messagesSeen += w.messages.size();
    handlesMade += w.handles.size();
    callbacks += w.callbacks;
    if (w.client) {
      w.quiet = true;
      w.client->deactivate({.force = true});
      // After a forced deactivate nothing is left pending: every handle is done.
      for (auto& h : w.handles) CHECK(h.done());
      CHECK(w.client->state() == ClientState::inactive);
      w.client.reset();
    }
    w.sched.advance(Millis(100000));
    for (auto& l : w.net.links) CHECK(l->destroyed);  // every transport freed
  }
  // The walk must reach the interesting states, or it proves nothing.
  CHECK(connects > 500);
  CHECK(destroyed > 20);
  CHECK(messagesSeen > 200);
  CHECK(handlesMade > 1000);
  CHECK(callbacks > 1000);
  UNSCOPED_INFO("connects " << connects << " destroyed " << destroyed << " messages " << messagesSeen
                            << " handles " << handlesMade << " callbacks " << callbacks);
}
