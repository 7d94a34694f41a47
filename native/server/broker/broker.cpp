#include "broker.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <limits>
#include <set>
#include <unordered_map>

#include "stompwire/serializer.hpp"

namespace stompwire::server {

bool globMatch(std::string_view p, std::string_view t) noexcept {
  // Iterative matcher with one backtrack point: linear enough for short patterns, no recursion.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {
bool anyMatch(const std::vector<std::string>& patterns, std::string_view d) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return globMatch(p, d); });
}
}  // namespace

bool Permissions::canRead(std::string_view d) const noexcept { return !restricted || anyMatch(read, d); }
bool Permissions::canWrite(std::string_view d) const noexcept { return !restricted || anyMatch(write, d); }

namespace {

enum class AckMode { autoAck, client, clientIndividual };

struct Message {
  std::string destination;
  std::vector<Header> headers;  // the sender's own headers (content-type, custom ones)
  std::string body;
  bool redelivered = false;
};

struct SubKey {
  SessionId session;
  std::string id;
  friend bool operator==(const SubKey&, const SubKey&) = default;
};

struct Subscription {
  std::string id;
  std::string destination;
  AckMode ack = AckMode::autoAck;
};

struct Pending {
  std::string subId;
  std::string queue;  // empty for topic/user deliveries: nothing to redeliver
  Message message;
};

struct TokenBucket {
  double tokens = 0;
  Millis last{0};
  std::size_t users = 0;  // sessions sharing the bucket
};

enum class Kind { topic, queue, app, user, invalid };

Kind kindOf(std::string_view d) {
  if (d.starts_with("/topic/") && d.size() > 7) return Kind::topic;
  if (d.starts_with("/queue/") && d.size() > 7) return Kind::queue;
  if (d.starts_with("/app/") && d.size() > 5) return Kind::app;
  if (d.starts_with("/user/") && d.size() > 6) return Kind::user;
  return Kind::invalid;
}

bool isReservedHeader(std::string_view n) {
  static constexpr std::string_view reserved[] = {
      "destination", "transaction", "receipt", "content-length", "message-id", "subscription",
      "ack", "redelivered", "login", "passcode", "id"};
  return std::find(std::begin(reserved), std::end(reserved), n) != std::end(reserved);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parseHeartbeat(std::string_view v) {
  auto comma = v.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s) -> std::optional<std::uint64_t> {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    std::uint64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return out;
  };
  auto a = num(v.substr(0, comma)), b = num(v.substr(comma + 1));
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

}  // namespace

struct Broker::Impl final : FrameParser::Handler {
  struct Session {
    Session(SessionId i, SessionInfo in, const ParserLimits& limits, Millis t)
        : id(i), info(std::move(in)), parser(limits), opened(t), lastSent(t), lastRecv(t) {}
    SessionId id;
    SessionInfo info;
    FrameParser parser;
    bool connected = false;
    Version version = Version::v1_2;
    std::string user;
    Permissions permissions;
    std::unordered_map<std::string, Subscription> subs;
    std::map<std::uint64_t, Pending> pending;  // by delivery sequence: ordered for cumulative ACK
    std::map<std::string, std::vector<Frame>, std::less<>> transactions;
    Millis opened{0}, sendEvery{0}, recvTimeout{0}, lastSent{0}, lastRecv{0};
    std::string rateUserKey, rateIpKey;
  };

  struct Queue {
    std::deque<Message> backlog;
    std::vector<SubKey> consumers;
    std::size_t next = 0;
  };

  BrokerConfig config;
  BrokerHost& host;
  BrokerStats stats;
  std::unordered_map<SessionId, std::unique_ptr<Session>> sessions;
  std::unordered_map<std::string, std::vector<SubKey>> topics;   // /topic/* and /user/queue/* keys
  std::unordered_map<std::string, Queue> queues;
  std::unordered_map<std::string, std::set<SessionId>> userSessions;
  std::unordered_map<std::string, TokenBucket> buckets;          // "u:<user>" / "i:<ip>"
  std::unordered_map<std::string, std::unique_ptr<AppHandler>> apps;
  SessionId nextId = 1;
  std::uint64_t nextDelivery = 1;
  std::uint64_t nextAnonymous = 1;
  bool heartbeatsPaused = false;

