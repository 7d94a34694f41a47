// Internal: an executor that runs every function on a strand while holding the client's recursive
// mutex. The client's transports and scheduler run on it, so their completion handlers and the public
// methods of native::Client (which take the same mutex on the caller's thread) never overlap.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <mutex>

namespace stompwire::native::detail {

class LockingExecutor {
 public:
  using Strand = boost::asio::strand<boost::asio::any_io_executor>;

  LockingExecutor(Strand strand, std::shared_ptr<std::recursive_mutex> mutex) noexcept
      : strand_(std::move(strand)), mutex_(std::move(mutex)) {}

  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return boost::asio::query(strand_, boost::asio::execution::context);
  }
  static constexpr boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) noexcept {
    return boost::asio::execution::blocking.never;
  }
  LockingExecutor require(boost::asio::execution::blocking_t::never_t) const noexcept { return *this; }

  template <class F>
  void execute(F&& f) const {
    boost::asio::require(strand_, boost::asio::execution::blocking.never)
        .execute([mutex = mutex_, f = std::forward<F>(f)]() mutable {
          std::lock_guard lock(*mutex);
          auto local = std::move(f);  // destroyed under the lock too
          local();
        });
  }

  bool operator==(const LockingExecutor& other) const noexcept {
    return strand_ == other.strand_ && mutex_ == other.mutex_;
  }
  bool operator!=(const LockingExecutor& other) const noexcept { return !(*this == other); }

  const Strand& strand() const noexcept { return strand_; }

 private:
  Strand strand_;
  std::shared_ptr<std::recursive_mutex> mutex_;
};

}  // namespace stompwire::native::detail
