// The client policy. How it stays safe under re-entrancy:
// - the implementation is a shared object; every entry point (public call, transport event, timer)
//   holds a strong reference while it runs, so destroying the Client from a callback only marks the
//   implementation `destroyed_` and the running code unwinds without touching freed memory;
// - user code runs only from deliver(), which drains a FIFO of notifications that were queued after the
//   state they describe was fully updated; a nested deliver() returns at once, so callbacks never nest
//   and always see events in the order they happened;
// - each connection attempt has an epoch; anything stamped with an older epoch (a transport event, a
//   timer, a Message's ack, a Transaction, a beforeConnect completion) is stale and ignored or refused;
// - transports are never destroyed inside their own callbacks: retired connections are destroyed
//   from Scheduler::post.
#include "stompwire/client.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

#include "stompwire/session.hpp"

namespace stompwire {

namespace detail {

struct PublishState {
  PublishStatus status = PublishStatus::queued;
  std::error_code error;
  std::string receiptId;
  bool clientGone = false;
  std::vector<std::function<void(std::error_code)>> callbacks;
};

struct MessageState {
  Frame frame;
  bool binary = false;
  std::weak_ptr<ClientImpl> client;
  std::uint64_t epoch = 0;
  std::string ackMode;
};

namespace {

constexpr int kCloseNormal = 1000;
// Browsers accept only 1000 and 3000-4999 from close(); 4000 marks "the client gave up on this connection".
constexpr int kCloseFailure = 4000;

std::string_view reasonText(std::error_code ec) {
  if (ec.category() == stompwire_category()) return errcName(static_cast<errc>(ec.value()));
  return "transport_error";
}

template <class Fn>
struct ListenerList {
  using Callback = Fn;
  struct Entry {
    ListenerId id;
    std::shared_ptr<Fn> fn;
  };
  std::vector<Entry> entries;

  // Copies the list so that callbacks may add or remove listeners (or destroy everything) meanwhile.
  template <class... Args>
  void emit(const bool& destroyed, const Args&... args) const {
    std::vector<Entry> snapshot = entries;
    for (const auto& e : snapshot) {
      if (destroyed) return;
      bool stillThere = std::any_of(entries.begin(), entries.end(), [&](const Entry& x) { return x.id == e.id; });
      if (stillThere && *e.fn) (*e.fn)(args...);
    }
  }
  bool remove(ListenerId id) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; });
    if (it == entries.end()) return false;
    entries.erase(it);
    return true;
  }
};

}  // namespace

class Connection;

class ClientImpl final : public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(ClientOptions options, TransportFactory factory, Scheduler& scheduler, RandomSource random)
      : options_(std::move(options)), factory_(std::move(factory)), sched_(scheduler), random_(std::move(random)) {
    connectHeaders_ = options_.connectHeaders;
  }
  ~ClientImpl() = default;

  // Public API.
  void activate();
  void deactivate(DeactivateOptions opts, std::function<void()> done);
  void shutdown();
  ClientState state() const noexcept { return state_; }
  const ClientOptions& options() const noexcept { return options_; }
  void setConnectHeaders(Headers h) { connectHeaders_ = std::move(h); }
  Metrics metrics() const;
  Subscription subscribe(std::string destination, MessageCallback cb, Headers headers);
  std::error_code unsubscribe(const std::string& id, const Headers& headers);
  bool hasSubscription(const std::string& id) const {
    return std::any_of(subs_.begin(), subs_.end(), [&](const Sub& s) { return s.id == id; });
  }
  PublishHandle publish(PublishParams params, const std::string& transaction = {});
  Transaction begin(std::string id);
  std::error_code txCommand(Transaction& tx, const char* command);
  std::error_code ackMessage(const MessageState& m, bool ack, const std::string& transaction, const Headers& headers);
  std::error_code checkTransaction(const Transaction& tx) const;

  ListenerId nextListenerId() { return ++listenerSeq_; }
  ListenerList<std::function<void(const Frame&)>> onConnect_;
  ListenerList<std::function<void(std::error_code)>> onDisconnect_;
  ListenerList<std::function<void(const Frame&)>> onStompError_;
  ListenerList<std::function<void(const StateChange&)>> onStateChange_;
  ListenerList<std::function<void(const CloseEvent&)>> onWebSocketClose_;
  ListenerList<std::function<void(std::error_code)>> onWebSocketError_;
  ListenerList<MessageCallback> onUnhandledMessage_;
  ListenerList<std::function<void(const Frame&)>> onUnhandledReceipt_;
  bool removeListener(ListenerId id) {
    return onConnect_.remove(id) || onDisconnect_.remove(id) || onStompError_.remove(id) ||
           onStateChange_.remove(id) || onWebSocketClose_.remove(id) || onWebSocketError_.remove(id) ||
           onUnhandledMessage_.remove(id) || onUnhandledReceipt_.remove(id);
  }

  // Transport events, from Connection.
  void onTransportOpen(Connection* c, std::string_view subprotocol);
  void onTransportMessage(Connection* c, std::string_view data, bool binary);
  void onTransportClose(Connection* c, int code, std::string_view reason, bool wasClean);
  void onTransportError(Connection* c, std::error_code ec);

  void deliver();

 private:
  struct Sub {
    std::string id;
    std::string destination;
    std::string ackMode;
    Headers headers;
    std::shared_ptr<MessageCallback> callback;
  };
  struct Outgoing {
    PublishParams params;
    std::shared_ptr<PublishState> state;
    std::size_t bytes = 0;
    TimerId timer = 0;
    Millis sentAt{0};
    std::string transaction;  // a transactional SEND is never re-sent: the broker aborted its transaction
  };

  void enqueue(std::function<void()> fn) { notes_.push_back(std::move(fn)); }
  void setState(ClientState s, std::error_code reason = {});
  void startAttempt();
  void openTransport();
  void onBeforeConnectDone(std::uint64_t epoch, std::error_code ec);
  void pump();
  void handleSessionEvent(SessionEvent& ev);
  void onConnected(const Frame& frame);
  void handleFailure(std::error_code ec);
  void finishDeactivate(std::error_code reason);
  void retireConnection(int code, std::string_view reason);
  void flushOutput();
  void armTick();
  void cancelTimer(TimerId& id) {
    if (id) sched_.cancel(id);
    id = 0;
  }
  std::error_code sendPublish(Outgoing& o);
  void complete(const std::shared_ptr<PublishState>& st, std::error_code ec);
  void failAllPublishes(std::error_code ec);
  void onReceiptTimeout(const std::shared_ptr<PublishState>& st);
  Millis now() const { return sched_.now(); }
  template <class Fn>
  TimerId scheduleGuarded(Millis delay, Fn fn) {
    std::weak_ptr<ClientImpl> weak = weak_from_this();
    return sched_.schedule(delay, [weak, fn = std::move(fn)]() mutable {
      auto self = weak.lock();
      if (!self || self->destroyed_) return;
      fn(*self);
      self->deliver();
    });
  }

  ClientOptions options_;
  TransportFactory factory_;
  Scheduler& sched_;
  RandomSource random_;
  Headers connectHeaders_;

  ClientState state_ = ClientState::inactive;
  bool destroyed_ = false;
  bool delivering_ = false;
  std::deque<std::function<void()>> notes_;

  std::shared_ptr<Connection> conn_;
  std::unique_ptr<Session> session_;
  std::uint64_t epoch_ = 0;
  bool currentBinary_ = false;
  std::error_code transportError_;

  TimerId connectTimer_ = 0, reconnectTimer_ = 0, tickTimer_ = 0, disconnectTimer_ = 0;
  Millis tickAt_{0};

  std::vector<Sub> subs_;
  std::deque<Outgoing> queue_;
  std::size_t queueBytes_ = 0;
  std::vector<Outgoing> pending_;  // sent with a receipt, not confirmed yet, in send order
  std::vector<std::function<void()>> deactivateDone_;

  std::uint32_t failures_ = 0;
  Millis connectedAt_{0};
  std::optional<Millis> nextAttemptAt_;
  std::error_code lastError_;
  SessionCounters totals_{};
  std::uint64_t attempts_ = 0, reconnects_ = 0, connects_ = 0;
  std::optional<Millis> lastReceiptRtt_;
  std::optional<Millis> lastReceivedAt_;

  std::uint64_t listenerSeq_ = 0, subSeq_ = 0, receiptSeq_ = 0, txSeq_ = 0, disconnectSeq_ = 0;
};