  // Per receive() call: the session being fed and the time.
  Session* current = nullptr;
  Millis now{0};
  bool currentClosed = false;
  std::optional<std::string_view> currentReceipt;  // of the frame being handled, for ERROR receipt-id

  Impl(BrokerConfig c, BrokerHost& h) : config(std::move(c)), host(h) {
    if (!config.wallClock) config.wallClock = [] { return std::int64_t{0}; };
  }

  // ---- output ---------------------------------------------------------------------------------

  void write(Session& s, const Frame& f, bool contentLength = false) {
    std::string out;
    SerializeOptions opt;
    opt.version = s.version;
    opt.alwaysContentLength = contentLength;
    if (serialize(f, out, opt)) {
      // A header this version cannot carry (e.g. an EOL in 1.0): drop that header's frame with an
      // ERROR rather than corrupting the stream.
      Frame e("ERROR", {{"message", "server could not encode a frame for this STOMP version"}});
      out.clear();
      serialize(e, out, opt);
    }
    stats.framesOut++;
    stats.bytesOut += out.size();
    s.lastSent = now;
    host.send(s.id, std::move(out));
  }

  // Sends ERROR, forgets the session and asks the host to close the connection.
  void fail(Session& s, std::string message, std::string detail = {}, int code = kCloseProtocolError,
            std::optional<std::string_view> receipt = std::nullopt) {
    Frame e("ERROR", {{"message", std::move(message)}});
    if (!receipt) receipt = currentReceipt;
    if (receipt) e.add("receipt-id", *receipt);
    if (!detail.empty()) {
      e.add("content-type", "text/plain");
      e.body = std::move(detail);
    }
    stats.errorsSent++;
    write(s, e);
    closeSession(s.id, code, e.headers[0].value);
  }

  void closeSession(SessionId id, int code, std::string_view reason) {
    std::string r(reason.substr(0, 120));  // a close reason must fit a control frame
    if (current && current->id == id) {
      // The session's parser is still on the stack (we are inside its feed()): release it when
      // feed() has returned, in receive().
      currentClosed = true;
      host.close(id, code, r);
      return;
    }
    release(id);
    host.close(id, code, r);
  }

  // ---- session lifecycle ----------------------------------------------------------------------

  SessionId open(SessionInfo info, Millis t) {
    auto s = std::make_unique<Session>(nextId++, std::move(info), config.parser, t);
    stats.sessionsOpened++;
    SessionId id = s->id;
    sessions.emplace(id, std::move(s));
    return id;
  }

