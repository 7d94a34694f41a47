// The stompwire client core as a standalone WebAssembly module with a small C ABI, driven by the
// hand-written JS layer in bindings/js/stompwire.mjs (no embind, no Emscripten JS glue: ~15 KB gzipped
// saved, see TOOLCHAIN.md).
//
// Conventions of the ABI:
// - handles are pointers to heap objects owned by this module (Client, Subscription, Message,
//   Transaction, JsTransport, a beforeConnect's done); JS frees each one exactly once;
// - string arguments arrive packed in one "args" block written by JS: for a string, u32 length then the
//   bytes padded to 4; for a number, a f64. Every entry point copies what it needs out of the block
//   before it calls into the core, because a user callback may run a nested call that rewrites it;
// - frames (CONNECTED, MESSAGE, ERROR, RECEIPT) are handed to JS as a pointer to the core's FrameView (see
//   Frames out to JS), valid only during the import call; JS copies what it keeps;
// - errors are stompwire::errc values (0 = success).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "stompwire/client.hpp"

// Imports and exports are named by one letter each: every name is spelled in both the module and
// bindings/js/stompwire.mjs, and the sw_* names cost ~0.5 KB gzipped across the two. The JS binds each
// letter to the sw_* name of the function (its import table and the destructuring in instantiate()).
#define SW_IMPORT(letter) __attribute__((import_module("env"), import_name(letter)))
#define SW_EXPORT(letter) extern "C" __attribute__((used, visibility("default"), export_name(letter)))

extern "C" {
SW_IMPORT("a") double sw_now();
SW_IMPORT("b") double sw_random();
SW_IMPORT("c") void sw_timer_set(std::uint32_t id, double delay);
SW_IMPORT("d") void sw_timer_clear(std::uint32_t id);
SW_IMPORT("e") void sw_post(std::uint32_t id);  // sw_timer_fire(id) from a microtask
SW_IMPORT("f") void sw_ws_open(void* conn, std::uint32_t client, const char* url, std::size_t urlLen,
                               const std::string_view* protocols, std::size_t count);
SW_IMPORT("g") void sw_ws_send(void* conn, const char* data, std::size_t length, int binary);
SW_IMPORT("h") void sw_ws_close(void* conn, int code, const char* reason, std::size_t length);
SW_IMPORT("i") double sw_ws_buffered(void* conn);
SW_IMPORT("j") void sw_ws_release(void* conn);
// Client events: see Event below. A frame is a FrameView pointer (see Frames out to JS) and whether it
// arrived in a binary WebSocket message.
SW_IMPORT("k") void sw_event(std::uint32_t client, int kind, int a, int b, int c);
SW_IMPORT("l") void sw_message(std::uint32_t client, std::uint32_t sub, void* ackHandle, const void* frame, int binary);
}