class Connection final : public TransportListener {
 public:
  explicit Connection(std::weak_ptr<ClientImpl> c) : client_(std::move(c)) {}
  std::unique_ptr<Transport> transport;
  bool closed = false;

  void onOpen(std::string_view subprotocol) override {
    if (auto c = client_.lock()) c->onTransportOpen(this, subprotocol);
  }
  void onMessage(std::string_view data, bool binary) override {
    if (auto c = client_.lock()) c->onTransportMessage(this, data, binary);
  }
  void onClose(int code, std::string_view reason, bool wasClean) override {
    if (auto c = client_.lock()) c->onTransportClose(this, code, reason, wasClean);
  }
  void onError(std::error_code ec) override {
    if (auto c = client_.lock()) c->onTransportError(this, ec);
  }

 private:
  std::weak_ptr<ClientImpl> client_;
};

// ------------------------------------------------------------------------------------------------
// State, notifications

void ClientImpl::deliver() {
  if (delivering_) return;  // the outer loop delivers what a callback queued
  auto self = shared_from_this();
  delivering_ = true;
  while (!destroyed_ && !notes_.empty()) {
    auto fn = std::move(notes_.front());
    notes_.pop_front();
    fn();
  }
  delivering_ = false;
}

void ClientImpl::setState(ClientState s, std::error_code reason) {
  if (s == state_) return;
  StateChange change{s, state_, reason, s == ClientState::reconnecting ? nextAttemptAt_ : std::nullopt};
  state_ = s;
  if (s != ClientState::reconnecting) nextAttemptAt_.reset();
  enqueue([this, change] { onStateChange_.emit(destroyed_, change); });
}

Metrics ClientImpl::metrics() const {
  Metrics m;
  m.state = state_;
  m.attempts = attempts_;
  m.reconnects = reconnects_;
  m.connects = connects_;
  m.consecutiveFailures = failures_;
  // The count resets when a stable connection ends; report it as reset as soon as it is stable.
  if (state_ == ClientState::connected && now() - connectedAt_ >= options_.reconnect.resetAfter)
    m.consecutiveFailures = 0;
  SessionCounters c = totals_;
  if (session_) {
    const auto& s = session_->counters();
    c.framesIn += s.framesIn;
    c.framesOut += s.framesOut;
    c.bytesIn += s.bytesIn;
    c.bytesOut += s.bytesOut;
    c.heartbeatsIn += s.heartbeatsIn;
    c.heartbeatsOut += s.heartbeatsOut;
  }
  m.framesIn = c.framesIn;
  m.framesOut = c.framesOut;
  m.bytesIn = c.bytesIn;
  m.bytesOut = c.bytesOut;
  m.heartbeatsIn = c.heartbeatsIn;
  m.heartbeatsOut = c.heartbeatsOut;
  m.queueDepth = queue_.size();
  m.queueBytes = queueBytes_;
  m.pendingReceipts = pending_.size();
  m.subscriptions = subs_.size();
  m.lastReceivedAt = lastReceivedAt_;
  m.lastReceiptRtt = lastReceiptRtt_;
  m.nextAttemptAt = nextAttemptAt_;
  m.lastError = lastError_;
  return m;
}

