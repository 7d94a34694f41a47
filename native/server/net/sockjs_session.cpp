// SockJS session state: framing, the pending queue between receivers, heart-beats, the session
// timeout and cleanup. Everything here runs on the session's strand except receive() and the
// registry, which take their own locks.
#include "net/sockjs_session.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

namespace stompwire::server::net {

const char* sockJsTransportName(SockJsTransport t) {
  static constexpr const char* names[] = {"websocket", "xhr_streaming", "xhr", "eventsource", "htmlfile", "jsonp"};
  return names[static_cast<int>(t)];
}

namespace {

// The code points sockjs-node escapes (utils.js `escapable`): browsers drop or mangle them.
bool escapable(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x200C && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x2060 && cp <= 0x206F) || (cp >= 0xFFF0 && cp <= 0xFFFF);
}

void appendU(std::string& out, std::uint32_t cp) {
  static constexpr char hex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xF];
}

}  // namespace

std::string sockJsQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20) appendU(out, c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    std::uint32_t cp = 0;
    bool ok = len != 0 && i + len <= n;
    if (ok) {
      cp = c & (0x7F >> len);
      for (int k = 1; k < len; ++k) {
        auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) { ok = false; break; }
        cp = (cp << 6) | (d & 0x3F);
      }
      ok = ok && !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                   (cp >= 0xD800 && cp <= 0xDFFF));
    }
    if (!ok) {
      appendU(out, 0xFFFD);
      ++i;
      continue;
    }
    if (escapable(cp)) appendU(out, cp);
    else out.append(s.substr(i, len));
    i += len;
  }
  out += '"';
  return out;
}

std::optional<std::vector<std::string>> sockJsParseMessages(std::string_view payload, bool allowSingleString) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  std::vector<std::string> out;
  if (j.is_string() && allowSingleString) {
    out.push_back(j.get<std::string>());
    return out;
  }
  if (!j.is_array()) return std::nullopt;
  out.reserve(j.size());
  for (auto& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string sockJsCloseFrame(int code, std::string_view reason) {
  return "c[" + std::to_string(code) + "," + sockJsQuote(reason) + "]";
}

SockJsSession::SockJsSession(State& st, std::string key, SockJsTransport firstTransport, std::string remote)
    : st_(st),
      reg_(st.sockjs),
      remote_(std::move(remote)),
      key_(std::move(key)),
      strand_(asio::make_strand(st.ioc)),
      timeout_(strand_),
      heartbeat_(strand_),
      transport_(firstTransport) {
  reg_->current++;
}

SockJsSession::~SockJsSession() { reg_->current--; }

bool SockJsSession::openBroker(SessionInfo info) {
  {
    std::lock_guard lock(st_.mu);
    if (st_.shuttingDown) return false;
    id_ = st_.broker.open(std::move(info), State::now());
    st_.conns.emplace(id_, shared_from_this());
    inBroker_ = true;
  }
  st_.metrics.connectionsTotal++;
  st_.metrics.connectionsCurrent++;
  reg_->opened[static_cast<int>(transport_)]++;
  log(Level::debug, "sockjs.open", {{"session", std::to_string(id_)}, {"transport", sockJsTransportName(transport_)}});
  // A session nobody polls for is dropped like one whose client went away.
  asio::post(strand_, [self = shared_from_this()] {
    if (!self->recv_) self->armTimeout();
  });
  return true;
}

void SockJsSession::attach(std::shared_ptr<SockJsReceiver> recv, SockJsTransport transport) {
  asio::post(strand_, [self = shared_from_this(), recv = std::move(recv), transport]() mutable {
    self->reg_->requests[static_cast<int>(transport)]++;
    if (self->terminated_) {
      recv->sendFrame(self->closeFrame_.empty() ? sockJsCloseFrame(1002, "Session closed") : self->closeFrame_, true);
      return;
    }
    if (self->recv_) {
      recv->sendFrame(sockJsCloseFrame(2010, "Another connection still open"), true);
      return;
    }
    self->timeout_.cancel();
    self->recv_ = std::move(recv);
    self->recvTransport_ = transport;
    self->recvBytes_ = 0;
    if (self->closing_) {
      self->flush();
      if (self->recv_) self->sendToReceiver(self->closeFrame_, true);
      return;
    }
    if (!self->openSent_) {
      self->openSent_ = true;
      self->sendToReceiver("o");
      if (!self->recv_) return;  // a poll ends with its first frame
    }
    self->flush();
    if (self->recv_) self->armHeartbeat();
  });
}

void SockJsSession::receiverGone(SockJsReceiver* recv) {
  asio::post(strand_, [self = shared_from_this(), recv] {
    if (self->recv_.get() != recv) return;
    self->recv_.reset();
    // As sockjs-node's didAbort: a receiver whose connection breaks ends the session at once.
    self->terminate();
  });
}

void SockJsSession::receive(const std::vector<std::string>& messages) {
  if (!inBroker_) return;
  auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(st_.mu);
    for (auto& m : messages) st_.broker.receive(id_, m, State::now());
  }
  st_.metrics.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void SockJsSession::lastFrameWritten() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->leavePending_) {
      self->leavePending_ = false;
      self->leaveBroker(false);
    }
    if (self->transport_ == SockJsTransport::websocket && self->closing_) self->terminate();
  });
}

