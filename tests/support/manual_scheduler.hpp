// A Scheduler driven by the test: time moves only when the test says so, so a 30 s timeout is tested in
// microseconds and never flakes.
#pragma once

#include <cstddef>
#include <functional>
#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "stompwire/transport.hpp"

namespace stompwire::test {

class ManualScheduler final : public Scheduler {
 public:
  Millis now() const override { return now_; }

  TimerId schedule(Millis delay, std::function<void()> fn) override {
    if (delay.count() < 0) delay = Millis(0);
    TimerId id = ++nextId_;
    timers_.emplace(Key{now_ + delay, id}, std::move(fn));
    return id;
  }

  void cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.id == id) {
        timers_.erase(it);
        return;
      }
    }
  }

  void post(std::function<void()> fn) override { posted_.push_back(std::move(fn)); }

  // Runs posted work until none is left (work may post more).
  std::size_t runPosted() {
    std::size_t n = 0;
    while (!posted_.empty()) {
      auto batch = std::move(posted_);
      posted_.clear();
      for (auto& fn : batch) {
        fn();
        ++n;
      }
    }
    return n;
  }

  // Moves the clock forward by `d`, firing due timers in time order (posted work runs before each
  // timer and at the end, as an event loop would).
  void advance(Millis d) { advanceTo(now_ + d); }

  void advanceTo(Millis t) {
    runPosted();
    while (!timers_.empty() && timers_.begin()->first.at <= t) {
      auto it = timers_.begin();
      now_ = std::max(now_, it->first.at);
      auto fn = std::move(it->second);
      timers_.erase(it);
      fn();
      runPosted();
    }
    if (t > now_) now_ = t;
    runPosted();
  }

  std::size_t pendingTimers() const { return timers_.size(); }
  std::size_t pendingPosts() const { return posted_.size(); }
  // When the earliest timer is due, if any.
  std::optional<Millis> nextTimer() const {
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first.at;
  }

 private:
  struct Key {
    Millis at;
    TimerId id;
    bool operator<(const Key& o) const { return at != o.at ? at < o.at : id < o.id; }
  };
  Millis now_{0};
  TimerId nextId_ = 0;
  std::map<Key, std::function<void()>> timers_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace stompwire::test