namespace {

using namespace stompwire;

enum Event {
  evConnect = 1,       // a = frame
  evDisconnect,        // a = errc
  evStompError,        // a = frame
  evStateChange,       // a = state, b = previous, c = reason errc
  evWebSocketClose,    // a = code, b = wasClean, c = a frame whose body is the reason
  evWebSocketError,    // a = errc
  evUnhandledMessage,  // a = frame, b = binary
  evUnhandledReceipt,  // a = frame
  evPublishDone,       // a = publish key, b = errc
  evBeforeConnect,     // a = the done handle (for sw_before_connect_done)
  evDeactivated,       // a = done key
};

// An error_code's errc (0: none). The module has one error category, stompwire's (system_category is that
// one too, and generic_category is not linked: see the std namespace below), so the value is the errc.
int code(std::error_code ec) { return ec.value(); }

// ---------------------------------------------------------------------------------------------
// Frames out to JS.

// A frame goes out as the core's own FrameView, which JS reads in place ({command data, size}, {headers
// data, count}, {body data, size}: words 0-5 in wasm32; a string_view is {data, size} in libc++).
static_assert(sizeof(HeaderView) == 16 && sizeof(std::string_view) == 8);
static_assert(offsetof(FrameView, command) == 0 && offsetof(FrameView, headers) == 8 &&
                  offsetof(FrameView, body) == 16 && sizeof(std::span<const HeaderView>) == 8,
              "bindings/js/stompwire.mjs (readFrame) reads these words");
// The header block: JS reads the length of name i at word 4i+1, of value i at 4i+3 of the HeaderView
// array; the names and values go out as one block, which JS decodes with one call, together with the
// body that follows it. The frames of the core's events lie that way (client.hpp, ClientEvent): their block
// is pointed at, never copied; a message is packed first (packed() below). Not checked here at run time
// (a loop over the headers per frame, 41 B gzipped): tests/unit/core/client_hook_test.cpp checks the
// layout of event frames and kept messages, and the JS tests read every kind of frame through it.
int frameArg(const FrameView& f) { return static_cast<int>(reinterpret_cast<std::uintptr_t>(&f)); }

// A message being delivered lies where the parser left it (a kept copy is packed): it goes out packed
// into one block, reused for every message. Out of line: Forward and onEvent both send messages.
[[gnu::noinline]] const FrameView& packed(const Message& m) {
  static std::unique_ptr<char[]> block;
  static std::size_t capacity;
  static FrameView view;
  const FrameView& v = m.view();
  const std::size_t n = packedSize(v);
  if (n > capacity) {
    block.reset(new char[n]);
    capacity = n;
  }
  view = packFrame(v, block.get());
  return view;
}

// ---------------------------------------------------------------------------------------------
// Arguments in from JS.

struct Args {
  const unsigned char* p;
  // Out of line: inlined, its length/pad/advance code was copied into a dozen entry points (-60 B gz).
  [[gnu::noinline]] std::string_view str() {
    std::uint32_t n;
    std::memcpy(&n, p, 4);
    std::string_view s(reinterpret_cast<const char*>(p + 4), n);
    p += 4 + ((n + 3u) & ~3u);
    return s;
  }
  double num() {
    double d;
    std::memcpy(&d, p, 8);
    p += 8;
    return d;
  }
  Headers headers();
};

// The headers, read as a range: vector's range constructor counts them (operator++ only: nothing is
// read), allocates once and constructs each Header from *it, which reads the next name and value, in
// order. No empty Headers first that are then assigned (value-initialized std::strings, then two
// assignments each: -45 B raw, -31 B gz). The iterator category is all libc++ looks at; `reference` is
// the converting proxy, not a Header&.
struct HeaderReader {
  using iterator_category = std::forward_iterator_tag;
  using value_type = Header;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  struct Next {
    Args* a;
    operator Header() const {
      const std::string_view name = a->str();
      return Header{std::string(name), std::string(a->str())};
    }
  };
  using reference = Next;
  Args* a;
  std::size_t i;
  Next operator*() const { return {a}; }
  HeaderReader& operator++() { ++i; return *this; }
  bool operator==(const HeaderReader& o) const { return i == o.i; }
};

Headers Args::headers() {
  const auto n = static_cast<std::size_t>(num());
  return Headers(HeaderReader{this, 0}, HeaderReader{this, n});
}

// The numeric options, in the order bindings/js writes them (after brokerURL, the versions and the
// connect headers), as one table: a loop over it is smaller than a store per option. Each one arrives as
// a f64, NaN when JS leaves the default alone. The kind of each field comes from its declared type (a
// field whose type changes to one not handled here fails to compile).
enum FieldKind : std::uint8_t { fBool, fDouble, fMillis, fU32 };
template <class T>
constexpr FieldKind fieldKind() {
  if constexpr (std::is_same_v<T, bool>) return fBool;
  else if constexpr (std::is_same_v<T, double>) return fDouble;
  else if constexpr (std::is_same_v<T, Millis>) return fMillis;
  else {
    static_assert(std::is_unsigned_v<T> && sizeof(T) == 4, "an option type the table does not handle");
    return fU32;
  }
}
static_assert(std::is_standard_layout_v<ClientOptions>, "offsetof");
struct Field {
  std::uint8_t offset;
  FieldKind kind;
};
#define SW_FIELD(m) \
  Field { offsetof(ClientOptions, m), fieldKind<std::remove_cvref_t<decltype(std::declval<ClientOptions&>().m)>>() }
constexpr Field kOptionFields[] = {
    SW_FIELD(useStompCommand),
    SW_FIELD(heartbeatIncoming),
    SW_FIELD(heartbeatOutgoing),
    SW_FIELD(heartbeatToleranceMultiplier),
    SW_FIELD(connectionTimeout),
    SW_FIELD(receiptTimeout),
    SW_FIELD(disconnectTimeout),
    SW_FIELD(reconnect.enabled),
    SW_FIELD(reconnect.initialDelay),
    SW_FIELD(reconnect.maxDelay),
    SW_FIELD(reconnect.multiplier),
    SW_FIELD(reconnect.maxAttempts),
    SW_FIELD(reconnect.resetAfter),
    SW_FIELD(offlineQueue.maxMessages),
    SW_FIELD(offlineQueue.maxBytes),
    SW_FIELD(splitLargeFrames),
    SW_FIELD(maxWebSocketChunkSize),
    SW_FIELD(maxIncomingFrameSize),
};
#undef SW_FIELD

void readOptionNumbers(Args& a, ClientOptions& o) {
  for (const Field& f : kOptionFields) {
    const double d = a.num();
    if (std::isnan(d)) continue;
    void* p = reinterpret_cast<unsigned char*>(&o) + f.offset;
    switch (f.kind) {
      case fBool: *static_cast<bool*>(p) = d != 0; break;
      case fDouble: *static_cast<double*>(p) = d; break;
      case fMillis: *static_cast<Millis*>(p) = Millis(static_cast<Millis::rep>(d)); break;
      case fU32: *static_cast<std::uint32_t*>(p) = static_cast<std::uint32_t>(d); break;
    }
  }
}

// The last string result (sw_out_ptr / sw_out_len): a view of a name in the data section, of a
// transaction's id, or of `kept` (a message, the bad option's name), which owns what nothing else does. A
// view reads as two plain words (a std::string: a short/long select per read).
std::string_view out;
std::string kept;

// ---------------------------------------------------------------------------------------------
// Scheduler over JS timers.

// Timers are heap nodes in an intrusive list: no vector of std::function to grow, move and erase (whose
// instantiations cost more wasm than these few pointer operations). Posted work is a timer too, which JS
// fires from a microtask: one list, one way in (sw_timer_fire).
class JsScheduler final : public Scheduler {
 public:
  Millis now() const override { return Millis(static_cast<Millis::rep>(sw_now())); }
  TimerId schedule(Millis delay, std::function<void()> fn) override {
    const std::uint32_t id = add(std::move(fn));
    sw_timer_set(id, static_cast<double>(delay.count()));
    return id;
  }
  void cancel(TimerId id) override {
    if (Node* n = take(static_cast<std::uint32_t>(id))) {
      delete n;
      sw_timer_clear(static_cast<std::uint32_t>(id));
    }
  }
  void post(std::function<void()> fn) override { sw_post(add(std::move(fn))); }
  void fire(std::uint32_t id) {
    if (Node* n = take(id)) {
      n->fn();  // unlinked first: it may cancel or schedule timers
      delete n;
    }
  }
  std::size_t pending() const { return timerCount_; }