void SockJsSession::deliver(std::string data) {
  asio::post(strand_, [self = shared_from_this(), d = std::move(data)]() mutable { self->onDeliver(std::move(d)); });
}

void SockJsSession::closeAfterFlush(int code, std::string reason) {
  asio::post(strand_, [self = shared_from_this(), code, r = std::move(reason)]() mutable {
    // The broker has already forgotten the session; it leaves State::conns once the close frame is out.
    // Without a receiver attached, the next request (or the session timeout) takes the close frame.
    if (!self->closing_ && !self->terminated_) self->leavePending_ = true;
    else self->leaveBroker(false);
    self->beginClose(code, std::move(r));
  });
}

void SockJsSession::abort() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->recv_) {
      self->recv_->abortConnection();
      self->recv_.reset();
    }
    self->terminate();
  });
}

void SockJsSession::onDeliver(std::string data) {
  if (closing_ || terminated_) return;
  pendingBytes_ += data.size();
  pending_.push_back(std::move(data));
  if (pendingBytes_ > st_.config.sendBufferLimit) {
    // Nobody has collected the frames for too long: the same rule as a slow WebSocket consumer.
    st_.metrics.slowConsumerDisconnects++;
    log(Level::warn, "sockjs.slow_consumer", {{"session", std::to_string(id_)}, {"queued_bytes", std::to_string(pendingBytes_)}});
    pending_.clear();
    pendingBytes_ = 0;
    if (recv_) {
      recv_->abortConnection();
      recv_.reset();
    }
    terminate();
    return;
  }
  flush();
}

void SockJsSession::flush() {
  if (!recv_ || pending_.empty()) return;
  std::string frame = "a[";
  frame.reserve(pendingBytes_ + pending_.size() * 8 + 4);
  bool first = true;
  for (auto& m : pending_) {
    if (!first) frame += ',';
    first = false;
    frame += sockJsQuote(m);
  }
  frame += ']';
  pending_.clear();
  pendingBytes_ = 0;
  sendToReceiver(std::move(frame));
}

void SockJsSession::sendToReceiver(std::string frame, bool forceLast) {
  recvBytes_ += frame.size();
  bool last = forceLast || sockJsIsPolling(recvTransport_) ||
              (recvTransport_ != SockJsTransport::websocket && recvBytes_ >= st_.config.sockjsResponseLimit);
  auto recv = recv_;
  if (last) {
    recv_.reset();
    heartbeat_.cancel();
    armTimeout();  // a websocket session ends in lastFrameWritten() or here at the latest
  }
  recv->sendFrame(std::move(frame), last);
}

void SockJsSession::armTimeout() {
  if (terminated_) return;
  timeout_.expires_after(Millis(st_.config.sockjsSessionTimeoutMs));
  timeout_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->recv_ || self->terminated_) return;
    if (!self->closing_) {
      self->reg_->timeouts++;
      log(Level::debug, "sockjs.timeout", {{"session", std::to_string(self->id_)}});
    }
    self->terminate();
  });
}

void SockJsSession::armHeartbeat() {
  heartbeat_.expires_after(Millis(st_.config.sockjsHeartbeatMs));
  heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || !self->recv_ || self->closing_) return;
    self->sendToReceiver("h");
    if (self->recv_) self->armHeartbeat();
  });
}

void SockJsSession::beginClose(int code, std::string reason) {
  if (closing_ || terminated_) return;
  closing_ = true;
  closeFrame_ = sockJsCloseFrame(code, reason);
  heartbeat_.cancel();
  if (recv_) {
    flush();
    if (recv_) sendToReceiver(closeFrame_, true);
  }
  // Without a receiver, the close frame waits for the next request until the session times out.
}

