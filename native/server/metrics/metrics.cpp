#include "metrics/metrics.hpp"

#include <cstdio>

namespace stompwire::server {

const char* rejectName(Reject r) {
  switch (r) {
    case Reject::origin: return "origin";
    case Reject::unauthorized: return "unauthorized";
    case Reject::maxConnections: return "max_connections";
    case Reject::badRequest: return "bad_request";
    case Reject::handshakeTimeout: return "handshake_timeout";
    case Reject::headerTooLarge: return "header_too_large";
    case Reject::shuttingDown: return "shutting_down";
    case Reject::count: break;
  }
  return "unknown";
}

void Metrics::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sumNanos_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::string Metrics::render(const BrokerStats& b, std::size_t sessions, std::size_t subscriptions, std::size_t queued,
                            std::size_t pendingAcks) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  };
  auto sample = [&](const std::string& name, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.17g\n", v);
    out += name;
    out += buf;
  };
  metric("stompwire_connections", "gauge", "Open WebSocket connections.");
  sample("stompwire_connections", double(connectionsCurrent.load()));
  metric("stompwire_connections_total", "counter", "WebSocket connections accepted.");
  sample("stompwire_connections_total", double(connectionsTotal.load()));
  metric("stompwire_connections_rejected_total", "counter", "Handshakes refused, by reason.");
  for (int r = 0; r < static_cast<int>(Reject::count); ++r)
    sample(std::string("stompwire_connections_rejected_total{reason=\"") + rejectName(static_cast<Reject>(r)) + "\"}",
           double(rejected[r].load()));
  metric("stompwire_slow_consumer_disconnects_total", "counter", "Clients dropped for a full send buffer or a write past the send timeout.");
  sample("stompwire_slow_consumer_disconnects_total", double(slowConsumerDisconnects.load()));
  metric("stompwire_sessions", "gauge", "STOMP sessions known to the broker.");
  sample("stompwire_sessions", double(sessions));
  metric("stompwire_subscriptions", "gauge", "Active subscriptions.");
  sample("stompwire_subscriptions", double(subscriptions));
  metric("stompwire_queued_messages", "gauge", "Messages waiting in /queue/* destinations.");
  sample("stompwire_queued_messages", double(queued));
  metric("stompwire_pending_acks", "gauge", "Messages delivered and not yet acknowledged.");
  sample("stompwire_pending_acks", double(pendingAcks));
  metric("stompwire_frames_total", "counter", "STOMP frames by direction.");
  sample("stompwire_frames_total{direction=\"in\"}", double(b.framesIn));
  sample("stompwire_frames_total{direction=\"out\"}", double(b.framesOut));
  metric("stompwire_bytes_total", "counter", "STOMP bytes by direction.");
  sample("stompwire_bytes_total{direction=\"in\"}", double(b.bytesIn));
  sample("stompwire_bytes_total{direction=\"out\"}", double(b.bytesOut));
  metric("stompwire_messages_routed_total", "counter", "SEND frames routed, by destination kind.");
  sample("stompwire_messages_routed_total{kind=\"topic\"}", double(b.routedTopic));
  sample("stompwire_messages_routed_total{kind=\"queue\"}", double(b.routedQueue));
  sample("stompwire_messages_routed_total{kind=\"app\"}", double(b.routedApp));
  sample("stompwire_messages_routed_total{kind=\"user\"}", double(b.routedUser));
  metric("stompwire_deliveries_total", "counter", "MESSAGE frames sent to subscribers.");
  sample("stompwire_deliveries_total", double(b.deliveries));
  metric("stompwire_errors_sent_total", "counter", "ERROR frames sent.");
  sample("stompwire_errors_sent_total", double(b.errorsSent));
  metric("stompwire_rate_limited_total", "counter", "Sessions closed by a rate limit.");
  sample("stompwire_rate_limited_total", double(b.rateLimited));
  metric("stompwire_auth_failures_total", "counter", "STOMP logins refused.");
  sample("stompwire_auth_failures_total", double(b.authFailures));
  metric("stompwire_heartbeat_timeouts_total", "counter", "Sessions dropped for silence past the heart-beat interval.");
  sample("stompwire_heartbeat_timeouts_total", double(b.heartbeatTimeouts));
  metric("stompwire_processing_seconds", "histogram", "Broker time per WebSocket message.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += buckets_[i].load();
    char le[32];
    std::snprintf(le, sizeof le, "%g", kBuckets[i]);
    sample(std::string("stompwire_processing_seconds_bucket{le=\"") + le + "\"}", double(cumulative));
  }
  cumulative += buckets_[kBuckets.size()].load();
  sample("stompwire_processing_seconds_bucket{le=\"+Inf\"}", double(cumulative));
  sample("stompwire_processing_seconds_sum", double(sumNanos_.load()) / 1e9);
  sample("stompwire_processing_seconds_count", double(count_.load()));
  return out;
}

}  // namespace stompwire::server