// ------------------------------------------------------------------------------------------------
// Lifecycle

void ClientImpl::activate() {
  if (destroyed_) return;
  auto self = shared_from_this();
  if (state_ == ClientState::inactive || state_ == ClientState::failed) {
    failures_ = 0;
    startAttempt();
  }
  deliver();
}

void ClientImpl::startAttempt() {
  ++epoch_;
  ++attempts_;
  transportError_ = {};
  cancelTimer(reconnectTimer_);
  setState(ClientState::connecting);
  const std::uint64_t epoch = epoch_;
  if (options_.connectionTimeout.count() > 0) {
    connectTimer_ = scheduleGuarded(options_.connectionTimeout, [epoch](ClientImpl& c) {
      c.connectTimer_ = 0;
      if (c.epoch_ == epoch && c.state_ == ClientState::connecting) c.handleFailure(errc::connect_timeout);
    });
  }
  if (options_.beforeConnect) {
    std::weak_ptr<ClientImpl> weak = weak_from_this();
    auto called = std::make_shared<bool>(false);
    BeforeConnectDone done = [weak, epoch, called](std::error_code ec) {
      if (*called) return;  // once only
      *called = true;
      if (auto c = weak.lock()) c->onBeforeConnectDone(epoch, ec);
    };
    enqueue([this, epoch, done = std::move(done)] {
      // An earlier callback may have cancelled this attempt: then the hook is not called at all.
      if (epoch == epoch_ && state_ == ClientState::connecting) options_.beforeConnect(done);
    });
  } else {
    openTransport();
  }
}

void ClientImpl::onBeforeConnectDone(std::uint64_t epoch, std::error_code ec) {
  if (destroyed_ || epoch != epoch_ || state_ != ClientState::connecting || conn_) return;
  auto self = shared_from_this();
  if (ec) {
    handleFailure(errc::before_connect_failed);
  } else {
    openTransport();
  }
  deliver();
}

void ClientImpl::openTransport() {
  conn_ = std::make_shared<Connection>(weak_from_this());
  if (factory_) conn_->transport = factory_(*conn_);
  if (!conn_->transport) {
    handleFailure(errc::transport_error);
    return;
  }
  std::vector<std::string> protocols;
  for (Version v : {Version::v1_2, Version::v1_1, Version::v1_0})
    if (std::find(options_.versions.begin(), options_.versions.end(), v) != options_.versions.end())
      protocols.emplace_back(subprotocolFor(v));
  conn_->transport->open(options_.brokerURL, protocols);
}

void ClientImpl::retireConnection(int code, std::string_view reason) {
  ++epoch_;
  cancelTimer(connectTimer_);
  cancelTimer(tickTimer_);
  cancelTimer(disconnectTimer_);
  if (session_) {
    const auto& s = session_->counters();
    totals_.framesIn += s.framesIn;
    totals_.framesOut += s.framesOut;
    totals_.bytesIn += s.bytesIn;
    totals_.bytesOut += s.bytesOut;
    totals_.heartbeatsIn += s.heartbeatsIn;
    totals_.heartbeatsOut += s.heartbeatsOut;
    session_.reset();
  }
  if (conn_) {
    std::shared_ptr<Connection> old = std::move(conn_);
    if (old->transport && !old->closed) old->transport->close(code, reason);
    // Never destroy a transport inside its own callback: we may be in one right now.
    sched_.post([old]() mutable { old.reset(); });
  }
}

void ClientImpl::handleFailure(std::error_code ec) {
  const bool wasConnected = state_ == ClientState::connected;
  if (state_ == ClientState::deactivating) return finishDeactivate(ec);
  if (state_ == ClientState::inactive || state_ == ClientState::failed) return;
  retireConnection(kCloseFailure, reasonText(ec));
  lastError_ = ec;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->transaction.empty()) {
      ++it;
      continue;
    }
    cancelTimer(it->timer);
    complete(it->state, errc::connection_closed);
    it = pending_.erase(it);
  }
  if (wasConnected && now() - connectedAt_ >= options_.reconnect.resetAfter) failures_ = 0;
  ++failures_;
  if (wasConnected) enqueue([this, ec] { onDisconnect_.emit(destroyed_, ec); });
  const auto& rc = options_.reconnect;
  if (!rc.enabled) {
    failAllPublishes(ec);
    setState(ClientState::failed, ec);
    return;
  }
  if (rc.maxAttempts > 0 && failures_ >= rc.maxAttempts) {
    failAllPublishes(errc::max_attempts_reached);
    setState(ClientState::failed, errc::max_attempts_reached);
    return;
  }
  const double r = random_ ? random_() : 1.0;
  const Millis delay = backoffDelay(rc, failures_, r);
  nextAttemptAt_ = now() + delay;
  reconnectTimer_ = scheduleGuarded(delay, [](ClientImpl& c) {
    c.reconnectTimer_ = 0;
    if (c.state_ != ClientState::reconnecting) return;
    ++c.reconnects_;
    c.startAttempt();
  });
  setState(ClientState::reconnecting, ec);
}

