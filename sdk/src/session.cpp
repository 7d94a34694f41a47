#include "stompwire/session.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "stompwire/serializer.hpp"
#include "text.hpp"

namespace stompwire {

using detail::withNumber;

namespace {

std::optional<std::uint64_t> parseUnsigned(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  // A plain loop rather than std::from_chars: ~800 bytes less in the wasm module.
  // Saturates instead of overflowing: the caller rejects anything that large anyway.
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v > (1ull << 40) ? v : v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string versionList(const std::vector<Version>& versions) {
  // Ascending, as in the spec's examples ("1.0,1.1,1.2").
  std::string out;
  for (Version v : {Version::v1_0, Version::v1_1, Version::v1_2}) {
    if (std::find(versions.begin(), versions.end(), v) == versions.end()) continue;
    if (!out.empty()) out += ',';
    out += toString(v);
  }
  return out;
}

}  // namespace

Heartbeat negotiateHeartbeat(Version version, Millis clientSend, Millis clientReceive, Millis serverSend,
                             Millis serverReceive) noexcept {
  if (version == Version::v1_0) return {};
  Heartbeat hb;
  if (clientSend.count() > 0 && serverReceive.count() > 0) hb.send = std::max(clientSend, serverReceive);
  if (serverSend.count() > 0 && clientReceive.count() > 0) hb.expect = std::max(serverSend, clientReceive);
  return hb;
}

std::optional<HeartbeatPair> parseHeartbeat(std::string_view value) noexcept {
  auto comma = value.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto a = parseUnsigned(value.substr(0, comma));
  auto b = parseUnsigned(value.substr(comma + 1));
  // Anything above ~24 days is nonsense and would overflow the deadline arithmetic.
  constexpr std::uint64_t kMax = 1ull << 31;
  if (!a || !b || *a > kMax || *b > kMax) return std::nullopt;
  return HeartbeatPair{Millis(static_cast<Millis::rep>(*a)), Millis(static_cast<Millis::rep>(*b))};
}

std::string_view subprotocolFor(Version v) noexcept {
  switch (v) {
    case Version::v1_0: return "v10.stomp";
    case Version::v1_1: return "v11.stomp";
    case Version::v1_2: break;
  }
  return "v12.stomp";
}

struct Session::ParserSink final : FrameParser::Handler {
  explicit ParserSink(Session& s) : session(s) {}
  void onFrame(const FrameView& frame) override { session.onFrame(frame); }
  void onHeartbeat() override { session.onHeartbeat(); }
  Session& session;
};

Session::Session(SessionOptions options)
    : options_(std::move(options)), parser_(options_.limits), version_(Version::v1_0) {
  for (Version v : options_.versions) version_ = std::max(version_, v);
  parser_.setVersion(version_);
}

bool Session::offers(Version v) const noexcept {
  return std::find(options_.versions.begin(), options_.versions.end(), v) != options_.versions.end();
}

std::error_code Session::start(Millis now) {
  if (state_ != SessionState::idle) return errc::invalid_state;
  if (options_.versions.empty()) return errc::invalid_argument;
  updateTime(now);
  Frame f(options_.useStompCommand ? "STOMP" : "CONNECT");
  f.add("accept-version", versionList(options_.versions));
  if (!options_.host.empty()) f.add("host", options_.host);
  if (!options_.login.empty()) f.add("login", options_.login);
  if (!options_.passcode.empty()) f.add("passcode", options_.passcode);
  // Both are >= 0 (validated by the client; a negative one would mean "none" anyway).
  f.add("heart-beat", withNumber(withNumber({}, static_cast<std::uint64_t>(std::max<Millis::rep>(0, options_.heartbeatOutgoing.count()))) + ",",
                                 static_cast<std::uint64_t>(std::max<Millis::rep>(0, options_.heartbeatIncoming.count()))));
  for (const auto& h : options_.connectHeaders) {
    // The session owns negotiation; a custom header must not contradict it.
    if (h.name == "accept-version" || h.name == "heart-beat") continue;
    f.add(h.name, h.value);
  }
  auto ec = queue(f, {.binary = false, .contentLength = false});
  if (ec) return ec;
  state_ = SessionState::connecting;
  return {};
}

void Session::receive(std::string_view data, Millis now) {
  if (state_ == SessionState::closed || state_ == SessionState::idle) return;
  compactEvents();
  updateTime(now);
  lastReceived_ = now_;
  counters_.bytesIn += data.size();
  ParserSink sink(*this);
  auto ec = parser_.feed(data, sink);
  if (ec && state_ != SessionState::closed) fail(ec);
}

void Session::onHeartbeat() { ++counters_.heartbeatsIn; }

void Session::onFrame(const FrameView& view) {
  if (state_ == SessionState::closed) return;
  ++counters_.framesIn;
  const std::string_view cmd = view.command;

  if (cmd == "ERROR") {
    state_ = SessionState::closed;
    error_ = errc::stomp_error;
    record(SessionEvent::Type::error, view, errc::stomp_error);
    return;
  }

  if (state_ == SessionState::connecting) {
    if (cmd != "CONNECTED") return fail(errc::protocol_error);
    Version v = Version::v1_0;  // no version header: a 1.0 server
    if (auto hv = view.header("version")) {
      auto parsed = parseVersion(*hv);
      if (!parsed) return fail(errc::unsupported_version);
      v = *parsed;
    }
    if (!offers(v)) return fail(errc::unsupported_version);
    version_ = v;
    parser_.setVersion(v);  // allowed from inside the handler: applies from the next frame
    HeartbeatPair server{};
    if (auto hb = view.header("heart-beat")) {
      auto parsed = parseHeartbeat(*hb);
      if (!parsed) return fail(errc::protocol_error);
      server = *parsed;
    }
    heartbeat_ = negotiateHeartbeat(v, options_.heartbeatOutgoing, options_.heartbeatIncoming, server.first,
                                    server.second);
    state_ = SessionState::connected;
    record(SessionEvent::Type::connected, view);
    return;
  }

  // connected or disconnecting
  if (cmd == "MESSAGE") {
    record(SessionEvent::Type::message, view);
  } else if (cmd == "RECEIPT") {
    auto id = view.header("receipt-id");
    if (!id) return fail(errc::protocol_error);
    if (state_ == SessionState::disconnecting && *id == disconnectReceipt_) {
      state_ = SessionState::closed;
      record(SessionEvent::Type::disconnected, view);
    } else {
      record(SessionEvent::Type::receipt, view);
    }
  } else {
    fail(errc::protocol_error);  // CONNECTED twice, or a command a server never sends
  }
}

void Session::fail(std::error_code ec) {
  if (state_ == SessionState::closed) return;
  state_ = SessionState::closed;
  error_ = ec;
  record(SessionEvent::Type::failed, FrameView{}, ec);
}

void Session::record(SessionEvent::Type type, const FrameView& frame, std::error_code ec) {
  // One resize of the arena per frame, then plain copies (this runs for every MESSAGE).
  std::size_t total = frame.command.size() + frame.body.size();
  for (const auto& h : frame.headers) total += h.name.size() + h.value.size();
  // On the heap from the start, never in the string's inline buffer: a moved Session keeps its views.
  if (arena_.capacity() < 64) arena_.reserve(64);
  const char* const oldBase = arena_.data();
  std::size_t at = arena_.size();
  arena_.resize(at + total);
  char* const base = arena_.data();
  if (base != oldBase) {
    // Grown: move the views of the pending events along (rare: the arena keeps its capacity).
    auto rebase = [&](std::string_view& v) { v = std::string_view(base + (v.data() - oldBase), v.size()); };
    for (auto& e : events_) {
      rebase(e.command);
      rebase(e.body);
    }
    for (auto& h : headers_) {
      rebase(h.name);
      rebase(h.value);
    }
  }
  auto keep = [&](std::string_view s) {
    std::string_view v(base + at, s.size());
    if (!s.empty()) std::memcpy(base + at, s.data(), s.size());
    at += s.size();
    return v;
  };
  EventRecord r{type, ec, keep(frame.command), {}, headers_.size(), frame.headers.size()};
  for (const auto& h : frame.headers) {
    std::string_view name = keep(h.name);
    headers_.push_back({name, keep(h.value)});
  }
  r.body = keep(frame.body);
  events_.push_back(r);
}

// Only when every event was taken, so the storage of the last one handed out is what gets reused.
void Session::compactEvents() noexcept {
  if (nextEvent_ < events_.size()) return;
  arena_.clear();
  headers_.clear();
  events_.clear();
  nextEvent_ = 0;
}

Millis Session::incomingLimit() const noexcept {
  double limit = std::ceil(static_cast<double>(heartbeat_.expect.count()) * options_.heartbeatToleranceMultiplier);
  return Millis(static_cast<Millis::rep>(limit));
}

void Session::tick(Millis now) {
  compactEvents();
  updateTime(now);
  if (state_ != SessionState::connected && state_ != SessionState::disconnecting) return;
  if (heartbeat_.expect.count() > 0 && lastReceived_ && now_ - *lastReceived_ >= incomingLimit())
    return fail(errc::heartbeat_timeout);
  if (heartbeat_.send.count() > 0 && now_ - lastSent_ >= heartbeat_.send) {
    output_.push_back({std::string(kHeartbeat), false});
    ++counters_.heartbeatsOut;
    counters_.bytesOut += kHeartbeat.size();
    lastSent_ = now_;
  }
}

std::optional<Millis> Session::nextDeadline() const noexcept {
  if (state_ != SessionState::connected && state_ != SessionState::disconnecting) return std::nullopt;
  std::optional<Millis> d;
  if (heartbeat_.expect.count() > 0 && lastReceived_) d = *lastReceived_ + incomingLimit();
  if (heartbeat_.send.count() > 0) {
    Millis s = lastSent_ + heartbeat_.send;
    if (!d || s < *d) d = s;
  }
  return d;
}

std::error_code Session::queue(const Frame& frame, SendOptions options) {
  std::string wire;
  SerializeOptions so;
  so.version = version_;
  so.alwaysContentLength = options.contentLength;
  if (auto ec = serialize(frame, wire, so)) return ec;
  ++counters_.framesOut;
  counters_.bytesOut += wire.size();
  lastSent_ = now_;
  const std::size_t chunk = options_.maxWebSocketChunkSize;
  if (options_.splitLargeFrames && !options.binary && chunk > 0 && wire.size() > chunk) {
    for (std::size_t off = 0; off < wire.size(); off += chunk)
      output_.push_back({wire.substr(off, chunk), false});
  } else {
    output_.push_back({std::move(wire), options.binary});
  }
  return {};
}

std::error_code Session::sendFrame(const Frame& frame, SendOptions options) {
  if (state_ != SessionState::connected) return errc::not_connected;
  return queue(frame, options);
}

std::error_code Session::subscribe(std::string_view id, std::string_view destination, std::string_view ackMode,
                                   const std::vector<Header>& headers) {
  if (id.empty() || destination.empty()) return errc::invalid_argument;
  Frame f("SUBSCRIBE");
  f.add("destination", destination);
  f.add("id", id);
  f.add("ack", ackMode.empty() ? std::string_view("auto") : ackMode);
  for (const auto& h : headers)
    if (h.name != "destination" && h.name != "id" && h.name != "ack") f.add(h.name, h.value);
  return sendFrame(f, {.binary = false, .contentLength = false});
}

std::error_code Session::unsubscribe(std::string_view id, const std::vector<Header>& headers) {
  if (id.empty()) return errc::invalid_argument;
  Frame f("UNSUBSCRIBE");
  f.add("id", id);
  for (const auto& h : headers)
    if (h.name != "id") f.add(h.name, h.value);
  return sendFrame(f, {.binary = false, .contentLength = false});
}

std::error_code Session::send(std::string_view destination, std::string_view body, const std::vector<Header>& headers,
                              SendOptions options) {
  if (destination.empty()) return errc::invalid_argument;
  Frame f("SEND", {}, std::string(body));
  f.add("destination", destination);
  for (const auto& h : headers)
    if (h.name != "destination" && h.name != "content-length") f.add(h.name, h.value);
  return sendFrame(f, options);
}

std::error_code Session::ackOrNack(const char* command, const Frame& message, std::string_view transaction,
                                   const std::vector<Header>& headers) {
  if (state_ != SessionState::connected) return errc::not_connected;
  Frame f(command);
  if (version_ == Version::v1_2) {
    auto id = message.header("ack");
    if (!id) return errc::invalid_argument;  // the server sends `ack` only for client acknowledgement
    f.add("id", *id);
  } else {
    auto id = message.header("message-id");
    if (!id) return errc::invalid_argument;
    f.add("message-id", *id);
    if (version_ == Version::v1_1) {
      auto sub = message.header("subscription");
      if (!sub) return errc::invalid_argument;
      f.add("subscription", *sub);
    }
  }
  if (!transaction.empty()) f.add("transaction", transaction);
  for (const auto& h : headers)
    if (!f.header(h.name)) f.add(h.name, h.value);
  return queue(f, {.binary = false, .contentLength = false});
}

std::error_code Session::ack(const Frame& message, std::string_view transaction, const std::vector<Header>& headers) {
  return ackOrNack("ACK", message, transaction, headers);
}

std::error_code Session::nack(const Frame& message, std::string_view transaction, const std::vector<Header>& headers) {
  if (state_ == SessionState::connected && version_ == Version::v1_0) return errc::unsupported_version;
  return ackOrNack("NACK", message, transaction, headers);
}

std::error_code Session::begin(std::string_view transaction) {
  if (transaction.empty()) return errc::invalid_argument;
  return sendFrame(Frame("BEGIN", {{"transaction", std::string(transaction)}}), {.binary = false, .contentLength = false});
}

std::error_code Session::commit(std::string_view transaction) {
  if (transaction.empty()) return errc::invalid_argument;
  return sendFrame(Frame("COMMIT", {{"transaction", std::string(transaction)}}), {.binary = false, .contentLength = false});
}

std::error_code Session::abort(std::string_view transaction) {
  if (transaction.empty()) return errc::invalid_argument;
  return sendFrame(Frame("ABORT", {{"transaction", std::string(transaction)}}), {.binary = false, .contentLength = false});
}

std::error_code Session::disconnect(std::string_view receiptId) {
  if (receiptId.empty()) return errc::invalid_argument;
  Frame f("DISCONNECT", {{"receipt", std::string(receiptId)}});
  if (auto ec = sendFrame(f, {.binary = false, .contentLength = false})) return ec;
  disconnectReceipt_ = std::string(receiptId);
  state_ = SessionState::disconnecting;
  return {};
}

std::vector<OutgoingMessage> Session::takeOutput() {
  std::vector<OutgoingMessage> out;
  out.swap(output_);
  return out;
}

bool Session::nextEvent(SessionEventView& out) {
  if (nextEvent_ >= events_.size()) {
    compactEvents();
    return false;
  }
  const EventRecord& r = events_[nextEvent_++];
  out.type = r.type;
  out.error = r.error;
  out.frame = FrameView{r.command, std::span<const HeaderView>(headers_).subspan(r.firstHeader, r.headerCount), r.body};
  return true;
}

std::optional<SessionEvent> Session::popEvent() {
  SessionEventView v;
  if (!nextEvent(v)) return std::nullopt;
  return SessionEvent{v.type, v.frame.toFrame(), v.error};
}

}  // namespace stompwire