 private:
  struct Node {
    Node* next;
    std::uint32_t id;
    std::function<void()> fn;
  };
  // Returns the new timer's id.
  std::uint32_t add(std::function<void()>&& fn) {
    std::uint32_t id = ++seq_;
    if (id == 0) id = ++seq_;
    // Oldest first: the many timers are receipt timeouts, cancelled in the order they were armed as the
    // receipts arrive, so take() finds them at the head (newest first made a burst of N publishes with
    // receipts cost N^2/2 steps).
    Node* n = new Node{nullptr, id, std::move(fn)};
    *timersTail_ = n;
    timersTail_ = &n->next;
    ++timerCount_;
    return id;
  }
  // Unlinks the timer and returns its node (null if unknown: fired or cancelled already).
  Node* take(std::uint32_t id) {
    for (Node** link = &timers_; Node* n = *link; link = &n->next) {
      if (n->id == id) {
        *link = n->next;
        if (timersTail_ == &n->next) timersTail_ = link;
        --timerCount_;
        return n;
      }
    }
    return nullptr;
  }
  // The scheduler lives as long as the module and is never destroyed: no destructor frees the nodes.
  Node* timers_ = nullptr;
  Node** timersTail_ = &timers_;
  std::size_t timerCount_ = 0;
  std::uint32_t seq_ = 0;
};

JsScheduler scheduler;  // lives as long as the module (no static destructors: it never exits)

// ---------------------------------------------------------------------------------------------
// Transport over a JS WebSocket-like object. JS delivers its events only from the event loop, never
// while a call into this module is on the stack (bindings/js queues them), as transport.hpp requires.

class JsTransport final : public Transport {
 public:
  JsTransport(TransportListener& l, std::uint32_t client) : listener(l), client_(client) {}
  ~JsTransport() override { sw_ws_release(this); }
  // The subprotocols go out as the core's own array of string_views ({data, size} each, as in a
  // FrameView), which JS reads during the call: no list to build here.
  void open(std::string_view url, std::span<const std::string_view> subprotocols) override {
    sw_ws_open(this, client_, url.data(), url.size(), subprotocols.data(), subprotocols.size());
  }
  void send(std::string_view data, bool binary) override { sw_ws_send(this, data.data(), data.size(), binary); }
  void close(int code, std::string_view reason) override { sw_ws_close(this, code, reason.data(), reason.size()); }
  std::size_t bufferedAmount() const override {
    return static_cast<std::size_t>(sw_ws_buffered(const_cast<JsTransport*>(this)));
  }
  TransportListener& listener;

