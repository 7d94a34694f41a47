// Server-wide counters for /metrics (Prometheus text format 0.0.4, written by hand: it is a few lines).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "broker/broker.hpp"

namespace stompwire::server {

enum class Reject : int { origin, unauthorized, maxConnections, badRequest, handshakeTimeout, headerTooLarge, shuttingDown, count };

class Metrics {
 public:
  std::atomic<std::int64_t> connectionsCurrent{0};
  std::atomic<std::uint64_t> connectionsTotal{0};
  std::array<std::atomic<std::uint64_t>, static_cast<int>(Reject::count)> rejected{};
  std::atomic<std::uint64_t> slowConsumerDisconnects{0};
  std::atomic<std::uint64_t> httpRequests{0};

  // Time spent in the broker per WebSocket message, in seconds.
  static constexpr std::array<double, 10> kBuckets{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0};
  void observe(double seconds);

  void reject(Reject r) { rejected[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }

  // Broker stats are read under the broker's lock by the caller and passed in.
  std::string render(const BrokerStats& broker, std::size_t sessions, std::size_t subscriptions,
                     std::size_t queued, std::size_t pendingAcks) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sumNanos_{0};
};

const char* rejectName(Reject r);

}  // namespace stompwire::server