void ClientImpl::deactivate(DeactivateOptions opts, std::function<void()> done) {
  if (destroyed_) return;
  auto self = shared_from_this();
  if (done) deactivateDone_.push_back(std::move(done));
  switch (state_) {
    case ClientState::inactive:
    case ClientState::failed:
    case ClientState::connecting:
    case ClientState::reconnecting:
      finishDeactivate({});
      break;
    case ClientState::connected:
      if (opts.force) {
        finishDeactivate({});
        break;
      }
      {
        std::string receipt = "disconnect-" + std::to_string(++disconnectSeq_);
        session_->updateTime(now());
        if (session_->disconnect(receipt)) {
          finishDeactivate({});
          break;
        }
        flushOutput();
        setState(ClientState::deactivating);
        if (options_.disconnectTimeout.count() > 0) {
          const std::uint64_t epoch = epoch_;
          disconnectTimer_ = scheduleGuarded(options_.disconnectTimeout, [epoch](ClientImpl& c) {
            c.disconnectTimer_ = 0;
            if (c.epoch_ == epoch && c.state_ == ClientState::deactivating) c.finishDeactivate({});
          });
        }
      }
      break;
    case ClientState::deactivating:
      if (opts.force) finishDeactivate({});
      break;
  }
  deliver();
}

void ClientImpl::finishDeactivate(std::error_code reason) {
  const bool hadSession = state_ == ClientState::connected || state_ == ClientState::deactivating;
  cancelTimer(reconnectTimer_);
  retireConnection(kCloseNormal, "");
  failAllPublishes(errc::deactivated);
  failures_ = 0;
  if (hadSession) enqueue([this, reason] { onDisconnect_.emit(destroyed_, reason); });
  setState(ClientState::inactive, reason);
  auto done = std::move(deactivateDone_);
  deactivateDone_.clear();
  for (auto& d : done) enqueue(std::move(d));
}

void ClientImpl::shutdown() {
  if (destroyed_) return;
  destroyed_ = true;
  cancelTimer(reconnectTimer_);
  retireConnection(kCloseNormal, "");
  for (auto& o : queue_) cancelTimer(o.timer);
  for (auto& o : pending_) cancelTimer(o.timer);
  auto markGone = [](const std::shared_ptr<PublishState>& st) {
    st->clientGone = true;
    st->callbacks.clear();
    if (st->status == PublishStatus::queued || st->status == PublishStatus::sent) {
      st->status = PublishStatus::failed;
      st->error = errc::deactivated;
    }
  };
  for (auto& o : queue_) markGone(o.state);
  for (auto& o : pending_) markGone(o.state);
  queue_.clear();
  pending_.clear();
  queueBytes_ = 0;
  subs_.clear();
  notes_.clear();
  deactivateDone_.clear();
  onConnect_.entries.clear();
  onDisconnect_.entries.clear();
  onStompError_.entries.clear();
  onStateChange_.entries.clear();
  onWebSocketClose_.entries.clear();
  onWebSocketError_.entries.clear();
  onUnhandledMessage_.entries.clear();
  onUnhandledReceipt_.entries.clear();
}

// ------------------------------------------------------------------------------------------------
// Transport events and the session pump

void ClientImpl::onTransportOpen(Connection* c, std::string_view) {
  if (destroyed_ || c != conn_.get() || session_ || state_ != ClientState::connecting) return;
  auto self = shared_from_this();
  SessionOptions so;
  so.versions = options_.versions;
  so.connectHeaders = connectHeaders_;
  so.useStompCommand = options_.useStompCommand;
  so.heartbeatOutgoing = options_.heartbeatOutgoing;
  so.heartbeatIncoming = options_.heartbeatIncoming;
  so.heartbeatToleranceMultiplier = options_.heartbeatToleranceMultiplier;
  so.limits.maxFrameSize = options_.maxIncomingFrameSize;
  so.limits.maxBodySize = options_.maxIncomingFrameSize;
  so.splitLargeFrames = options_.splitLargeFrames;
  so.maxWebSocketChunkSize = options_.maxWebSocketChunkSize;
  session_ = std::make_unique<Session>(std::move(so));
  if (auto ec = session_->start(now())) {
    handleFailure(ec);
  } else {
    flushOutput();
  }
  deliver();
}

void ClientImpl::onTransportMessage(Connection* c, std::string_view data, bool binary) {
  if (destroyed_ || c != conn_.get() || !session_) return;
  auto self = shared_from_this();
  currentBinary_ = binary;
  lastReceivedAt_ = now();
  session_->receive(data, now());
  pump();
}

void ClientImpl::onTransportError(Connection* c, std::error_code ec) {
  if (destroyed_ || c != conn_.get()) return;
  auto self = shared_from_this();
  transportError_ = ec;
  lastError_ = ec;
  enqueue([this, ec] { onWebSocketError_.emit(destroyed_, ec); });
  deliver();
}

void ClientImpl::onTransportClose(Connection* c, int code, std::string_view reason, bool wasClean) {
  if (destroyed_ || c != conn_.get()) return;
  auto self = shared_from_this();
  CloseEvent ev{code, std::string(reason), wasClean};
  enqueue([this, ev] { onWebSocketClose_.emit(destroyed_, ev); });
  c->closed = true;  // retire it without closing it again
  handleFailure(transportError_ ? transportError_ : std::error_code(errc::connection_closed));
  deliver();
}

void ClientImpl::pump() {
  const std::uint64_t epoch = epoch_;
  flushOutput();
  while (!destroyed_ && epoch == epoch_ && session_) {
    auto ev = session_->popEvent();
    if (!ev) break;
    handleSessionEvent(*ev);
    if (!destroyed_ && epoch == epoch_ && session_) flushOutput();
    deliver();
  }
  if (!destroyed_ && epoch == epoch_ && session_) armTick();
  deliver();
}

void ClientImpl::flushOutput() {
  if (!session_ || !conn_ || !conn_->transport) return;
  for (auto& m : session_->takeOutput()) conn_->transport->send(m.data, m.binary);
}