 private:
  std::uint32_t client_;
};

// ---------------------------------------------------------------------------------------------
// Clients.

// A client's handle is its Client; the JS key of the client (which its events carry) is the event
// hook's context, and the entry points that hand the core a callback get it from JS.
std::uint32_t keyOf(void* context) { return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(context)); }

// The callbacks the ABI hands the core (the events go through the event hook, onEvent below): one
// callable type for the three signatures (subscription messages, publish completions, deactivate). Size:
// it is 8 bytes and trivially copyable, so libc++'s optimized std::function
// (_LIBCPP_ABI_OPTIMIZED_FUNCTION, see CMakeLists.txt) keeps it inline with no clone/destroy code.
struct Forward {
  std::uint32_t key;   // the client's
  std::uint32_t word;  // subscription: its key; publish: its key; deactivate: the done key

  void operator()() const { sw_event(key, evDeactivated, static_cast<int>(word), 0, 0); }
  void operator()(std::error_code ec) const { sw_event(key, evPublishDone, static_cast<int>(word), code(ec), 0); }
  void operator()(const Message& m) const {
    // A handle for ack/nack only where acks exist; JS frees it after ack/nack or when collected.
    // The handle is a packed copy already: no second copy into packed()'s block.
    Message* handle = m.ackable() ? new Message(m) : nullptr;
    sw_message(key, word, handle, handle ? &handle->view() : &packed(m), m.isBinary());
  }
};
static_assert(sizeof(Forward) == 8 && std::is_trivially_copyable_v<Forward>);

// The client's events (Client::setEventHook): Event is ClientEvent + 1.
void onEvent(void* context, ClientEvent event, const void* data) {
  int a = 0, b = 0, c = 0;
  switch (event) {
    case ClientEvent::connect:
    case ClientEvent::stompError:
    case ClientEvent::unhandledReceipt:
      a = frameArg(*static_cast<const FrameView*>(data));
      break;
    case ClientEvent::disconnect:
    case ClientEvent::webSocketError:
      a = code(*static_cast<const std::error_code*>(data));
      break;
    case ClientEvent::stateChange: {
      const auto& s = *static_cast<const StateChange*>(data);
      a = static_cast<int>(s.state);
      b = static_cast<int>(s.previous);
      c = code(s.reason);
      break;
    }
    case ClientEvent::webSocketClose: {
      const auto& ev = *static_cast<const CloseEvent*>(data);
      static FrameView text;  // (static: constant-initialized, no constructor to run per event)
      text.body = ev.reason;
      a = ev.code;
      b = ev.wasClean;
      c = frameArg(text);
      break;
    }
    case ClientEvent::unhandledMessage: {
      const auto& m = *static_cast<const Message*>(data);
      a = frameArg(packed(m));
      b = m.isBinary();
      break;
    }
  }
  sw_event(keyOf(context), static_cast<int>(event) + 1, a, b, c);
}
static_assert(static_cast<int>(ClientEvent::connect) + 1 == evConnect &&
              static_cast<int>(ClientEvent::webSocketClose) + 1 == evWebSocketClose &&
              static_cast<int>(ClientEvent::unhandledReceipt) + 1 == evUnhandledReceipt);

