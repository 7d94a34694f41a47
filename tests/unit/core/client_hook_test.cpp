// Client::setEventHook: the one-function alternative to the on* listeners (what the wasm ABI uses).
#include <catch2/catch_test_macros.hpp>

#include <functional>
#include <string>
#include <vector>

#include "client_fixture.hpp"

using namespace stompwire;
using namespace stompwire::test;

namespace {

std::string describeEvent(ClientEvent event, const void* data) {
  auto frame = [&] { return static_cast<const FrameView*>(data); };
  auto ec = [&] { return *static_cast<const std::error_code*>(data); };
  switch (event) {
    case ClientEvent::connect:
      return "connect:" + std::string(frame()->command) + ":" + std::string(frame()->header("version").value_or(""));
    case ClientEvent::disconnect: return ec() ? "disconnect:" + codeName(ec()) : "disconnect";
    case ClientEvent::stompError:
      return "stomp-error:" + std::string(frame()->header("message").value_or("")) + ":" + std::string(frame()->body);
    case ClientEvent::stateChange: {
      const auto& c = *static_cast<const StateChange*>(data);
      std::string s = "state:" + std::string(toString(c.previous)) + ">" + std::string(toString(c.state));
      if (c.reason) s += "(" + codeName(c.reason) + ")";
      return s;
    }
    case ClientEvent::webSocketClose: {
      const auto& c = *static_cast<const CloseEvent*>(data);
      return "ws-close:" + std::to_string(c.code) + ":" + c.reason + (c.wasClean ? ":clean" : "");
    }
    case ClientEvent::webSocketError: return "ws-error:" + codeName(ec());
    case ClientEvent::unhandledMessage: {
      const auto& m = *static_cast<const Message*>(data);
      return "unhandled:" + std::string(m.subscription()) + ":" + std::string(m.body());
    }
    case ClientEvent::unhandledReceipt: return "receipt:" + std::string(frame()->header("receipt-id").value_or(""));
  }
  return "?";
}

// The hook's context: a log and an optional action run after logging (may destroy the client).
struct HookLog {
  std::vector<std::string> events;
  std::function<void(ClientEvent, const void*)> then;
  static void hook(void* context, ClientEvent event, const void* data) {
    auto& self = *static_cast<HookLog*>(context);
    self.events.push_back(describeEvent(event, data));
    if (self.then) self.then(event, data);
  }
};

std::unique_ptr<Client> makeClient(ManualScheduler& sched, FakeNetwork& net, ClientOptions o = testOptions()) {
  auto r = Client::create(std::move(o), net.factory(), sched, [] { return 0.5; });
  REQUIRE_FALSE(r.error);
  return std::move(r.client);
}

}  // namespace

TEST_CASE("event hook: every event kind, with its data, before the listeners", "[client][hook]") {
  ClientFixture f;
  HookLog h;
  f.client->setEventHook(HookLog::hook, &h);
  // The listeners of the fixture log into f.log; this one proves the order within one event.
  f.client->onUnhandledReceipt([&](const Frame& r) {
    CHECK(h.events.back() == "receipt:" + std::string(r.header("receipt-id").value_or("")));
    f.log.push_back("receipt-listener");
  });
  f.client->subscribe("/topic/t", [](const Message&) {}, {{"id", "s"}});
  auto& l = f.activateAndConnect();
  CHECK(h.events == std::vector<std::string>{"state:inactive>connecting", "state:connecting>connected",
                                             "connect:CONNECTED:1.2"});
  h.events.clear();
  l.deliver(message("nope", "lost") + message("s", "routed") + receipt("r-9"));
  CHECK(h.events == std::vector<std::string>{"unhandled:nope:lost", "receipt:r-9"});
  CHECK(f.logged("unhandled:lost"));
  CHECK(f.logged("receipt-listener"));
  h.events.clear();
  l.deliver(stompFrame("ERROR", {{"message", "bad"}}, "why"));
  CHECK(h.events == std::vector<std::string>{"stomp-error:bad:why", "disconnect:stomp_error",
                                             "state:connected>reconnecting(stomp_error)"});
  f.sched.advance(1000ms);
  auto& l2 = f.serverAccepts();
  h.events.clear();
  l2.fail(make_error_code(errc::transport_error));
  l2.drop(4001, "gone", true);
  CHECK(h.events == std::vector<std::string>{"ws-error:transport_error", "ws-close:4001:gone:clean",
                                             "disconnect:transport_error",
                                             "state:connected>reconnecting(transport_error)"});
  f.sched.advance(1000ms);
  auto& l3 = f.serverAccepts();
  h.events.clear();
  f.client->deactivate();
  auto frames = l3.frames();
  l3.deliver(receipt(*frames.back().header("receipt")));
  CHECK(h.events == std::vector<std::string>{"state:connected>deactivating", "disconnect",
                                             "state:deactivating>inactive"});
  // The listeners saw the same events.
  CHECK(f.countLogged("connect") == 3);
  CHECK(f.logged("stomp-error:why"));
  CHECK(f.logged("ws-error"));
  CHECK(f.logged("ws-close:4001"));
}

