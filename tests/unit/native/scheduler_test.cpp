#include <catch2/catch_test_macros.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <stompwire/native/scheduler.hpp>

#include <chrono>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using stompwire::Millis;
using stompwire::native::AsioScheduler;
using stompwire::test::runUntil;

TEST_CASE("timers fire in deadline order, not in scheduling order") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  std::vector<int> order;
  s.schedule(30ms, [&] { order.push_back(3); });
  s.schedule(10ms, [&] { order.push_back(1); });
  s.schedule(20ms, [&] { order.push_back(2); });
  CHECK(s.pendingTimers() == 3);
  REQUIRE(runUntil(ioc, [&] { return order.size() == 3; }));
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(s.pendingTimers() == 0);
}

TEST_CASE("a timer waits at least its delay, measured by now()") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  const Millis start = s.now();
  Millis firedAt{0};
  s.schedule(25ms, [&] { firedAt = s.now(); });
  REQUIRE(runUntil(ioc, [&] { return firedAt.count() != 0; }));
  CHECK(firedAt - start >= 25ms);
  CHECK(s.now() >= firedAt);  // monotonic
}

TEST_CASE("schedule never runs the callback from inside schedule, even with zero delay") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  bool ran = false;
  s.schedule(0ms, [&] { ran = true; });
  s.schedule(-5ms, [&] {});
  CHECK_FALSE(ran);
  REQUIRE(runUntil(ioc, [&] { return ran; }));
}

TEST_CASE("cancel stops a timer; unknown and fired ids are ignored") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  bool a = false, b = false;
  auto ida = s.schedule(5ms, [&] { a = true; });
  auto idb = s.schedule(10ms, [&] { b = true; });
  CHECK(ida != idb);
  CHECK(ida != 0);
  s.cancel(ida);
  s.cancel(12345);
  REQUIRE(runUntil(ioc, [&] { return b; }));
  CHECK_FALSE(a);
  s.cancel(idb);  // already fired
  CHECK(s.pendingTimers() == 0);
}

TEST_CASE("cancel after expiry but before the handler ran still prevents the callback") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  bool late = false, first = false;
  stompwire::TimerId second = 0;
  // Both expire together; the first to run cancels the other, whose completion is already queued.
  s.schedule(1ms, [&] {
    first = true;
    s.cancel(second);
  });
  second = s.schedule(1ms, [&] { late = true; });
  // Make sure both deadlines have passed before either handler runs.
  const auto until = std::chrono::steady_clock::now() + 5ms;
  while (std::chrono::steady_clock::now() < until) {
  }
  REQUIRE(runUntil(ioc, [&] { return first; }));
  runUntil(ioc, [] { return false; }, 20ms);
  CHECK_FALSE(late);
}

TEST_CASE("a callback may schedule and cancel timers re-entrantly") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  int ticks = 0;
  std::function<void()> tick = [&] {
    if (++ticks < 5) s.schedule(1ms, tick);
  };
  s.schedule(1ms, tick);
  REQUIRE(runUntil(ioc, [&] { return ticks == 5; }));
}

TEST_CASE("post runs after the current call stack, in order") {
  boost::asio::io_context ioc;
  AsioScheduler s(ioc.get_executor());
  std::vector<int> order;
  s.post([&] { order.push_back(1); });
  s.post([&] { order.push_back(2); });
  CHECK(order.empty());
  REQUIRE(runUntil(ioc, [&] { return order.size() == 2; }));
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("nothing runs after the scheduler is destroyed") {
  boost::asio::io_context ioc;
  bool ran = false;
  {
    AsioScheduler s(ioc.get_executor());
    s.schedule(0ms, [&] { ran = true; });
    s.schedule(1ms, [&] { ran = true; });
    s.post([&] { ran = true; });
  }
  ioc.run_for(20ms);
  CHECK_FALSE(ran);
}

TEST_CASE("a callback may destroy the scheduler") {
  boost::asio::io_context ioc;
  auto s = std::make_unique<AsioScheduler>(ioc.get_executor());
  bool other = false, done = false;
  s->schedule(1ms, [&] {
    s.reset();
    done = true;
  });
  s->schedule(1ms, [&] { other = true; });
  REQUIRE(runUntil(ioc, [&] { return done; }));
  ioc.run_for(10ms);
  CHECK_FALSE(other);
}

TEST_CASE("callbacks run on the given strand") {
  boost::asio::io_context ioc;
  auto strand = boost::asio::make_strand(ioc);
  AsioScheduler s(strand);
  bool inStrand = false, posted = false;
  s.schedule(1ms, [&] { inStrand = strand.running_in_this_thread(); });
  s.post([&] { posted = strand.running_in_this_thread(); });
  REQUIRE(runUntil(ioc, [&] { return inStrand && posted; }));
}