// What a publish call returns to JS: -1 pending (evPublishDone follows), 0 done, else the errc.
int publishResult(std::uint32_t key, std::uint32_t pubKey, const PublishHandle& h) {
  if (h.done()) return code(h.error());
  h.onComplete(Forward{key, pubKey});
  return -1;
}

// Built in place, the fields in declaration order: hence the order of the args block.
PublishParams readPublish(Args& a, int flags) {
  return {.destination = std::string(a.str()),
          .body = std::string(a.str()),
          .headers = a.headers(),
          .binary = (flags & 1) != 0,
          .receipt = (flags & 2) != 0,
          .skipContentLengthHeader = (flags & 4) != 0};
}

}  // namespace

// Size: libc++'s own definitions of std::error_category's out-of-line members live in an object built
// with RTTI, whose vtables drag in typeinfo and, through it, libc++abi's
// dynamic_cast/exception-matching machinery (~3.5 KB of wasm that this -fno-rtti, -fno-exceptions
// module never runs; system_error.cpp's message formatting would also pull in snprintf, ~6 KB more).
// The same members defined here, without RTTI, keep those objects out of the link.
// They mirror libc++ 13's (src/system_error.cpp), but for system_category (below); a libc++ or a core
// that needs more from that object (generic_category, std::errc codes) fails the link with duplicate
// symbols instead of misbehaving (checked: a std::make_error_code(std::errc) here does). (The core holds
// no shared_ptr: its handles count references themselves, so libc++'s memory.cpp, with the same RTTI
// problem, is not linked either.)
namespace std {
inline namespace __2 {
error_category::~error_category() noexcept {}
// The three below serve comparisons of an error_code with an error_condition (or std::errc), which
// nothing in this module makes (the core and the ABI compare codes with codes): they are kept only by
// the categories' vtables. A future use traps loudly (a test fails) instead of answering wrongly.
error_condition error_category::default_error_condition(int) const noexcept { __builtin_trap(); }
bool error_category::equivalent(int, const error_condition&) const noexcept { __builtin_trap(); }
bool error_category::equivalent(const error_code&, int) const noexcept { __builtin_trap(); }
// The system category is stompwire's own: std::error_code's default constructor names it (an empty code,
// value 0), and nothing in this module makes a system error (no I/O), so no second category object,
// vtable and name are needed. So stompwire's is the one category of the module (generic_category is not
// linked: see above).
const error_category& system_category() noexcept { return stompwire::stompwire_category(); }

}  // namespace __2
}  // namespace std

// ---------------------------------------------------------------------------------------------
// The ABI.

SW_EXPORT("a") void* sw_alloc(std::size_t n) { return std::malloc(n); }  // (a distinct block for n = 0 too: heap.cpp)
SW_EXPORT("b") void sw_free(void* p) { std::free(p); }
// sw_heap_used: in heap.cpp.
SW_EXPORT("e") const char* sw_out_ptr() { return out.data(); }
SW_EXPORT("f") std::size_t sw_out_len() { return out.size(); }
SW_EXPORT("g") std::size_t sw_error_text(int e, int message) {
  if (message) {
    out = kept = stompwire_category().message(e);
  } else {
    out = errcName(static_cast<errc>(e));
  }
  return out.size();
}
SW_EXPORT("h") double sw_pending_work() { return static_cast<double>(scheduler.pending()); }

SW_EXPORT("i") void sw_timer_fire(std::uint32_t id) { scheduler.fire(id); }