void ClientImpl::armTick() {
  auto deadline = session_->nextDeadline();
  if (!deadline) {
    cancelTimer(tickTimer_);
    return;
  }
  if (tickTimer_ && tickAt_ <= *deadline) return;  // fires early at worst, then re-arms
  cancelTimer(tickTimer_);
  tickAt_ = *deadline;
  Millis delay = std::max(Millis(0), *deadline - now());
  const std::uint64_t epoch = epoch_;
  tickTimer_ = scheduleGuarded(delay, [epoch](ClientImpl& c) {
    c.tickTimer_ = 0;
    if (c.epoch_ != epoch || !c.session_) return;
    c.session_->tick(c.now());
    c.pump();
  });
}

void ClientImpl::handleSessionEvent(SessionEvent& ev) {
  switch (ev.type) {
    case SessionEvent::Type::connected:
      onConnected(ev.frame);
      break;
    case SessionEvent::Type::message: {
      auto m = std::make_shared<MessageState>();
      m->frame = std::move(ev.frame);
      m->binary = currentBinary_;
      m->client = weak_from_this();
      m->epoch = epoch_;
      auto sub = m->frame.header("subscription");
      std::string subId = sub ? std::string(*sub) : std::string();
      auto it = std::find_if(subs_.begin(), subs_.end(), [&](const Sub& s) { return s.id == subId; });
      if (it != subs_.end()) m->ackMode = it->ackMode;
      enqueue([this, m, subId] {
        // Routed at delivery time: an earlier callback may have unsubscribed it.
        auto it2 = std::find_if(subs_.begin(), subs_.end(), [&](const Sub& s) { return s.id == subId; });
        Message msg{m};
        if (it2 != subs_.end()) {
          auto cb = it2->callback;  // keep the callback alive even if it unsubscribes itself
          if (*cb) (*cb)(msg);
        } else {
          onUnhandledMessage_.emit(destroyed_, msg);
        }
      });
      break;
    }
    case SessionEvent::Type::receipt: {
      auto id = ev.frame.header("receipt-id").value_or("");
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Outgoing& o) { return o.state->receiptId == id; });
      if (it != pending_.end()) {
        lastReceiptRtt_ = now() - it->sentAt;
        cancelTimer(it->timer);
        auto st = it->state;
        pending_.erase(it);
        complete(st, {});
      } else {
        Frame f = std::move(ev.frame);
        enqueue([this, f] { onUnhandledReceipt_.emit(destroyed_, f); });
      }
      break;
    }
    case SessionEvent::Type::error: {
      Frame f = std::move(ev.frame);
      enqueue([this, f] { onStompError_.emit(destroyed_, f); });
      handleFailure(errc::stomp_error);
      break;
    }
    case SessionEvent::Type::disconnected:
      finishDeactivate({});
      break;
    case SessionEvent::Type::failed:
      handleFailure(ev.error);
      break;
  }
}

