#include "stompwire/native/scheduler.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <unordered_map>

namespace stompwire::native {

// Shared with every pending handler, so a handler that runs after the scheduler is gone finds
// alive == false instead of a dangling pointer.
struct AsioScheduler::State {
  explicit State(boost::asio::any_io_executor ex) : executor(std::move(ex)) {}
  boost::asio::any_io_executor executor;
  std::unordered_map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers;
  TimerId nextId = 1;
  bool alive = true;
};

AsioScheduler::AsioScheduler(boost::asio::any_io_executor executor)
    : state_(std::make_shared<State>(std::move(executor))) {}

AsioScheduler::~AsioScheduler() {
  state_->alive = false;
  for (auto& [id, timer] : state_->timers) timer->cancel();
  state_->timers.clear();
}

Millis AsioScheduler::now() const {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

TimerId AsioScheduler::schedule(Millis delay, std::function<void()> fn) {
  const TimerId id = state_->nextId++;
  auto timer = std::make_unique<boost::asio::steady_timer>(state_->executor);
  timer->expires_after(delay < Millis::zero() ? Millis::zero() : delay);
  // The map entry, not the wait's error code, decides: a timer that already expired but whose handler
  // has not run yet is cancelled by erasing it.
  timer->async_wait([state = state_, id, fn = std::move(fn)](const boost::system::error_code&) {
    if (!state->alive) return;
    auto it = state->timers.find(id);
    if (it == state->timers.end()) return;
    auto keep = std::move(it->second);  // the timer must outlive its own handler's lookup
    state->timers.erase(it);
    fn();
  });
  state_->timers.emplace(id, std::move(timer));
  return id;
}

void AsioScheduler::cancel(TimerId id) {
  auto it = state_->timers.find(id);
  if (it == state_->timers.end()) return;
  it->second->cancel();
  state_->timers.erase(it);
}

void AsioScheduler::post(std::function<void()> fn) {
  boost::asio::post(state_->executor, [state = std::weak_ptr<State>(state_), fn = std::move(fn)] {
    auto s = state.lock();
    if (s && s->alive) fn();
  });
}

std::size_t AsioScheduler::pendingTimers() const noexcept { return state_->timers.size(); }

const boost::asio::any_io_executor& AsioScheduler::executor() const noexcept { return state_->executor; }

}  // namespace stompwire::native