TEST_CASE("event hook: replaced, removed, and set from inside itself", "[client][hook]") {
  ManualScheduler sched;
  FakeNetwork net;
  auto client = makeClient(sched, net);
  HookLog a, b;
  client->setEventHook(HookLog::hook, &a);
  client->setEventHook(HookLog::hook, &b);  // replaces a
  client->activate();
  CHECK(a.events.empty());
  CHECK(b.events == std::vector<std::string>{"state:inactive>connecting"});
  // A hook that hands over to another one from inside: the next event goes to the new one.
  b.then = [&](ClientEvent, const void*) { client->setEventHook(HookLog::hook, &a); };
  sched.runPosted();
  net.last().accept();
  net.last().connected();
  CHECK(b.events.size() == 2);
  CHECK(a.events == std::vector<std::string>{"connect:CONNECTED:1.2"});
  client->setEventHook(nullptr);
  client->deactivate({.force = true});
  CHECK(client->state() == ClientState::inactive);
  CHECK(a.events.size() == 1);
}

TEST_CASE("event hook: deactivate and activate from inside it", "[client][hook]") {
  ManualScheduler sched;
  FakeNetwork net;
  auto client = makeClient(sched, net);
  client->subscribe("/a", [](const Message&) {});
  HookLog h;
  h.then = [&](ClientEvent e, const void*) {
    if (e == ClientEvent::connect) client->deactivate();
  };
  client->setEventHook(HookLog::hook, &h);
  client->activate();
  sched.runPosted();
  auto& l = net.last();
  l.accept();
  l.connected();
  CHECK(client->state() == ClientState::deactivating);
  auto frames = l.frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames[1].command == "SUBSCRIBE");
  CHECK(frames[2].command == "DISCONNECT");
  // activate from the inactive state change: connects again.
  h.then = [&](ClientEvent e, const void* d) {
    if (e == ClientEvent::stateChange && static_cast<const StateChange*>(d)->state == ClientState::inactive)
      client->activate();
  };
  l.deliver(receipt(*frames[2].header("receipt")));
  CHECK(client->state() == ClientState::connecting);
  CHECK(h.events == std::vector<std::string>{"state:inactive>connecting", "state:connecting>connected",
                                             "connect:CONNECTED:1.2", "state:connected>deactivating",
                                             "disconnect", "state:deactivating>inactive",
                                             "state:inactive>connecting"});
}

