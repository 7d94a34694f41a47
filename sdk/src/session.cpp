#include "stompwire/session.hpp"

#include <algorithm>
#include <cmath>

#include "stompwire/serializer.hpp"
#include "text.hpp"

namespace stompwire {

using namespace std::string_view_literals;

Heartbeat negotiateHeartbeat(Version version, Millis clientSend, Millis clientReceive, Millis serverSend,
                             Millis serverReceive) noexcept {
  if (version == Version::v1_0) return {};
  Heartbeat hb;
  if (clientSend.count() > 0 && serverReceive.count() > 0) hb.send = std::max(clientSend, serverReceive);
  if (serverSend.count() > 0 && clientReceive.count() > 0) hb.expect = std::max(serverSend, clientReceive);
  return hb;
}

std::optional<HeartbeatPair> parseHeartbeat(std::string_view value) noexcept {
  // "cx,cy": two decimal numbers, each with optional spaces around it. One pass rather than split +
  // trim + std::from_chars: less code in the wasm module. Saturates instead of overflowing.
  std::uint64_t v[2] = {0, 0};
  int part = 0;
  int at = 0;  // in the current part: 0 before its digits, 1 in them, 2 after them
  for (char c : value) {
    if (c == ',' && part == 0 && at != 0) {
      part = 1;
      at = 0;
    } else if (c == ' ') {
      at += at == 1;
    } else if (c < '0' || c > '9' || at == 2) {
      return std::nullopt;
    } else {
      at = 1;
      v[part] = v[part] > (1ull << 40) ? v[part] : v[part] * 10 + static_cast<std::uint64_t>(c - '0');
    }
  }
  // Anything above ~24 days is nonsense and would overflow the deadline arithmetic.
  constexpr std::uint64_t kMax = 1ull << 31;
  if (part == 0 || at == 0 || v[0] > kMax || v[1] > kMax) return std::nullopt;
  return HeartbeatPair{Millis(static_cast<Millis::rep>(v[0])), Millis(static_cast<Millis::rep>(v[1]))};
}

std::string_view subprotocolFor(Version v) noexcept {
  switch (v) {
    case Version::v1_0: return "v10.stomp"sv;
    case Version::v1_1: return "v11.stomp"sv;
    case Version::v1_2: break;
  }
  return "v12.stomp"sv;
}

struct Session::ParserSink final : FrameParser::Handler {
  explicit ParserSink(Session& s) : session(s) {}
  void onFrame(const FrameView& frame) override { session.onFrame(frame); }
  void onHeartbeat() override { session.onHeartbeat(); }
  Session& session;
};

// Not inlined into its caller (the client's onTransportOpen, itself inlined into the transport's onOpen):
// that function is smaller with a call (-19 B raw, -13 B gz in the wasm module).
[[gnu::noinline]] Session::Session(const SessionOptions& options)
    : options_(options), parser_(options_.limits), version_(Version::v1_0) {
  for (Version v : options_.versions) {
    version_ = std::max(version_, v);
    offered_ |= 1 << static_cast<int>(v);
  }
  parser_.setVersion(version_);
}

std::error_code Session::start(Millis now) {
  if (state_ != SessionState::idle) return errc::invalid_state;
  if (!offered_) return errc::invalid_argument;
  updateTime(now);
  auto w = writer(options_.useStompCommand ? "STOMP"sv : "CONNECT"sv);
  // Ascending, as in the spec's examples ("1.0,1.1,1.2"). On the stack: no std::string temporaries.
  char versions[12];
  std::size_t n = 0;
  for (int v = 0; v < 3; ++v) {
    if (!offers(static_cast<Version>(v))) continue;
    if (n) versions[n++] = ',';
    versions[n++] = '1';
    versions[n++] = '.';
    versions[n++] = static_cast<char>('0' + v);
  }
  w.own("accept-version"sv, {versions, n});
  // Both are >= 0 (validated by the client; a negative one would mean "none" anyway).
  char heartbeat[41];
  char* end = detail::putNumber(heartbeat, static_cast<std::uint64_t>(std::max<Millis::rep>(0, options_.heartbeatOutgoing.count())));
  *end++ = ',';
  end = detail::putNumber(end, static_cast<std::uint64_t>(std::max<Millis::rep>(0, options_.heartbeatIncoming.count())));
  w.own("heart-beat"sv, {heartbeat, static_cast<std::size_t>(end - heartbeat)});
  // The session owns negotiation; a custom header must not contradict it.
  w.headers(options_.connectHeaders);
  auto ec = emit(w);
  if (ec) return ec;
  state_ = SessionState::connecting;
  return {};
}

void Session::receive(std::string_view data, Millis now) {
  if (state_ == SessionState::closed || state_ == SessionState::idle) return;
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
  using Type = SessionEvent::Type;
  const std::string_view cmd = view.command;
  Type type = Type::failed;
  std::error_code ec = errc::protocol_error;  // CONNECTED twice, or a command a server never sends
  if (cmd == "ERROR"sv) {
    type = Type::error;
    ec = errc::stomp_error;
  } else if (state_ == SessionState::connecting) {
    if (cmd == "CONNECTED"sv) ec = negotiate(view);
    if (!ec) {
      type = Type::connected;
      state_ = SessionState::connected;
    }
  } else if (cmd == "MESSAGE"sv) {
    type = Type::message;
    ec = {};
  } else if (cmd == "RECEIPT"sv) {
    if (auto id = view.header("receipt-id"sv)) {
      type = state_ == SessionState::disconnecting && *id == disconnectReceipt_ ? Type::disconnected : Type::receipt;
      ec = {};
    }
  }
  if (type == Type::failed) return fail(ec);
  if (type == Type::error || type == Type::disconnected) {
    state_ = SessionState::closed;
    error_ = ec;
  }
  report(type, view, ec);
}

std::error_code Session::negotiate(const FrameView& connected) {
  Version v = Version::v1_0;  // no version header: a 1.0 server
  if (auto hv = connected.header("version"sv)) {
    auto parsed = parseVersion(*hv);
    if (!parsed) return errc::unsupported_version;
    v = *parsed;
  }
  if (!offers(v)) return errc::unsupported_version;
  version_ = v;
  parser_.setVersion(v);  // allowed from inside the handler: applies from the next frame
  HeartbeatPair server{};
  if (auto hb = connected.header("heart-beat"sv)) {
    auto parsed = parseHeartbeat(*hb);
    if (!parsed) return errc::protocol_error;
    server = *parsed;
  }
  heartbeat_ = negotiateHeartbeat(v, options_.heartbeatOutgoing, options_.heartbeatIncoming, server.first, server.second);
  const double limit = std::ceil(static_cast<double>(heartbeat_.expect.count()) * options_.heartbeatToleranceMultiplier);
  silenceLimit_ = Millis(static_cast<Millis::rep>(limit));
  return {};
}

void Session::fail(std::error_code ec) {
  if (state_ == SessionState::closed) return;
  state_ = SessionState::closed;
  error_ = ec;
  report(SessionEvent::Type::failed, FrameView{}, ec);
}

void Session::tick(Millis now) {
  updateTime(now);
  if (state_ != SessionState::connected && state_ != SessionState::disconnecting) return;
  if (heartbeat_.expect.count() > 0 && lastReceived_ && now_ - *lastReceived_ >= silenceLimit_)
    return fail(errc::heartbeat_timeout);
  if (heartbeat_.send.count() > 0 && now_ - lastSent_ >= heartbeat_.send) {
    if (options_.transport) options_.transport->send(kHeartbeat, false);
    ++counters_.heartbeatsOut;
    counters_.bytesOut += kHeartbeat.size();
    lastSent_ = now_;
  }
}

std::optional<Millis> Session::nextDeadline() const noexcept {
  if (state_ != SessionState::connected && state_ != SessionState::disconnecting) return std::nullopt;
  std::optional<Millis> d;
  if (heartbeat_.expect.count() > 0 && lastReceived_) d = *lastReceived_ + silenceLimit_;
  if (heartbeat_.send.count() > 0) {
    Millis s = lastSent_ + heartbeat_.send;
    if (!d || s < *d) d = s;
  }
  return d;
}

detail::FrameWriter Session::writer(std::string_view command) {
  out_.clear();
  return detail::FrameWriter(out_, command, version_);
}

std::error_code Session::emit(detail::FrameWriter& w, std::string_view body, SendOptions options) {
  return transmit(w.finish(body, options.contentLength), options.binary);
}

std::error_code Session::emit(detail::FrameWriter& w) { return emit(w, {}, {.binary = false, .contentLength = false}); }

std::error_code Session::transmit(std::error_code ec, bool binary) {
  if (ec) return ec;
  const std::size_t size = out_.size();
  ++counters_.framesOut;
  counters_.bytesOut += size;
  lastSent_ = now_;
  if (!options_.transport) return {};
  // STOMP frames may span WebSocket messages (the server reassembles them): a large text frame goes
  // in chunks when asked; a binary one never.
  const std::size_t chunk = options_.maxWebSocketChunkSize;
  const std::size_t cut = options_.splitLargeFrames && !binary && chunk > 0 ? chunk : size;
  const char* const data = out_.data();
  for (std::size_t off = 0; off < size; off += cut)
    options_.transport->send({data + off, std::min(cut, size - off)}, binary);
  return {};
}

std::error_code Session::sendFrame(const Frame& frame, SendOptions options) {
  if (state_ != SessionState::connected) return errc::not_connected;
  out_.clear();
  SerializeOptions so;
  so.version = version_;
  so.alwaysContentLength = options.contentLength;
  return transmit(serialize(frame, out_, so), options.binary);
}

std::error_code Session::subscribe(std::string_view id, std::string_view destination, std::string_view ackMode,
                                   const std::vector<Header>& headers) {
  if (id.empty() || destination.empty()) return errc::invalid_argument;
  if (state_ != SessionState::connected) return errc::not_connected;
  auto w = writer("SUBSCRIBE"sv);
  w.own("destination"sv, destination);
  w.own("id"sv, id);
  w.own("ack"sv, ackMode.empty() ? "auto"sv : ackMode);
  w.headers(headers);
  return emit(w);
}

std::error_code Session::unsubscribe(std::string_view id, const std::vector<Header>& headers) {
  if (id.empty()) return errc::invalid_argument;
  if (state_ != SessionState::connected) return errc::not_connected;
  auto w = writer("UNSUBSCRIBE"sv);
  w.own("id"sv, id);
  w.headers(headers);
  return emit(w);
}

std::error_code Session::send(std::string_view destination, std::string_view body, const std::vector<Header>& headers,
                              SendOptions options, std::span<const HeaderView> trailing) {
  if (destination.empty()) return errc::invalid_argument;
  if (state_ != SessionState::connected) return errc::not_connected;
  auto w = writer("SEND"sv);
  w.own("destination"sv, destination);
  w.headers(headers);  // a content-length header is replaced by the real one anyway
  for (const auto& h : trailing) w.header(h.name, h.value);
  return emit(w, body, options);
}

// `message`: a Frame or a FrameView. Only the headers the version needs are looked up.
template <class Message>
std::error_code Session::ackOrNack(bool nack, const Message& message, std::string_view transaction,
                                   const std::vector<Header>& headers) {
  if (state_ != SessionState::connected) return errc::not_connected;
  if (nack && version_ == Version::v1_0) return errc::unsupported_version;
  auto w = writer(nack ? "NACK"sv : "ACK"sv);
  // The caller's headers may not repeat or override ours (the first of a name wins on the broker).
  if (version_ == Version::v1_2) {
    auto ackId = message.header("ack"sv);
    if (!ackId) return errc::invalid_argument;  // the server sends `ack` only for client acknowledgement
    w.own("id"sv, *ackId);
  } else {
    auto messageId = message.header("message-id"sv);
    if (!messageId) return errc::invalid_argument;
    w.own("message-id"sv, *messageId);
    if (version_ == Version::v1_1) {
      auto subscription = message.header("subscription"sv);
      if (!subscription) return errc::invalid_argument;
      w.own("subscription"sv, *subscription);
    }
  }
  if (!transaction.empty()) w.own("transaction"sv, transaction);
  w.headers(headers, true);
  return emit(w);
}

std::error_code Session::ack(const Frame& message, std::string_view transaction, const std::vector<Header>& headers) {
  return ackOrNack(false, message, transaction, headers);
}

std::error_code Session::nack(const Frame& message, std::string_view transaction, const std::vector<Header>& headers) {
  return ackOrNack(true, message, transaction, headers);
}

std::error_code Session::acknowledge(const FrameView& message, bool nack, std::string_view transaction,
                                     const std::vector<Header>& headers) {
  return ackOrNack(nack, message, transaction, headers);
}

std::error_code Session::transactionFrame(std::string_view command, std::string_view transaction) {
  if (transaction.empty()) return errc::invalid_argument;
  if (state_ != SessionState::connected) return errc::not_connected;
  auto w = writer(command);
  w.header("transaction"sv, transaction);
  return emit(w);
}

std::error_code Session::begin(std::string_view transaction) { return transactionFrame("BEGIN"sv, transaction); }
std::error_code Session::commit(std::string_view transaction) { return transactionFrame("COMMIT"sv, transaction); }
std::error_code Session::abort(std::string_view transaction) { return transactionFrame("ABORT"sv, transaction); }
std::error_code Session::endTransaction(bool commit, std::string_view transaction) {
  return transactionFrame(commit ? "COMMIT"sv : "ABORT"sv, transaction);
}

std::error_code Session::disconnect(std::string_view receiptId) {
  if (receiptId.empty()) return errc::invalid_argument;
  if (state_ != SessionState::connected) return errc::not_connected;
  auto w = writer("DISCONNECT"sv);
  w.header("receipt"sv, receiptId);
  if (auto ec = emit(w)) return ec;
  disconnectReceipt_.assign(receiptId.data(), receiptId.size());
  state_ = SessionState::disconnecting;
  return {};
}

}  // namespace stompwire