  void acquireBucket(const std::string& key, const RateLimit& limit) {
    auto [it, inserted] = buckets.try_emplace(key);
    if (inserted) {
      it->second.tokens = limit.messages;
      it->second.last = now;
    }
    it->second.users++;
  }
  // A bucket outlives its last session until it would be full again, so reconnecting does not
  // reset a rate limit; tick() collects it after that.
  void releaseBucket(const std::string& key) {
    if (key.empty()) return;
    auto it = buckets.find(key);
    if (it != buckets.end() && it->second.users > 0) it->second.users--;
  }
  void collectBuckets() {
    auto longest = std::max(config.perUser.period, config.perIp.period);
    for (auto it = buckets.begin(); it != buckets.end();)
      it = it->second.users == 0 && now - it->second.last >= longest ? buckets.erase(it) : std::next(it);
  }
  bool take(const std::string& key, const RateLimit& limit) {
    if (limit.messages == 0 || key.empty()) return true;
    auto& b = buckets[key];
    double rate = double(limit.messages) / double(std::max<std::int64_t>(1, limit.period.count()));
    b.tokens = std::min<double>(limit.messages, b.tokens + double((now - b.last).count()) * rate);
    b.last = now;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  void release(SessionId id) {
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    std::unique_ptr<Session> s = std::move(it->second);
    sessions.erase(it);
    // Unsubscribe everything; unacked queue messages go back to their queues as redelivered.
    std::vector<std::string> ids;
    for (auto& [sid, sub] : s->subs) ids.push_back(sid);
    std::vector<std::string> touched;
    for (auto& sid : ids) removeSubscription(*s, sid, touched);
    s->pending.clear();
    if (s->connected) {
      auto us = userSessions.find(s->user);
      if (us != userSessions.end()) {
        us->second.erase(id);
        if (us->second.empty()) userSessions.erase(us);
      }
    }
    releaseBucket(s->rateUserKey);
    releaseBucket(s->rateIpKey);
    for (auto& q : touched) dispatch(q);
  }

  // ---- input ----------------------------------------------------------------------------------

  void receive(SessionId id, std::string_view data, Millis t) {
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    now = t;
    current = it->second.get();
    currentClosed = false;
    current->lastRecv = t;
    stats.bytesIn += data.size();
    auto ec = current->parser.feed(data, *this);
    if (ec && !currentClosed) {
      if (ec == errc::frame_too_large || ec == errc::body_too_large) {
        fail(*current, "frame too large",
             "frame exceeds the limit of " + std::to_string(config.parser.maxFrameSize) + " bytes",
             kCloseTooBig);
      } else {
        fail(*current, "malformed frame: " + std::string(errcName(static_cast<errc>(ec.value()))),
             "at byte " + std::to_string(current->parser.errorOffset()));
      }
    }
    bool closed = currentClosed;
    current = nullptr;
    currentClosed = false;
    if (closed) release(id);
  }

  void onHeartbeat() override {}

  void onFrame(const FrameView& f) override {
    if (currentClosed) return;  // rest of a message after an ERROR
    Session& s = *current;
    stats.framesIn++;
    currentReceipt = f.header("receipt");
    struct Reset {
      std::optional<std::string_view>& r;
      ~Reset() { r.reset(); }
    } reset{currentReceipt};
    if (!s.connected) {
      if (f.command == "CONNECT" || f.command == "STOMP") return handleConnect(s, f);
      return fail(s, "expected CONNECT", "the first frame must be CONNECT or STOMP, got " + std::string(f.command));
    }
    auto receipt = f.header("receipt");
    if (f.command == "CONNECT" || f.command == "STOMP") return fail(s, "already connected", {}, kCloseProtocolError, receipt);
    if (f.command == "DISCONNECT") {
      if (receipt) write(s, Frame("RECEIPT", {{"receipt-id", std::string(*receipt)}}));
      return closeSession(s.id, kCloseNormal, "disconnect");
    }
    bool ok = false;
    if (f.command == "SEND") ok = handleSend(s, f);
    else if (f.command == "SUBSCRIBE") ok = handleSubscribe(s, f);
    else if (f.command == "UNSUBSCRIBE") ok = handleUnsubscribe(s, f);
    else if (f.command == "ACK" || (f.command == "NACK" && s.version != Version::v1_0)) ok = handleAck(s, f);
    else if (f.command == "BEGIN") ok = handleBegin(s, f);
    else if (f.command == "COMMIT" || f.command == "ABORT") ok = handleEnd(s, f);
    else return fail(s, "unknown command", "unknown command " + std::string(f.command), kCloseProtocolError, receipt);
    if (ok && !currentClosed && receipt) write(s, Frame("RECEIPT", {{"receipt-id", std::string(*receipt)}}));
  }

  void handleConnect(Session& s, const FrameView& f) {
    // Version: the highest we share; a CONNECT without accept-version is STOMP 1.0.
    std::optional<Version> chosen;
    if (auto av = f.header("accept-version")) {
      std::string_view list = *av;
      while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (auto v = parseVersion(item); v && (!chosen || *v > *chosen)) chosen = v;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      if (!chosen) {
        Frame e("ERROR", {{"version", "1.0,1.1,1.2"}, {"message", "unsupported STOMP version"}});
        e.add("content-type", "text/plain");
        e.body = "supported versions are 1.0, 1.1, 1.2";
        stats.errorsSent++;
        write(s, e);
        return closeSession(s.id, kCloseProtocolError, "unsupported STOMP version");
      }
    } else {
      chosen = Version::v1_0;
    }
    s.version = *chosen;

    // Identity: a handshake principal wins; otherwise the user list, if any; otherwise anonymous.
    if (s.info.principal) {
      s.user = s.info.principal->user;
      s.permissions = s.info.principal->permissions;
    } else if (!config.users.empty()) {
      auto login = f.header("login");
      auto pass = f.header("passcode");
      auto u = login ? config.users.find(*login) : config.users.end();
      if (u == config.users.end() || !pass || !constantTimeEqual(u->second, *pass)) {
        stats.authFailures++;
        return fail(s, "authentication failed", "bad login or passcode", kClosePolicy);
      }
      s.user = u->first;
    } else {
      auto login = f.header("login");
      s.user = (login && !login->empty()) ? std::string(*login) : "anonymous-" + std::to_string(nextAnonymous++);
    }

    std::uint64_t cx = 0, cy = 0;
    if (auto hb = f.header("heart-beat"); hb && s.version != Version::v1_0) {
      auto parsed = parseHeartbeat(*hb);
      if (!parsed) return fail(s, "malformed heart-beat header", "expected heart-beat:<cx>,<cy>");
      cx = parsed->first;
      cy = parsed->second;
    }
    auto sx = std::uint64_t(config.heartbeatSend.count()), sy = std::uint64_t(config.heartbeatReceive.count());
    s.sendEvery = Millis(sx && cy ? std::max(sx, cy) : 0);
    auto expect = cx && sy ? std::max(cx, sy) : 0;
    s.recvTimeout = Millis(std::int64_t(double(expect) * config.heartbeatTolerance));

    s.connected = true;
    s.parser.setVersion(s.version);
    userSessions[s.user].insert(s.id);
    if (config.perUser.messages) {
      s.rateUserKey = "u:" + s.user;
      acquireBucket(s.rateUserKey, config.perUser);
    }
    if (config.perIp.messages) {
      s.rateIpKey = "i:" + s.info.remoteAddress;
      acquireBucket(s.rateIpKey, config.perIp);
    }

    Frame c("CONNECTED", {{"version", std::string(toString(s.version))}});
    if (s.version != Version::v1_0) c.add("heart-beat", std::to_string(sx) + "," + std::to_string(sy));
    c.add("session", "session-" + std::to_string(s.id));
    c.add("server", config.serverName);
    c.add("user-name", s.user);
    write(s, c);
  }

  static bool constantTimeEqual(std::string_view a, std::string_view b) {
    // Compare every byte of the expected value so timing does not reveal the matching prefix.
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
  }

  // ---- SEND and routing -----------------------------------------------------------------------

  bool handleSend(Session& s, const FrameView& f) {
    auto dest = f.header("destination");
    if (!dest || dest->empty()) return fail(s, "missing destination header", "SEND needs a destination"), false;
    if (kindOf(*dest) == Kind::invalid)
      return fail(s, "invalid destination", "destinations start with /topic/, /queue/, /app/ or /user/: " + std::string(*dest)), false;
    if (!s.permissions.canWrite(*dest))
      return fail(s, "forbidden", "not allowed to send to " + std::string(*dest), kClosePolicy, f.header("receipt")), false;
    if (!take(s.rateUserKey, config.perUser)) {
      stats.rateLimited++;
      return fail(s, "rate limit exceeded: per-user",
                  "user " + s.user + " may send " + std::to_string(config.perUser.messages) + " messages per " +
                      std::to_string(config.perUser.period.count()) + " ms",
                  kClosePolicy), false;
    }
    if (!take(s.rateIpKey, config.perIp)) {
      stats.rateLimited++;
      return fail(s, "rate limit exceeded: per-ip",
                  "address " + s.info.remoteAddress + " may send " + std::to_string(config.perIp.messages) +
                      " messages per " + std::to_string(config.perIp.period.count()) + " ms",
                  kClosePolicy), false;
    }
    if (auto tx = f.header("transaction")) return buffer(s, *tx, f);
    return route(s, f);
  }

  bool buffer(Session& s, std::string_view tx, const FrameView& f) {
    auto it = s.transactions.find(tx);
    if (it == s.transactions.end()) return fail(s, "unknown transaction", std::string(tx)), false;
    if (it->second.size() >= config.maxTransactionFrames)
      return fail(s, "transaction too large", "more than " + std::to_string(config.maxTransactionFrames) + " frames"), false;
    it->second.push_back(f.toFrame());
    return true;
  }

  Message toMessage(const FrameView& f, std::string_view destination) {
    Message m;
    m.destination = std::string(destination);
    for (auto& h : f.headers)
      if (!isReservedHeader(h.name) && !findHeader(m.headers, h.name)) m.headers.push_back({std::string(h.name), std::string(h.value)});
    m.body = std::string(f.body);
    return m;
  }

  bool route(Session& s, const FrameView& f) {
    std::string_view dest = *f.header("destination");
    switch (kindOf(dest)) {
      case Kind::topic:
        stats.routedTopic++;
        publishTopic(dest, toMessage(f, dest));
        return true;
      case Kind::queue:
        return enqueue(&s, toMessage(f, dest));
      case Kind::user:
        return routeUser(&s, dest, toMessage(f, dest));
      case Kind::app: {
        stats.routedApp++;
        auto h = apps.find(std::string(dest));
        if (h == apps.end()) return fail(s, "no handler", "no application handler for " + std::string(dest)), false;
        Ctx ctx{*this, s};
        if (auto err = h->second->handle(ctx, f)) return fail(s, *err, {}, kCloseProtocolError, f.header("receipt")), false;
        return !currentClosed;
      }
      case Kind::invalid:
        break;
    }
    return false;
  }

  struct Ctx final : AppContext {
    Impl& b;
    Session& s;
    Ctx(Impl& bi, Session& si) : b(bi), s(si) {}
    const std::string& user() const override { return s.user; }
    SessionId session() const override { return s.id; }
    std::int64_t wallClockMs() const override { return b.config.wallClock(); }
    void publish(std::string_view destination, std::string body, std::string_view contentType) override {
      Message m{std::string(destination), {{"content-type", std::string(contentType)}}, std::move(body), false};
      switch (kindOf(destination)) {
        case Kind::topic: b.stats.routedTopic++; b.publishTopic(destination, std::move(m)); break;
        case Kind::queue: b.enqueue(nullptr, std::move(m)); break;
        case Kind::user: b.routeUser(&s, destination, std::move(m)); break;
        default: break;
      }
    }
    void reply(std::string_view destination, std::string body, std::string_view contentType) override {
      Message m{std::string(destination), {{"content-type", std::string(contentType)}}, std::move(body), false};
      b.deliverToSession(s, destination, m);
    }
  };

  void publishTopic(std::string_view dest, const Message& m) {
    auto it = topics.find(std::string(dest));
    if (it == topics.end()) return;
    // Copy: a delivery cannot change subscriptions today, but the list must not move under us.
    auto subs = it->second;
    for (auto& k : subs) deliver(k, m, {});
  }

  // /user/<name>/queue/x -> every session of <name> subscribed to /user/queue/x;
  // /user/queue/x -> the sender's own sessions.
  bool routeUser(Session* from, std::string_view dest, Message m) {
    std::string_view rest = dest.substr(6);
    std::string target;
    std::string_view local;
    if (rest.starts_with("queue/")) {
      if (!from) return false;
      target = from->user;
      local = dest;
    } else {
      auto slash = rest.find('/');
      if (slash == std::string_view::npos || !rest.substr(slash + 1).starts_with("queue/") || slash == 0) {
        if (from) fail(*from, "invalid user destination", "use /user/<name>/queue/<name> or /user/queue/<name>");
        return false;
      }
      target = std::string(rest.substr(0, slash));
      local = rest.substr(slash);  // "/queue/..."
    }
    std::string localDest = local.starts_with("/user/") ? std::string(local) : "/user" + std::string(local);
    stats.routedUser++;
    m.destination = localDest;
    auto us = userSessions.find(target);
    if (us == userSessions.end()) return true;  // nobody of that name online: like a topic, nothing kept
    auto ids = us->second;
    for (auto id : ids) {
      auto s = sessions.find(id);
      if (s != sessions.end()) deliverToSession(*s->second, localDest, m);
    }
    return true;
  }

  void deliverToSession(Session& s, std::string_view destination, const Message& m) {
    for (auto& [id, sub] : s.subs)
      if (sub.destination == destination) deliver(SubKey{s.id, id}, m, {});
  }

  bool enqueue(Session* from, Message m) {
    auto& q = queues[m.destination];
    if (q.backlog.size() >= config.maxQueueDepth) {
      if (from) fail(*from, "queue full", m.destination + " holds " + std::to_string(config.maxQueueDepth) + " messages");
      return false;
    }
    stats.routedQueue++;
    std::string name = m.destination;
    q.backlog.push_back(std::move(m));
    dispatch(name);
    return true;
  }

  // Hands queued messages to consumers, round-robin.
  void dispatch(const std::string& name) {
    auto it = queues.find(name);
    if (it == queues.end()) return;
    auto& q = it->second;
    while (!q.backlog.empty() && !q.consumers.empty()) {
      if (q.next >= q.consumers.size()) q.next = 0;
      SubKey k = q.consumers[q.next++];
      Message m = std::move(q.backlog.front());
      q.backlog.pop_front();
      deliver(k, m, name);
    }
    if (q.backlog.empty() && q.consumers.empty()) queues.erase(it);
  }

  void deliver(const SubKey& k, const Message& m, const std::string& queue) {
    auto s = sessions.find(k.session);
    if (s == sessions.end()) return;
    auto sub = s->second->subs.find(k.id);
    if (sub == s->second->subs.end()) return;
    Session& to = *s->second;
    auto seq = nextDelivery++;
    std::string messageId = "m-" + std::to_string(seq);
    Frame f("MESSAGE", {{"subscription", sub->second.id}, {"message-id", messageId}, {"destination", m.destination}});
    if (sub->second.ack != AckMode::autoAck) {
      if (to.version == Version::v1_2) f.add("ack", messageId);
      to.pending.emplace(seq, Pending{sub->second.id, queue, m});
    }
    if (m.redelivered) f.add("redelivered", "true");
    for (auto& h : m.headers) f.headers.push_back(h);
    f.body = m.body;
    stats.deliveries++;
    write(to, f, true);
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE / ACK ----------------------------------------------------------

  bool handleSubscribe(Session& s, const FrameView& f) {
    auto dest = f.header("destination");
    if (!dest || dest->empty()) return fail(s, "missing destination header", "SUBSCRIBE needs a destination"), false;
    auto idh = f.header("id");
    if (!idh && s.version != Version::v1_0) return fail(s, "missing id header", "SUBSCRIBE needs an id"), false;
    std::string id(idh ? *idh : *dest);
    auto kind = kindOf(*dest);
    if (kind == Kind::app || kind == Kind::invalid)
      return fail(s, "invalid destination", "cannot subscribe to " + std::string(*dest)), false;
    if (kind == Kind::user && !dest->starts_with("/user/queue/"))
      return fail(s, "invalid destination", "subscribe to /user/queue/<name>, not " + std::string(*dest)), false;
    if (kind != Kind::user && !s.permissions.canRead(*dest))
      return fail(s, "forbidden", "not allowed to subscribe to " + std::string(*dest), kClosePolicy, f.header("receipt")), false;
    if (s.subs.count(id)) return fail(s, "duplicate subscription id", id), false;
    if (s.subs.size() >= config.maxSubscriptionsPerSession)
      return fail(s, "too many subscriptions", "limit " + std::to_string(config.maxSubscriptionsPerSession)), false;
    AckMode ack = AckMode::autoAck;
    if (auto a = f.header("ack")) {
      if (*a == "client") ack = AckMode::client;
      else if (*a == "client-individual" && s.version != Version::v1_0) ack = AckMode::clientIndividual;
      else if (*a != "auto") return fail(s, "invalid ack mode", std::string(*a)), false;
    }
    s.subs.emplace(id, Subscription{id, std::string(*dest), ack});
    SubKey key{s.id, id};
    if (kind == Kind::queue) {
      auto& q = queues[std::string(*dest)];
      q.consumers.push_back(key);
      dispatch(std::string(*dest));
    } else if (kind == Kind::topic) {
      topics[std::string(*dest)].push_back(key);
    }
    return true;
  }

  bool handleUnsubscribe(Session& s, const FrameView& f) {
    auto idh = f.header("id");
    if (!idh && s.version == Version::v1_0) idh = f.header("destination");
    if (!idh) return fail(s, "missing id header", "UNSUBSCRIBE needs an id"), false;
    if (!s.subs.count(std::string(*idh))) return fail(s, "unknown subscription", std::string(*idh)), false;
    std::vector<std::string> touched;
    removeSubscription(s, std::string(*idh), touched);
    for (auto& q : touched) dispatch(q);
    return true;
  }

  void removeSubscription(Session& s, const std::string& id, std::vector<std::string>& touched) {
    auto it = s.subs.find(id);
    if (it == s.subs.end()) return;
    const std::string dest = it->second.destination;
    SubKey key{s.id, id};
    if (kindOf(dest) == Kind::queue) {
      auto q = queues.find(dest);
      if (q != queues.end()) {
        auto& c = q->second.consumers;
        c.erase(std::remove(c.begin(), c.end(), key), c.end());
      }
      // Unacked messages go back to the front of their queue, oldest first, marked redelivered.
      std::vector<Message> back;
      for (auto p = s.pending.begin(); p != s.pending.end();) {
        if (p->second.subId == id) {
          if (!p->second.queue.empty()) back.push_back(std::move(p->second.message));
          p = s.pending.erase(p);
        } else {
          ++p;
        }
      }
      auto& qq = queues[dest];
      for (auto r = back.rbegin(); r != back.rend(); ++r) {
        r->redelivered = true;
        qq.backlog.push_front(std::move(*r));
      }
      touched.push_back(dest);
    } else {
      auto t = topics.find(dest);
      if (t != topics.end()) {
        auto& v = t->second;
        v.erase(std::remove(v.begin(), v.end(), key), v.end());
        if (v.empty()) topics.erase(t);
      }
      for (auto p = s.pending.begin(); p != s.pending.end();)
        p = p->second.subId == id ? s.pending.erase(p) : std::next(p);
    }
    s.subs.erase(it);
  }

  bool handleAck(Session& s, const FrameView& f) {
    if (auto tx = f.header("transaction")) return buffer(s, *tx, f);
    return applyAck(s, f);
  }

  bool applyAck(Session& s, const FrameView& f) {
    bool nack = f.command == "NACK";
    auto idh = f.header("id");
    if (!idh || s.version != Version::v1_2) {
      if (auto mid = f.header("message-id")) idh = mid;
    }
    if (!idh) return fail(s, "missing id header", std::string(f.command) + " needs an id"), false;
    std::uint64_t seq = 0;
    std::string_view v = *idh;
    bool parsed = v.starts_with("m-") &&
                  std::from_chars(v.data() + 2, v.data() + v.size(), seq).ptr == v.data() + v.size();
    auto it = parsed ? s.pending.find(seq) : s.pending.end();
    if (it == s.pending.end()) return fail(s, "unknown ack id", std::string(v) + " is not pending"), false;
    auto sub = s.subs.find(it->second.subId);
    bool cumulative = sub != s.subs.end() && sub->second.ack == AckMode::client;
    // client mode: ACK/NACK covers every earlier message of the same subscription as well.
    std::vector<std::uint64_t> covered;
    if (cumulative) {
      for (auto p = s.pending.begin(); p != std::next(it); ++p)
        if (p->second.subId == it->second.subId) covered.push_back(p->first);
    } else {
      covered.push_back(seq);
    }
    std::vector<std::string> touched;
    for (auto c : covered) {
      auto p = s.pending.find(c);
      if (nack && !p->second.queue.empty()) {
        Message m = std::move(p->second.message);
        m.redelivered = true;
        touched.push_back(p->second.queue);
        auto& q = queues[p->second.queue];
        q.backlog.push_back(std::move(m));
      }
      s.pending.erase(p);
    }
    for (auto& q : touched) dispatch(q);
    return true;
  }

  bool handleBegin(Session& s, const FrameView& f) {
    auto tx = f.header("transaction");
    if (!tx || tx->empty()) return fail(s, "missing transaction header", "BEGIN needs a transaction"), false;
    if (s.transactions.count(*tx)) return fail(s, "transaction already started", std::string(*tx)), false;
    if (s.transactions.size() >= config.maxTransactions)
      return fail(s, "too many transactions", "limit " + std::to_string(config.maxTransactions)), false;
    s.transactions.emplace(std::string(*tx), std::vector<Frame>{});
    return true;
  }

  bool handleEnd(Session& s, const FrameView& f) {
    auto tx = f.header("transaction");
    if (!tx || tx->empty()) return fail(s, "missing transaction header", std::string(f.command) + " needs a transaction"), false;
    auto it = s.transactions.find(*tx);
    if (it == s.transactions.end()) return fail(s, "unknown transaction", std::string(*tx)), false;
    std::vector<Frame> frames = std::move(it->second);
    s.transactions.erase(it);
    if (f.command == "ABORT") return true;
    for (auto& fr : frames) {
      std::vector<HeaderView> hv;
      for (auto& h : fr.headers)
        if (h.name != "transaction") hv.push_back({h.name, h.value});
      FrameView view{fr.command, hv, fr.body};
      bool ok = fr.command == "SEND" ? route(s, view) : applyAck(s, view);
      if (!ok || currentClosed) return false;
    }
    return true;
  }

  // ---- heart-beats ----------------------------------------------------------------------------

  Millis tick(Millis t) {
    now = t;
    collectBuckets();
    Millis next = Millis::max();
    std::vector<SessionId> dead, late;
    for (auto& [id, sp] : sessions) {
      Session& s = *sp;
      if (!s.connected) {
        if (config.connectTimeout.count() > 0) {
          if (t - s.opened >= config.connectTimeout) late.push_back(id);
          else next = std::min(next, s.opened + config.connectTimeout);
        }
        continue;
      }
      if (s.recvTimeout.count() > 0) {
        if (t - s.lastRecv > s.recvTimeout) {
          dead.push_back(id);
          continue;
        }
        next = std::min(next, s.lastRecv + s.recvTimeout + Millis(1));
      }
      if (s.sendEvery.count() > 0 && !heartbeatsPaused) {
        if (t - s.lastSent >= s.sendEvery) {
          s.lastSent = t;
          stats.bytesOut += 1;
          host.send(id, std::string(kHeartbeat));
        }
        next = std::min(next, s.lastSent + s.sendEvery);
      }
    }
    for (auto id : late) {
      stats.connectTimeouts++;
      closeSession(id, kClosePolicy, "no CONNECT frame in time");
    }
    for (auto id : dead) {
      stats.heartbeatTimeouts++;
      closeSession(id, kCloseGoingAway, "heart-beat timeout");
    }
    return next;
  }

  void shutdown() {
    std::vector<SessionId> ids;
    for (auto& [id, s] : sessions) ids.push_back(id);
    for (auto id : ids) {
      auto it = sessions.find(id);
      if (it == sessions.end()) continue;
      Frame e("ERROR", {{"message", "server shutting down"}});
      stats.errorsSent++;
      write(*it->second, e);
      closeSession(id, kCloseGoingAway, "server shutting down");
    }
  }
};

// ---- built-in handlers ----------------------------------------------------------------------------

Broker::Broker(BrokerConfig config, BrokerHost& host) : impl_(std::make_unique<Impl>(std::move(config), host)) {
  addAppHandler("/app/echo", makeEchoHandler());
  addAppHandler("/app/chat.send", makeChatSendHandler());
  addAppHandler("/app/chat.private", makeChatPrivateHandler());
}
Broker::~Broker() = default;

void Broker::addAppHandler(std::string destination, std::unique_ptr<AppHandler> handler) {
  impl_->apps[std::move(destination)] = std::move(handler);
}
SessionId Broker::open(SessionInfo info, Millis now) {
  impl_->now = now;
  return impl_->open(std::move(info), now);
}
void Broker::receive(SessionId id, std::string_view data, Millis now) { impl_->receive(id, data, now); }
void Broker::disconnected(SessionId id) { impl_->release(id); }
Millis Broker::tick(Millis now) { return impl_->tick(now); }
void Broker::shutdown() { impl_->shutdown(); }
void Broker::setHeartbeatsPaused(bool paused) noexcept { impl_->heartbeatsPaused = paused; }
const BrokerStats& Broker::stats() const noexcept { return impl_->stats; }
std::size_t Broker::sessionCount() const noexcept { return impl_->sessions.size(); }
std::size_t Broker::subscriptionCount() const noexcept {
  std::size_t n = 0;
  for (auto& [id, s] : impl_->sessions) n += s->subs.size();
  return n;
}
std::size_t Broker::pendingAckCount() const noexcept {
  std::size_t n = 0;
  for (auto& [id, s] : impl_->sessions) n += s->pending.size();
  return n;
}
std::size_t Broker::queuedMessageCount() const noexcept {
  std::size_t n = 0;
  for (auto& [name, q] : impl_->queues) n += q.backlog.size();
  return n;
}
std::size_t Broker::rateBucketCount() const noexcept { return impl_->buckets.size(); }
const BrokerConfig& Broker::config() const noexcept { return impl_->config; }

}  // namespace stompwire::server