TEST_CASE("event hook: destroying the client inside each event kind is safe", "[client][hook][lifetime]") {
  for (int kill = 0; kill <= static_cast<int>(ClientEvent::unhandledReceipt); ++kill) {
    const auto where = static_cast<ClientEvent>(kill);
    INFO("event " << kill);
    ManualScheduler sched;
    FakeNetwork net;
    std::unique_ptr<Client> client = makeClient(sched, net);
    HookLog h;
    int listenerCalls = 0;
    h.then = [&](ClientEvent e, const void*) {
      if (e == where) client.reset();
    };
    client->setEventHook(HookLog::hook, &h);
    // A listener of every event (they run after the hook): none may run once the client is gone.
    client->onConnect([&](const Frame&) { ++listenerCalls; });
    client->onDisconnect([&](std::error_code) { ++listenerCalls; });
    client->onStompError([&](const Frame&) { ++listenerCalls; });
    client->onStateChange([&](const StateChange&) { ++listenerCalls; });
    client->onWebSocketClose([&](const CloseEvent&) { ++listenerCalls; });
    client->onWebSocketError([&](std::error_code) { ++listenerCalls; });
    client->onUnhandledMessage([&](const Message&) { ++listenerCalls; });
    client->onUnhandledReceipt([&](const Frame&) { ++listenerCalls; });
    client->activate();  // stateChange (connecting)
    sched.runPosted();
    std::shared_ptr<FakeLink> link = net.links.back();
    if (client) {
      link->accept();
      link->connected();  // stateChange (connected), connect
    }
    if (client) link->deliver(message("nope", "x") + receipt("r-1") + stompFrame("ERROR", {}, "e"));
    if (client) {
      sched.advance(1000ms);
      sched.runPosted();
      link = net.links.back();
      link->accept();
      link->connected();
      link->fail(make_error_code(errc::transport_error));
      link->drop();  // webSocketError, webSocketClose, disconnect, stateChange
    }
    CHECK_FALSE(client);
    const std::size_t seen = h.events.size();
    // Whatever the client left behind (posted transport destruction, timers) runs without it.
    sched.advance(60000ms);
    CHECK(h.events.size() == seen);
    CHECK(link->destroyed);
    // The listeners ran for the events before the fatal one, never after it.
    CHECK(listenerCalls == static_cast<int>(seen) - 1);
  }
}

namespace {
// The layout client.hpp promises (ClientEvent): names and values back to back, then the body.
bool backToBack(const FrameView& f) {
  const char* next = f.headers.empty() ? f.body.data() : f.headers[0].name.data();
  for (const auto& h : f.headers) {
    if (h.name.data() != next || h.value.data() != next + h.name.size()) return false;
    next = h.value.data() + h.value.size();
  }
  return f.body.empty() || f.body.data() == next;
}
}  // namespace

TEST_CASE("event hook and kept messages: a frame's headers and body lie back to back", "[client][hook]") {
  ClientFixture f;
  std::vector<std::string> checked;
  struct Ctx {
    std::vector<std::string>* checked;
  } ctx{&checked};
  f.client->setEventHook(
      [](void* c, ClientEvent e, const void* data) {
        auto& log = *static_cast<Ctx*>(c)->checked;
        if (e == ClientEvent::connect || e == ClientEvent::stompError || e == ClientEvent::unhandledReceipt) {
          const auto& v = *static_cast<const FrameView*>(data);
          log.push_back(std::string(v.command) + (backToBack(v) ? ":ok" : ":split"));
        } else if (e == ClientEvent::unhandledMessage) {
          log.push_back("unhandled:" + std::string(static_cast<const Message*>(data)->body()));
        }
      },
      &ctx);
  std::vector<Message> kept;
  f.client->subscribe("/t", [&](const Message& m) {
    checked.push_back(std::string(m.body()));
    kept.push_back(m);
    // A message that arrives while this one is being delivered waits for the rest of this input.
    if (m.body() == "first") f.net.last().deliver(message("s", "queued", "m-3"));
  }, {{"id", "s"}});
  auto& l = f.activateAndConnect();
  l.deliver(message("s", "first", "m-1") + message("nobody", "lost", "m-2") + receipt("r-1") +
            stompFrame("MESSAGE", {{"subscription", "s"}, {"content-length", "5"}}, std::string("a\0b\nc", 5)));
  l.deliver(stompFrame("ERROR", {{"message", "m"}, {"x", ""}}, "body"));
  CHECK(checked == std::vector<std::string>{"CONNECTED:ok", "first", "unhandled:lost", "RECEIPT:ok",
                                            std::string("a\0b\nc", 5), "queued", "ERROR:ok"});
  // The copies the callback kept are packed, each in its own block.
  REQUIRE(kept.size() == 3);
  for (const auto& m : kept) CHECK(backToBack(m.view()));
  CHECK(kept[1].body() == std::string("a\0b\nc", 5));
  CHECK(kept[1].header("content-length") == "5");
  // An empty frame too.
  CHECK(backToBack(FrameView{}));
}