SW_EXPORT("l") void sw_ws_message(JsTransport* t, const char* data, std::size_t n, int binary) {
  t->listener.onMessage(std::string_view(data, n), binary != 0);
}
static_assert(static_cast<int>(errc::transport_error) == 23 && static_cast<int>(errc::unauthorized) == 27 &&
                  static_cast<int>(errc::forbidden) == 28,
              "bindings/js/stompwire.mjs (socketError) passes these numbers");
// The socket's other events, one entry point:
// - 0 open: args = the subprotocol;
// - 1 error: a = the errc (unauthorized/forbidden from a handshake status, else transport_error);
// - 2 close: a = the code, b = wasClean, args = the reason.
// The text is a view into the args block, not a copy: the core reads the subprotocol (if at all) and
// copies the reason into its close event before any callback runs (one could write the block again).
SW_EXPORT("k") void sw_ws_event(JsTransport* t, int kind, int a, int b, const unsigned char* args) {
  TransportListener& l = t->listener;
  if (kind == 1) return l.onError(static_cast<errc>(a));
  const std::string_view text = Args{args}.str();
  if (kind == 0) return l.onOpen(text);
  l.onClose(a, text, b != 0);
}

int lastError = 0;
SW_EXPORT("o") int sw_last_error() { return lastError; }

// Options, in the order bindings/js writes them. Returns the Client, or null with the errc in
// sw_last_error() and the bad option's name in sw_out_*.
SW_EXPORT("p") Client* sw_client_create(std::uint32_t key, const unsigned char* args) {
  Args a{args};
  const std::string_view url = a.str();
  // The versions as bytes (Version values) as the app listed them: the core offers each once, newest first,
  // whatever the order, and refuses an unknown value (bindings/js sends 255 for one). Built in one go: no
  // push_back (whose growth path would be inlined here), no default list built and then filtered.
  static_assert(sizeof(Version) == 1);
  const std::string_view versions = a.str();
  const auto* v = reinterpret_cast<const Version*>(versions.data());
  ClientOptions o{.brokerURL = std::string(url),
                  .versions = std::vector<Version>(v, v + versions.size()),
                  .connectHeaders = a.headers()};
  readOptionNumbers(a, o);
  if (a.num() != 0) {
    // `done` goes to JS as a heap copy, which JS hands back exactly once (sw_before_connect_done): when
    // the app's beforeConnect settles, at once when a newer attempt makes it stale, or when the client
    // is disposed (so a promise that never settles leaks nothing). The core ignores a late or stale
    // call, also after the client is gone (it holds the client's link, not the client). By rvalue
    // reference: moved once, from the core's argument straight to the heap.
    o.beforeConnect = [key](BeforeConnectDone&& done) {
      sw_event(key, evBeforeConnect,
               static_cast<int>(reinterpret_cast<std::uintptr_t>(new BeforeConnectDone(std::move(done)))), 0, 0);
    };
  }
  auto r = Client::create(
      std::move(o),
      [key](TransportListener& l) -> std::unique_ptr<Transport> { return std::make_unique<JsTransport>(l, key); },
      scheduler, [] { return sw_random(); });
  if (!r.client) {
    lastError = code(r.error);
    out = kept = std::move(r.what);  // moved: no string copy-assignment in the module
    return nullptr;
  }
  r.client->setEventHook(onEvent, reinterpret_cast<void*>(static_cast<std::uintptr_t>(key)));
  return r.client.release();
}

// Destroys the client: no callback of it runs afterwards (pending publishes are failed by JS).
SW_EXPORT("q") void sw_client_destroy(Client* c) { delete c; }

SW_EXPORT("r") void sw_activate(Client* c) { c->activate(); }
SW_EXPORT("s") void sw_deactivate(Client* c, int force, std::uint32_t key, std::uint32_t doneKey) {
  c->deactivate({.force = force != 0}, Forward{key, doneKey});
}
// Runs and frees a `done` of evBeforeConnect.
SW_EXPORT("t") void sw_before_connect_done(BeforeConnectDone* done, int error) {
  (*done)(error ? std::error_code(errc::before_connect_failed) : std::error_code());
  delete done;
}
SW_EXPORT("u") int sw_state(Client* c) { return static_cast<int>(c->state()); }
SW_EXPORT("v") void sw_set_connect_headers(Client* c, const unsigned char* args) {
  Args a{args};
  c->setConnectHeaders(a.headers());
}