void ClientImpl::onConnected(const Frame& frame) {
  cancelTimer(connectTimer_);
  connectedAt_ = now();
  ++connects_;
  lastError_ = {};
  session_->updateTime(now());
  // Order on the wire: subscriptions, then unconfirmed publishes (they were sent first), then the
  // offline queue, so a reconnect preserves publish order.
  for (const auto& s : subs_) session_->subscribe(s.id, s.destination, s.ackMode, s.headers);
  std::vector<std::pair<std::shared_ptr<PublishState>, std::error_code>> failed;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (auto ec = sendPublish(*it)) {
      cancelTimer(it->timer);
      failed.emplace_back(it->state, ec);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  while (!queue_.empty()) {
    Outgoing o = std::move(queue_.front());
    queue_.pop_front();
    queueBytes_ -= o.bytes;
    if (auto ec = sendPublish(o)) {
      cancelTimer(o.timer);
      failed.emplace_back(o.state, ec);
    } else if (o.params.receipt) {
      pending_.push_back(std::move(o));
    } else {
      failed.emplace_back(o.state, std::error_code());
    }
  }
  setState(ClientState::connected);
  for (auto& [st, ec] : failed) complete(st, ec);
  enqueue([this, frame] { onConnect_.emit(destroyed_, frame); });
}

// ------------------------------------------------------------------------------------------------
// Publish, receipts

std::error_code ClientImpl::sendPublish(Outgoing& o) {
  Headers headers = o.params.headers;
  if (!o.transaction.empty()) headers.push_back({"transaction", o.transaction});
  if (o.params.receipt) headers.push_back({"receipt", o.state->receiptId});
  session_->updateTime(now());
  auto ec = session_->send(o.params.destination, o.params.body, headers,
                           {.binary = o.params.binary, .contentLength = !o.params.skipContentLengthHeader});
  if (ec) return ec;
  o.sentAt = now();
  o.state->status = o.params.receipt ? PublishStatus::sent : o.state->status;
  return {};
}

void ClientImpl::complete(const std::shared_ptr<PublishState>& st, std::error_code ec) {
  if (st->status == PublishStatus::completed || st->status == PublishStatus::failed) return;
  st->status = ec ? PublishStatus::failed : PublishStatus::completed;
  st->error = ec;
  auto callbacks = std::move(st->callbacks);
  st->callbacks.clear();
  if (callbacks.empty()) return;
  enqueue([callbacks = std::move(callbacks), ec] {
    for (const auto& cb : callbacks) cb(ec);
  });
}

void ClientImpl::failAllPublishes(std::error_code ec) {
  std::deque<Outgoing> q = std::move(queue_);
  std::vector<Outgoing> p = std::move(pending_);
  queue_.clear();
  pending_.clear();
  queueBytes_ = 0;
  // Unconfirmed ones first: they were published earlier.
  for (auto& o : p) {
    cancelTimer(o.timer);
    complete(o.state, ec);
  }
  for (auto& o : q) {
    cancelTimer(o.timer);
    complete(o.state, ec);
  }
}

void ClientImpl::onReceiptTimeout(const std::shared_ptr<PublishState>& st) {
  auto q = std::find_if(queue_.begin(), queue_.end(), [&](const Outgoing& o) { return o.state == st; });
  if (q != queue_.end()) {
    queueBytes_ -= q->bytes;
    queue_.erase(q);
  }
  auto p = std::find_if(pending_.begin(), pending_.end(), [&](const Outgoing& o) { return o.state == st; });
  if (p != pending_.end()) pending_.erase(p);
  complete(st, errc::receipt_timeout);
}

PublishHandle ClientImpl::publish(PublishParams params, const std::string& transaction) {
  auto st = std::make_shared<PublishState>();
  PublishHandle handle(st);
  if (destroyed_) {
    st->status = PublishStatus::failed;
    st->error = errc::invalid_state;
    st->clientGone = true;
    return handle;
  }
  auto self = shared_from_this();
  auto failNow = [&](std::error_code ec) {
    st->status = PublishStatus::failed;
    st->error = ec;
    return handle;
  };
  if (params.destination.empty()) return failNow(errc::invalid_argument);
  if (params.receipt) st->receiptId = "rcpt-" + std::to_string(++receiptSeq_);

  Outgoing o;
  o.bytes = params.body.size() + params.destination.size();
  for (const auto& h : params.headers) o.bytes += h.name.size() + h.value.size();
  o.params = std::move(params);
  o.state = st;
  o.transaction = transaction;

  if (!transaction.empty()) {
    // Transactional sends are never queued: the transaction lives and dies with the connection.
    if (state_ != ClientState::connected) return failNow(errc::connection_closed);
    if (auto ec = sendPublish(o)) return failNow(ec);
    flushOutput();
    if (!o.params.receipt) {
      st->status = PublishStatus::completed;
      return handle;
    }
  } else if (state_ == ClientState::connected) {
    if (auto ec = sendPublish(o)) return failNow(ec);
    flushOutput();
    if (!o.params.receipt) {
      st->status = PublishStatus::completed;
      return handle;
    }
  } else if (state_ == ClientState::deactivating) {
    return failNow(errc::deactivated);
  } else {
    const auto& q = options_.offlineQueue;
    if (queue_.size() + 1 > q.maxMessages || queueBytes_ + o.bytes > q.maxBytes) return failNow(errc::queue_full);
  }

  if (o.params.receipt && options_.receiptTimeout.count() > 0) {
    std::weak_ptr<PublishState> weakSt = st;
    o.timer = scheduleGuarded(options_.receiptTimeout, [weakSt](ClientImpl& c) {
      if (auto s = weakSt.lock()) c.onReceiptTimeout(s);
    });
  }
  if (st->status == PublishStatus::sent) {
    pending_.push_back(std::move(o));
  } else {
    queueBytes_ += o.bytes;
    queue_.push_back(std::move(o));
  }
  deliver();
  return handle;
}

// ------------------------------------------------------------------------------------------------
// Subscriptions, acks, transactions

Subscription ClientImpl::subscribe(std::string destination, MessageCallback cb, Headers headers) {
  std::weak_ptr<ClientImpl> weak = weak_from_this();
  if (destroyed_) return Subscription(weak, {}, destination, errc::invalid_state);
  Sub s;
  s.destination = destination;
  s.callback = std::make_shared<MessageCallback>(std::move(cb));
  s.ackMode = "auto";
  for (const auto& h : headers) {
    if (h.name == "id" && s.id.empty()) {
      s.id = h.value;
    } else if (h.name == "ack") {
      s.ackMode = h.value;
    } else if (h.name != "destination" && h.name != "id") {
      s.headers.push_back(h);
    }
  }
  if (destination.empty() || !*s.callback) return Subscription(weak, {}, destination, errc::invalid_argument);
  if (s.ackMode != "auto" && s.ackMode != "client" && s.ackMode != "client-individual")
    return Subscription(weak, s.id, destination, errc::invalid_argument);
  if (s.id.empty()) {
    do {
      s.id = "sub-" + std::to_string(subSeq_++);
    } while (hasSubscription(s.id));
  } else if (hasSubscription(s.id)) {
    return Subscription(weak, s.id, destination, errc::invalid_argument);
  }
  std::string id = s.id;
  subs_.push_back(std::move(s));
  if (state_ == ClientState::connected) {
    const Sub& added = subs_.back();
    session_->updateTime(now());
    session_->subscribe(added.id, added.destination, added.ackMode, added.headers);
    flushOutput();
  }
  return Subscription(weak, id, destination, {});
}

std::error_code ClientImpl::unsubscribe(const std::string& id, const Headers& headers) {
  if (destroyed_) return errc::invalid_state;
  auto it = std::find_if(subs_.begin(), subs_.end(), [&](const Sub& s) { return s.id == id; });
  if (it == subs_.end()) return errc::invalid_state;
  subs_.erase(it);
  if (state_ == ClientState::connected) {
    session_->updateTime(now());
    auto ec = session_->unsubscribe(id, headers);
    flushOutput();
    return ec;
  }
  return {};
}

std::error_code ClientImpl::ackMessage(const MessageState& m, bool ack, const std::string& transaction,
                                       const Headers& headers) {
  if (destroyed_) return errc::invalid_state;
  if (m.ackMode.empty() || m.ackMode == "auto") return errc::invalid_state;
  if (m.epoch != epoch_ || state_ != ClientState::connected) return errc::connection_closed;
  session_->updateTime(now());
  auto ec = ack ? session_->ack(m.frame, transaction, headers) : session_->nack(m.frame, transaction, headers);
  flushOutput();
  return ec;
}

Transaction ClientImpl::begin(std::string id) {
  std::weak_ptr<ClientImpl> weak = weak_from_this();
  if (id.empty()) id = "tx-" + std::to_string(++txSeq_);
  if (destroyed_) return Transaction(weak, id, 0, errc::invalid_state);
  if (state_ != ClientState::connected) return Transaction(weak, id, 0, errc::not_connected);
  session_->updateTime(now());
  auto ec = session_->begin(id);
  flushOutput();
  return Transaction(weak, id, epoch_, ec);
}

std::error_code ClientImpl::checkTransaction(const Transaction& tx) const {
  if (tx.error_) return tx.error_;
  if (tx.finished_) return errc::invalid_state;
  if (destroyed_) return errc::invalid_state;
  if (tx.connection_ != epoch_ || state_ != ClientState::connected) return errc::connection_closed;
  return {};
}

std::error_code ClientImpl::txCommand(Transaction& tx, const char* command) {
  if (auto ec = checkTransaction(tx)) return ec;
  session_->updateTime(now());
  auto ec = std::string_view(command) == "COMMIT" ? session_->commit(tx.id_) : session_->abort(tx.id_);
  flushOutput();
  if (!ec) tx.finished_ = true;
  return ec;
}

// ------------------------------------------------------------------------------------------------
// Free functions

std::string_view toStringImpl(ClientState s) noexcept {
  switch (s) {
    case ClientState::inactive: return "inactive";
    case ClientState::connecting: return "connecting";
    case ClientState::connected: return "connected";
    case ClientState::reconnecting: return "reconnecting";
    case ClientState::deactivating: return "deactivating";
    case ClientState::failed: return "failed";
  }
  return "unknown";
}

}  // namespace detail