void SockJsSession::leaveBroker(bool tellBroker) {
  if (!inBroker_.exchange(false)) return;
  bool drained = false;
  {
    std::lock_guard lock(st_.mu);
    if (tellBroker) st_.broker.disconnected(id_);
    st_.conns.erase(id_);
    drained = st_.shuttingDown && st_.conns.empty();
  }
  st_.metrics.connectionsCurrent--;
  st_.wsCount--;
  log(Level::debug, "sockjs.close", {{"session", std::to_string(id_)}});
  if (drained && st_.onDrained) asio::post(st_.ioc, st_.onDrained);
}

void SockJsSession::terminate() {
  if (terminated_) return;
  terminated_ = true;
  if (closeFrame_.empty()) closeFrame_ = sockJsCloseFrame(1002, "Session closed");
  closing_ = true;
  pending_.clear();
  pendingBytes_ = 0;
  timeout_.cancel();
  heartbeat_.cancel();
  leaveBroker(true);
  if (!key_.empty()) reg_->erase(key_, this);
}

std::shared_ptr<SockJsSession> SockJsRegistry::find(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second;
}

std::pair<std::shared_ptr<SockJsSession>, bool> SockJsRegistry::findOrCreate(State& st, const std::string& key,
                                                                              SockJsTransport t,
                                                                              const std::string& remote) {
  std::lock_guard lock(mu_);
  auto& slot = sessions_[key];
  if (slot) return {slot, false};
  slot = std::make_shared<SockJsSession>(st, key, t, remote);
  return {slot, true};
}

void SockJsRegistry::erase(const std::string& key, const SockJsSession* s) {
  std::shared_ptr<SockJsSession> keep;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key);
  if (it != sessions_.end() && it->second.get() == s) {
    keep = std::move(it->second);
    sessions_.erase(it);
  }
}

void SockJsRegistry::clear() {
  std::unordered_map<std::string, std::shared_ptr<SockJsSession>> gone;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  gone.swap(sessions_);
}

std::size_t SockJsRegistry::size() {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::string SockJsRegistry::render() {
  std::string out;
  out += "# HELP stompwire_sockjs_sessions_total SockJS sessions opened, by the transport that opened them.\n";
  out += "# TYPE stompwire_sockjs_sessions_total counter\n";
  for (int i = 0; i < static_cast<int>(SockJsTransport::count); ++i)
    out += std::string("stompwire_sockjs_sessions_total{transport=\"") + sockJsTransportName(static_cast<SockJsTransport>(i)) +
           "\"} " + std::to_string(opened[i].load()) + "\n";
  out += "# HELP stompwire_sockjs_receivers_total SockJS requests that carried frames to clients, by transport.\n";
  out += "# TYPE stompwire_sockjs_receivers_total counter\n";
  for (int i = 0; i < static_cast<int>(SockJsTransport::count); ++i)
    out += std::string("stompwire_sockjs_receivers_total{transport=\"") + sockJsTransportName(static_cast<SockJsTransport>(i)) +
           "\"} " + std::to_string(requests[i].load()) + "\n";
  out += "# HELP stompwire_sockjs_sessions SockJS session objects alive (open or closing).\n";
  out += "# TYPE stompwire_sockjs_sessions gauge\n";
  out += "stompwire_sockjs_sessions " + std::to_string(current.load()) + "\n";
  out += "# HELP stompwire_sockjs_sessions_addressable SockJS sessions reachable by id.\n";
  out += "# TYPE stompwire_sockjs_sessions_addressable gauge\n";
  out += "stompwire_sockjs_sessions_addressable " + std::to_string(size()) + "\n";
  out += "# HELP stompwire_sockjs_timeouts_total SockJS sessions dropped because the client stopped polling.\n";
  out += "# TYPE stompwire_sockjs_timeouts_total counter\n";
  out += "stompwire_sockjs_timeouts_total " + std::to_string(timeouts.load()) + "\n";
  out += "# HELP stompwire_sockjs_bad_requests_total SockJS requests refused (unknown session, bad JSON, bad callback...).\n";
  out += "# TYPE stompwire_sockjs_bad_requests_total counter\n";
  out += "stompwire_sockjs_bad_requests_total " + std::to_string(badRequests.load()) + "\n";
  return out;
}

SockJsRegistry& sockJsRegistry(State& st) { return *st.sockjs; }

std::string renderSockJsMetrics(State& st) { return sockJsRegistry(st).render(); }

}  // namespace stompwire::server::net