// -1 for none. Out of line: its three inlined copies cost 13 B gz more than the calls.
[[gnu::noinline]] static double optMillis(const std::optional<Millis>& v) { return v ? static_cast<double>(v->count()) : -1.0; }
SW_EXPORT("w") const double* sw_metrics(Client* c) {
  static double m[19];
  Metrics x = c->metrics();
  double values[19] = {static_cast<double>(x.state), static_cast<double>(x.attempts), static_cast<double>(x.reconnects),
                       static_cast<double>(x.connects), static_cast<double>(x.consecutiveFailures),
                       static_cast<double>(x.framesIn), static_cast<double>(x.framesOut),
                       static_cast<double>(x.bytesIn), static_cast<double>(x.bytesOut),
                       static_cast<double>(x.heartbeatsIn), static_cast<double>(x.heartbeatsOut),
                       static_cast<double>(x.queueDepth), static_cast<double>(x.queueBytes),
                       static_cast<double>(x.pendingReceipts), static_cast<double>(x.subscriptions),
                       optMillis(x.lastReceivedAt), optMillis(x.lastReceiptRtt), optMillis(x.nextAttemptAt),
                       static_cast<double>(code(x.lastError))};
  std::memcpy(m, values, sizeof m);
  return m;
}

// args: destination, headers (may carry id and ack). Returns the Subscription, its error in sw_last_error()
// (refused: still a handle to free).
SW_EXPORT("x") Subscription* sw_subscribe(Client* c, std::uint32_t key, std::uint32_t subKey, const unsigned char* args) {
  Args a{args};
  // The arguments are built in the parameters (no moved-from temporaries); the destination's view is taken
  // first, as the block orders them.
  const std::string_view destination = a.str();
  auto* s = new Subscription(c->subscribe(std::string(destination), Forward{key, subKey}, a.headers()));
  lastError = code(s->error());
  return s;
}
SW_EXPORT("z") int sw_unsubscribe(Subscription* s, const unsigned char* args) {
  Args a{args};
  return code(s->unsubscribe(a.headers()));
}
SW_EXPORT("A") void sw_sub_free(Subscription* s) { delete s; }

// In transaction tx if not null, else on client c. key: the client's (events go to it; read from JS, as
// publishing may run callbacks). flags: 1 binary, 2 receipt, 4 no content-length. args: destination,
// body, headers.
SW_EXPORT("B") int sw_publish(Client* c, Transaction* tx, std::uint32_t key, std::uint32_t pubKey, int flags,
                              const unsigned char* args) {
  Args a{args};
  PublishParams p = readPublish(a, flags);
  PublishHandle h = tx ? tx->publish(std::move(p)) : c->publish(std::move(p));
  return publishResult(key, pubKey, h);
}

SW_EXPORT("C") int sw_ack(Message* m, int nack, Transaction* tx, const unsigned char* args) {
  Args a{args};
  Headers headers = a.headers();
  std::error_code ec;
  if (tx) {
    ec = nack ? tx->nack(*m, headers) : tx->ack(*m, headers);
  } else {
    ec = nack ? m->nack(headers) : m->ack(headers);
  }
  return code(ec);
}
SW_EXPORT("D") void sw_message_free(Message* m) { delete m; }

// args: id ("" for a generated one). Returns the Transaction, its error in sw_last_error() (failed: still a
// handle to free) and its id in sw_out_*.
SW_EXPORT("E") Transaction* sw_begin(Client* c, const unsigned char* args) {
  Args a{args};
  auto* tx = new Transaction(c->begin(std::string(a.str())));
  out = tx->id();
  lastError = code(tx->error());
  return tx;
}
SW_EXPORT("G") int sw_tx_end(Transaction* tx, int commit) { return code(commit ? tx->commit() : tx->abort()); }
SW_EXPORT("I") void sw_tx_free(Transaction* tx) { delete tx; }
