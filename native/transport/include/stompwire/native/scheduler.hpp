// stompwire::Scheduler over Asio steady timers.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>

#include <stompwire/transport.hpp>

namespace stompwire::native {

// Runs every callback on the given executor (use a strand when the io_context has several threads).
// Not thread-safe itself: call it from that executor, as the client core does. Destroying it cancels
// every timer and drops posted work: no callback runs after the destructor returns (on the executor).
class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::any_io_executor executor);
  ~AsioScheduler() override;
  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;

  Millis now() const override;
  TimerId schedule(Millis delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;
  void post(std::function<void()> fn) override;

  // Timers scheduled and neither fired nor cancelled (for tests and metrics).
  std::size_t pendingTimers() const noexcept;
  const boost::asio::any_io_executor& executor() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace stompwire::native