std::string_view toString(ClientState s) noexcept { return detail::toStringImpl(s); }

std::vector<Version> allVersions() {
  static constexpr Version kAll[] = {Version::v1_2, Version::v1_1, Version::v1_0};
  return std::vector<Version>(std::begin(kAll), std::end(kAll));
}

std::error_code validate(const ClientOptions& o, std::string* what) {
  auto bad = [&](const char* name) -> std::error_code {
    if (what) *what = name;
    return errc::invalid_argument;
  };
  if (o.brokerURL.empty()) return bad("brokerURL");
  if (o.versions.empty()) return bad("versions");
  for (Version v : o.versions)
    if (v != Version::v1_0 && v != Version::v1_1 && v != Version::v1_2) return bad("versions");
  for (const auto& h : o.connectHeaders)
    if (h.name.empty()) return bad("connectHeaders");
  if (o.heartbeatIncoming.count() < 0) return bad("heartbeatIncoming");
  if (o.heartbeatOutgoing.count() < 0) return bad("heartbeatOutgoing");
  if (!(o.heartbeatToleranceMultiplier >= 1.0) || o.heartbeatToleranceMultiplier > 100.0)
    return bad("heartbeatToleranceMultiplier");
  if (o.connectionTimeout.count() < 0) return bad("connectionTimeout");
  if (o.receiptTimeout.count() < 0) return bad("receiptTimeout");
  if (o.disconnectTimeout.count() < 0) return bad("disconnectTimeout");
  const auto& r = o.reconnect;
  // 0 would retry in a tight loop against a server that refuses at once; use enabled = false to stop.
  if (r.initialDelay.count() <= 0 && r.enabled) return bad("reconnect.initialDelay");
  if (r.maxDelay < r.initialDelay) return bad("reconnect.maxDelay");
  if (!(r.multiplier >= 1.0) || r.multiplier > 1000.0) return bad("reconnect.multiplier");
  if (r.resetAfter.count() < 0) return bad("reconnect.resetAfter");
  if (o.splitLargeFrames && o.maxWebSocketChunkSize == 0) return bad("maxWebSocketChunkSize");
  if (o.maxIncomingFrameSize < 64) return bad("maxIncomingFrameSize");
  return {};
}

Millis backoffDelay(const ReconnectOptions& o, std::uint32_t failures, double random) noexcept {
  if (failures == 0) failures = 1;
  if (!(random >= 0.0)) random = 0.0;  // also NaN
  if (random > 1.0) random = 1.0;
  const double cap = static_cast<double>(o.maxDelay.count());
  double base = static_cast<double>(o.initialDelay.count());
  // Stop multiplying at the cap: no overflow however many failures.
  for (std::uint32_t i = 1; i < failures && base < cap; ++i) base *= o.multiplier;
  base = std::min(base, cap);
  return Millis(static_cast<Millis::rep>(std::floor(base * random)));
}

// ------------------------------------------------------------------------------------------------
// Handles

PublishStatus PublishHandle::status() const noexcept { return state_ ? state_->status : PublishStatus::failed; }
bool PublishHandle::done() const noexcept {
  auto s = status();
  return s == PublishStatus::completed || s == PublishStatus::failed;
}
std::error_code PublishHandle::error() const noexcept {
  return state_ ? state_->error : std::error_code(errc::invalid_state);
}
const std::string& PublishHandle::receiptId() const noexcept {
  static const std::string empty;
  return state_ ? state_->receiptId : empty;
}
PublishHandle PublishHandle::failed(std::error_code ec) {
  auto st = std::make_shared<detail::PublishState>();
  st->status = PublishStatus::failed;
  st->error = ec;
  return PublishHandle(st);
}
void PublishHandle::onComplete(std::function<void(std::error_code)> fn) const {
  if (!state_ || !fn) return;
  if (done()) {
    fn(state_->error);
  } else if (!state_->clientGone) {
    state_->callbacks.push_back(std::move(fn));
  }
}

namespace {
const Frame& emptyFrame() {
  static const Frame f;
  return f;
}
}  // namespace

const Frame& Message::frame() const noexcept { return state_ ? state_->frame : emptyFrame(); }
std::string_view Message::body() const noexcept { return frame().body; }
const std::vector<Header>& Message::headers() const noexcept { return frame().headers; }
std::optional<std::string_view> Message::header(std::string_view name) const noexcept { return frame().header(name); }
std::string_view Message::destination() const noexcept { return frame().header("destination").value_or(""); }
std::string_view Message::subscription() const noexcept { return frame().header("subscription").value_or(""); }
std::string_view Message::messageId() const noexcept { return frame().header("message-id").value_or(""); }
bool Message::isBinary() const noexcept { return state_ && state_->binary; }
std::error_code Message::ack(const Headers& headers) const {
  if (!state_) return errc::invalid_state;
  auto c = state_->client.lock();
  if (!c) return errc::invalid_state;
  return c->ackMessage(*state_, true, {}, headers);
}
std::error_code Message::nack(const Headers& headers) const {
  if (!state_) return errc::invalid_state;
  auto c = state_->client.lock();
  if (!c) return errc::invalid_state;
  return c->ackMessage(*state_, false, {}, headers);
}

bool Subscription::active() const noexcept {
  auto c = client_.lock();
  return c && !error_ && !id_.empty() && c->hasSubscription(id_);
}
std::error_code Subscription::unsubscribe(const Headers& headers) {
  if (error_) return error_;
  auto c = client_.lock();
  if (!c) return errc::invalid_state;
  return c->unsubscribe(id_, headers);
}

PublishHandle Transaction::publish(PublishParams params) {
  auto c = client_.lock();
  if (!c) return PublishHandle::failed(errc::invalid_state);
  if (auto ec = c->checkTransaction(*this)) return PublishHandle::failed(ec);
  return c->publish(std::move(params), id_);
}
std::error_code Transaction::ack(const Message& message, const Headers& headers) {
  auto c = client_.lock();
  if (!c || !message.state_) return errc::invalid_state;
  if (auto ec = c->checkTransaction(*this)) return ec;
  return c->ackMessage(*message.state_, true, id_, headers);
}
std::error_code Transaction::nack(const Message& message, const Headers& headers) {
  auto c = client_.lock();
  if (!c || !message.state_) return errc::invalid_state;
  if (auto ec = c->checkTransaction(*this)) return ec;
  return c->ackMessage(*message.state_, false, id_, headers);
}
std::error_code Transaction::commit() {
  auto c = client_.lock();
  if (!c) return errc::invalid_state;
  return c->txCommand(*this, "COMMIT");
}
std::error_code Transaction::abort() {
  auto c = client_.lock();
  if (!c) return errc::invalid_state;
  return c->txCommand(*this, "ABORT");
}

// ------------------------------------------------------------------------------------------------
// Client

ClientCreateResult Client::create(ClientOptions options, TransportFactory factory, Scheduler& scheduler,
                                  RandomSource random) {
  ClientCreateResult r;
  if (auto ec = validate(options, &r.what)) {
    r.error = ec;
    return r;
  }
  if (!factory) {
    r.error = errc::invalid_argument;
    r.what = "transportFactory";
    return r;
  }
  auto impl = std::make_shared<detail::ClientImpl>(std::move(options), std::move(factory), scheduler, std::move(random));
  r.client = std::unique_ptr<Client>(new Client(std::move(impl)));
  return r;
}

Client::~Client() {
  if (impl_) impl_->shutdown();
}

void Client::activate() { impl_->activate(); }
void Client::deactivate(DeactivateOptions options, std::function<void()> done) {
  impl_->deactivate(options, std::move(done));
}
ClientState Client::state() const noexcept { return impl_->state(); }
void Client::setConnectHeaders(Headers headers) { impl_->setConnectHeaders(std::move(headers)); }
const ClientOptions& Client::options() const noexcept { return impl_->options(); }
Metrics Client::metrics() const { return impl_->metrics(); }
Subscription Client::subscribe(std::string destination, MessageCallback onMessage, Headers headers) {
  return impl_->subscribe(std::move(destination), std::move(onMessage), std::move(headers));
}
PublishHandle Client::publish(PublishParams params) { return impl_->publish(std::move(params)); }
Transaction Client::begin(std::string id) { return impl_->begin(std::move(id)); }

namespace {
template <class List, class Fn>
ListenerId addListener(detail::ClientImpl& impl, List& list, Fn fn) {
  ListenerId id = impl.nextListenerId();
  list.entries.push_back({id, std::make_shared<typename List::Callback>(std::move(fn))});
  return id;
}
}  // namespace

ListenerId Client::onConnect(std::function<void(const Frame&)> fn) { return addListener(*impl_, impl_->onConnect_, std::move(fn)); }
ListenerId Client::onDisconnect(std::function<void(std::error_code)> fn) { return addListener(*impl_, impl_->onDisconnect_, std::move(fn)); }
ListenerId Client::onStompError(std::function<void(const Frame&)> fn) { return addListener(*impl_, impl_->onStompError_, std::move(fn)); }
ListenerId Client::onStateChange(std::function<void(const StateChange&)> fn) { return addListener(*impl_, impl_->onStateChange_, std::move(fn)); }
ListenerId Client::onWebSocketClose(std::function<void(const CloseEvent&)> fn) { return addListener(*impl_, impl_->onWebSocketClose_, std::move(fn)); }
ListenerId Client::onWebSocketError(std::function<void(std::error_code)> fn) { return addListener(*impl_, impl_->onWebSocketError_, std::move(fn)); }
ListenerId Client::onUnhandledMessage(MessageCallback fn) { return addListener(*impl_, impl_->onUnhandledMessage_, std::move(fn)); }
ListenerId Client::onUnhandledReceipt(std::function<void(const Frame&)> fn) { return addListener(*impl_, impl_->onUnhandledReceipt_, std::move(fn)); }
bool Client::removeListener(ListenerId id) { return impl_->removeListener(id); }

}  // namespace stompwire
