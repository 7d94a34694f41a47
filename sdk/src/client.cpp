// The client policy. How it stays safe under re-entrancy:
// - the implementation is reference-counted (detail::Counted); deliver() holds a reference while
//   callbacks run, and so does every entry point that touches the client after a delivery (the transport
//   events and the timers, around the session's receive() and tick()), so destroying the Client from a
//   callback only marks the implementation `destroyed_` (and cuts the handles' link to it) and the
//   running code unwinds without touching freed memory. The other entry points (activate, deactivate, publish, a
//   beforeConnect completion) end with their deliver() and need no reference of their own;
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
#include <cstring>
#include <new>
#include <utility>

#include "stompwire/session.hpp"
#include "text.hpp"

namespace stompwire {

// String literals where a view is taken are `sv` literals: their length is a constant (a plain literal
// compiles to a strlen call per use in the wasm build).
using namespace std::string_view_literals;

namespace detail {

// Size (the wasm module is budgeted): every container element type instantiates its own growth, move
// and erase code. So every list of the client (notifications, listeners, subscriptions, the offline
// queue, the publishes awaiting a receipt, completion callbacks) is one non-template intrusive list
// of heap nodes, which also never moves an element and erases in O(1).
struct Link {
  Link* prev;
  Link* next;
};

// Null-terminated, with head and tail pointers: an empty list is all zero bytes, so the client (which
// holds seven) starts with nothing to link up. Not copyable or movable (splice() moves the nodes).
class List {
 public:
  List() = default;
  List(const List&) = delete;
  List& operator=(const List&) = delete;
  bool empty() const { return !head_; }
  std::size_t size() const { return size_; }
  Link* first() const { return head_; }  // null when empty; the last node's `next` is null
  void pushBack(Link* n) {
    n->prev = tail_;
    n->next = nullptr;
    (tail_ ? tail_->next : head_) = n;
    tail_ = n;
    ++size_;
  }
  void remove(Link* n) {
    (n->prev ? n->prev->next : head_) = n->next;
    (n->next ? n->next->prev : tail_) = n->prev;
    --size_;
  }
  // Appends every node of `from` (leaving it empty). Node by node (size: remove and pushBack exist
  // anyway): every caller walks the nodes it moves, or moves a few.
  void splice(List& from) {
    while (Link* n = from.first()) {
      from.remove(n);
      pushBack(n);
    }
  }

 private:
  Link* head_ = nullptr;
  Link* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Calls f(T&) for each node; f may remove (and delete) the node it gets.
template <class T, class F>
void forEach(const List& l, F&& f) {
  for (Link* p = l.first(); p;) {
    Link* next = p->next;
    f(*static_cast<T*>(p));
    p = next;
  }
}

// The first node for which match(T&) holds, or null.
template <class T, class F>
T* findIn(const List& l, F&& match) {
  for (Link* p = l.first(); p; p = p->next)
    if (match(*static_cast<T*>(p))) return static_cast<T*>(p);
  return nullptr;
}

// Deletes every node as a T.
template <class T>
void deleteAll(List& l) {
  while (!l.empty()) {
    Link* n = l.first();
    l.remove(n);
    delete static_cast<T*>(n);
  }
}

// Relaxed to add (taking a reference needs one already held), acquire-release to drop (whoever drops
// the last sees every other holder's writes before destroying), as shared_ptr does. (The GCC/Clang
// builtins: std::atomic_ref is missing from Emscripten's libc++.)
[[gnu::noinline]] void retain(const Counted* c) noexcept {
  if (c) __atomic_fetch_add(&c->refs, 1u, __ATOMIC_RELAXED);
}
void release(const Counted* c) noexcept {
  if (c && __atomic_sub_fetch(&c->refs, 1u, __ATOMIC_ACQ_REL) == 0) c->destroy(c);
}

// How handles (Subscription, Transaction, a kept Message, a beforeConnect `done`) reach the client: what
// a weak_ptr would do. The client clears `client` when the Client is destroyed (shutdown(), even while a
// callback that destroyed it still runs); the link lives on while handles hold it.
struct ClientLink final : Counted {
  explicit ClientLink(ClientImpl* c)
      : Counted{0, [](const Counted* p) { delete static_cast<const ClientLink*>(p); }}, client(c) {}
  ClientImpl* client;
};

// The client `link` reaches, or null once it is gone (or for an empty handle).
inline ClientImpl* reach(const Ref<ClientLink>& link) { return link ? link->client : nullptr; }

// A borrowed state lives on the stack of the delivery and its `view` points where the session's parser
// left the frame; an owned one holds the frame's bytes and `view` points into those. The Frame is built only
// if frame() or headers() is asked for (the Frame-returning accessors of the API, a Frame listener).
struct MessageState final : Counted {
  FrameView view;
  mutable std::unique_ptr<Frame> frame;  // built on demand
  // An owned state's one block, laid out by packFrame(): the header views, then the command, the header
  // names and values and the body back to back (as the wasm ABI hands frames to JS).
  std::unique_ptr<char[]> block;
  bool borrowed = false;
  bool binary = false;
  bool acks = false;  // from a client or client-individual subscription
  mutable bool settled = false;  // ACKed or NACKed once: brokers reject a second one for the same message
  Ref<ClientLink> client;
  std::uint64_t epoch = 0;

  const Frame& owned() const {
    if (!frame) frame = std::make_unique<Frame>(view.toFrame());
    return *frame;
  }
};

// An owned copy of `view`: what a queued message or frame notification keeps, in one allocation.
// (Unreferenced: the caller holds it.)
MessageState* ownedFrame(const FrameView& view) {
  static_assert(alignof(HeaderView) <= alignof(std::max_align_t));
  auto* c = new MessageState;
  c->destroy = [](const Counted* p) { delete static_cast<const MessageState*>(p); };
  c->block.reset(new char[packedSize(view)]);  // aligned for any type
  c->view = packFrame(view, c->block.get());
  return c;
}

Ref<const MessageState> ownedCopy(const MessageState& m) {
  auto c = ownedFrame(m.view);
  c->binary = m.binary;
  c->acks = m.acks;
  c->client = m.client;
  c->epoch = m.epoch;
  return Ref<const MessageState>(c);
}

namespace {

constexpr std::string_view kAckModes[] = {"auto", "client", "client-individual"};

constexpr int kCloseNormal = 1000;
// Browsers accept only 1000 and 3000-4999 from close(); 4000 marks "the client gave up on this connection".
constexpr int kCloseFailure = 4000;

void addCounters(SessionCounters& to, const SessionCounters& s) {
  to.framesIn += s.framesIn;
  to.framesOut += s.framesOut;
  to.bytesIn += s.bytesIn;
  to.bytesOut += s.bytesOut;
  to.heartbeatsIn += s.heartbeatsIn;
  to.heartbeatsOut += s.heartbeatsOut;
}

// (Other categories by errc::transport_error's name: the text lives once, in the error table.)
std::string_view reasonText(std::error_code ec) {
  return errcName(ec.category() == stompwire_category() ? static_cast<errc>(ec.value()) : errc::transport_error);
}

}  // namespace

// Size: every distinct callable type stored in a std::function instantiates its own set of functions.
// So notifications are one Note type, timers one Task type, and listeners of all events one list.

// The user-visible events (the order of the Client::on* listeners), then internal notifications.
enum class NoteKind : std::uint8_t {
  connect,           // message->frame
  disconnect,        // ec
  stompError,        // message->frame
  stateChange,       // change
  webSocketClose,    // close
  webSocketError,    // ec
  unhandledMessage,  // (listeners only: a Message)
  unhandledReceipt,  // message->frame
  publishDone,       // done(ec)
  call,              // fn()
  beforeConnect,     // options.beforeConnect(done) if `epoch` is still connecting
};

static_assert(static_cast<int>(NoteKind::connect) == static_cast<int>(ClientEvent::connect) &&
              static_cast<int>(NoteKind::webSocketClose) == static_cast<int>(ClientEvent::webSocketClose) &&
              static_cast<int>(NoteKind::unhandledReceipt) == static_cast<int>(ClientEvent::unhandledReceipt));

// The members that start as zero bytes first, together: the constructor fills them in one go (error codes
// and std::function start with pointers).
struct Note : Link {
  NoteKind kind;
  std::uint64_t epoch = 0;
  Ref<const MessageState> message;  // also the frame of connect, stompError, unhandledReceipt
  CloseEvent close;
  std::error_code ec;
  StateChange change{};
  BeforeConnectDone done;  // a publish's completion callback (one note each), or beforeConnect's `done`
  std::function<void()> fn;
};

// Default-initialized: every member has an initializer but the links (set by the list) and `kind`. (The
// one place that makes a Note: its constructor is inlined here.)
Note* newNote(NoteKind kind) {
  Note* n = new Note;
  n->kind = kind;
  return n;
}

struct PublishState final : Counted {
  PublishState() : Counted{0, [](const Counted* p) { delete static_cast<const PublishState*>(p); }} {}
  // The members that start as zero bytes together, the error code (a category pointer) last: one fill.
  PublishStatus status = PublishStatus::queued;
  std::string receiptId;
  std::uint64_t receipt = 0;  // the number in receiptId: what its receipt timer looks it up by
  Millis sentAt{0};  // when its SEND was written (the receipt's round trip)
  // publishDone Notes, one per onComplete, queued as they are when it completes. (Empty when the state is
  // destroyed: until it is done, its Outgoing holds it, and shutdown() completes every Outgoing.)
  List callbacks;
  std::error_code error;
};

// A node that may have to outlive its list while callbacks run (a listener or a subscription removed
// by its own callback): removed from its list, it waits in ClientImpl::dropped_ until the delivery ends.
struct Node : Link {
  void (*destroy)(Node*);
};

// The std::function with the event's signature lives in a ListenerOf<Arg>; `call` invokes it.
struct Listener : Node {
  ListenerId id;
  NoteKind event;
  void (*call)(const Listener* l, const void* arg);
};

template <class Arg>
struct ListenerOf final : Listener {
  std::function<void(Arg)> fn;
  // `arg` as emit() has it: the MessageState of a frame event (its Frame built on demand), else the value.
  static void invoke(const Listener* l, const void* arg) {
    auto& f = static_cast<const ListenerOf*>(l)->fn;
    if (!f) return;
    if constexpr (std::is_same_v<Arg, const Frame&>) {
      f(static_cast<const MessageState*>(arg)->owned());
    } else {
      f(*static_cast<const std::remove_cvref_t<Arg>*>(arg));
    }
  }
  static void free(Node* n) { delete static_cast<ListenerOf*>(n); }
};

class Connection;

enum class TaskKind : std::uint8_t { connectTimeout, reconnect, disconnectTimeout, tick, receiptTimeout };

// What every timer of the client runs: a raw pointer and a word, trivially copyable and as small as a
// std::function stores inline (no clone/destroy code per callable). It holds the client without a
// reference: every timer id sits in a slot (connectTimer_..., Outgoing::timer) until it fires or is
// cancelled, and shutdown() cancels them all, so no timer runs once the Client is destroyed.
struct Task {
  static constexpr std::uint32_t kMask = (1u << 29) - 1;
  ClientImpl* client;
  std::uint32_t kind : 3;    // a TaskKind
  std::uint32_t value : 29;  // the attempt's epoch, or the receipt number of a receiptTimeout (low bits)
  void operator()() const;
};
static_assert(std::is_trivially_copyable_v<Task> && sizeof(Task) <= 2 * sizeof(void*));

// Counted: the Client holds one reference, and code that runs callbacks holds another while it runs
// (see the top of this file).
class ClientImpl final : public Counted {
 public:
  // By reference: every hop by value would move (and destroy) the options once more.
  ClientImpl(ClientOptions&& options, TransportFactory&& factory, Scheduler& scheduler, RandomSource&& random)
      : Counted{0, [](const Counted* p) { delete static_cast<const ClientImpl*>(p); }},
        options_(std::move(options)),
        factory_(std::move(factory)),
        sched_(scheduler),
        random_(std::move(random)),
        link_(new ClientLink(this)) {}
  // No destructor body: the Client calls shutdown() before it lets go of its reference, and that empties
  // every list (listeners_, subs_, notes_, deactivateDone_; stop() finishes queue_ and pending_; dropped_
  // empties when the delivery ends, which holds a reference). Nothing is added to them after shutdown():
  // handles find no client, and the code still running unwinds without queueing (every entry point ends
  // in deliver(); shutdown() retires the connection, whose session's remaining events go nowhere).

  // Public API.
  void activate();
  void deactivate(DeactivateOptions opts, std::function<void()>&& done);
  void shutdown();
  ClientState state() const noexcept { return state_; }
  const ClientOptions& options() const noexcept { return options_; }
  // Into options_ itself: a separate copy made at creation would cost a vector copy where the client is
  // created (inlined into the wasm ABI's sw_client_create). (swap: no move-assignment code)
  void setConnectHeaders(Headers&& h) { options_.connectHeaders.swap(h); }
  Metrics metrics() const;
  Subscription subscribe(std::string&& destination, MessageCallback&& cb, Headers&& headers);
  std::error_code unsubscribe(const std::string& id, const Headers& headers);
  // One unsubscribed while callbacks run waits in dropped_ until the delivery ends: its callback may be
  // the one running.
  struct Sub final : Node {
    // From views: built with the string's (pointer, size) constructor, which the module has anyway; its
    // copy constructor is a function of its own that nothing else needs.
    Sub(std::string_view i, std::string_view dest, std::uint8_t ack, Headers&& h, MessageCallback&& cb)
        : Node{{}, [](Node* n) { delete static_cast<Sub*>(n); }},
          id(i),
          destination(dest),
          ackMode(ack),
          headers(std::move(h)),
          callback(std::move(cb)) {}
    std::string id;
    std::string destination;
    std::uint8_t ackMode = 0;  // index in kAckModes
    Headers headers;  // as given to subscribe() (Session::subscribe skips destination, id and ack)
    MessageCallback callback;
  };
  // Subscription `id`, or null. (One search for every lookup.)
  Sub* findSub(std::string_view id) const {
    return findIn<Sub>(subs_, [&](const Sub& s) { return s.id == id; });
  }
  bool hasSubscription(const std::string& id) const { return findSub(id); }
  // Client::publish and Transaction::publish (`tx` non-null). `c` null (a transaction's client is gone):
  // failed with invalid_state. One function for every outcome: a refusal is a handle like any other.
  static PublishHandle publish(ClientImpl* c, PublishParams&& params, const Transaction* tx);
  std::error_code submit(PublishState& st, PublishParams&& params, const std::string* transaction);
  std::error_code addSubscription(const std::string& destination, MessageCallback&& cb, Headers&& headers,
                                  std::string& id);
  Transaction begin(std::string&& id);
  static std::error_code txCommand(Transaction& tx, bool commit);  // commit() or abort()
  std::error_code ackMessage(const MessageState& m, bool ack, std::string_view transaction, const Headers& headers);
  // Message::ack/nack and Transaction::ack/nack (tx non-null).
  static std::error_code settle(const Message& m, bool ack, const Transaction* tx, const Headers& headers);
  std::error_code checkTransaction(const Transaction& tx) const;

  ListenerId addListener(Listener* l) {
    walkListeners_ = [](ClientImpl& c, NoteKind event, const void* arg) { c.callListeners(event, arg); };
    l->id = ++listenerSeq_;
    listeners_.pushBack(l);
    return l->id;
  }
  bool removeListener(ListenerId id) {
    Listener* l = findIn<Listener>(listeners_, [&](const Listener& x) { return x.id == id; });
    if (!l) return false;
    listeners_.remove(l);
    drop(l);
    return true;
  }
  void setEventHook(EventHook hook, void* context) {
    hook_ = hook;
    hookContext_ = context;
  }
  void runTask(TaskKind kind, std::uint32_t value);

  // Transport and session events, from Connection.
  void onTransportOpen(Connection* c, std::string_view subprotocol);
  void onTransportMessage(Connection* c, std::string_view data, bool binary);
  void onSessionEvent(const SessionEvent& ev);
  void onTransportClose(Connection* c, int code, std::string_view reason, bool wasClean);
  void onTransportError(Connection* c, std::error_code ec);

  void deliver();
  // `n`, already removed from its list, is destroyed now or (while callbacks run) when the delivery ends.
  void drop(Node* n) {
    if (delivering_) {
      dropped_.pushBack(n);
    } else {
      n->destroy(n);
    }
  }
  void dropAll(List& l) {
    while (!l.empty()) {
      auto* n = static_cast<Node*>(l.first());
      l.remove(n);
      drop(n);
    }
  }
  static void destroyAll(List& l) {
    // One at a time: a destructor may call back into the client.
    while (!l.empty()) {
      auto* n = static_cast<Node*>(l.first());
      l.remove(n);
      n->destroy(n);
    }
  }
  void endDelivery() {
    delivering_ = false;
    destroyAll(dropped_);
  }

 private:
  struct Outgoing : Link {
    // (The state by reference: the member is the one reference taken, no temporary Ref to copy.)
    Outgoing(PublishParams&& p, PublishState& st, std::size_t n, bool tx)
        : params(std::move(p)), state(&st), bytes(n), transactional(tx) {}
    PublishParams params;
    Ref<PublishState> state;
    std::size_t bytes = 0;
    TimerId timer = 0;
    bool transactional = false;  // a transactional SEND is never re-sent: the broker aborted its transaction
  };

  Note& enqueue(NoteKind kind) {
    Note* n = newNote(kind);
    notes_.pushBack(n);
    return *n;
  }
  void enqueue(NoteKind kind, std::error_code ec) { enqueue(kind).ec = ec; }
  void enqueueFrame(NoteKind kind, const FrameView& frame) {
    enqueue(kind).message = Ref<const MessageState>(ownedFrame(frame));
  }
  void run(Note& note);
  void emit(NoteKind event, const void* arg);
  void callListeners(NoteKind event, const void* arg);
  bool notesPending() const noexcept { return !notes_.empty(); }
  void setState(ClientState s, std::error_code reason = {});
  void startAttempt();
  void openTransport();
  void onBeforeConnectDone(std::uint64_t epoch, std::error_code ec);
  void onMessage(const FrameView& frame);
  void onConnected(const FrameView& frame);
  void handleFailure(std::error_code ec);
  void finishDeactivate(std::error_code reason);
  void stop();
  // Connected for resetAfter: the failure count starts over when this connection ends.
  bool stable() const {
    return state_ == ClientState::connected && now() - connectedAt_ >= options_.reconnect.resetAfter;
  }
  void retireConnection(int code, std::string_view reason);
  void armTick();
  void cancelTimer(TimerId& id) {
    if (id) sched_.cancel(id);
    id = 0;
  }
  std::error_code sendPublish(PublishState& st, const PublishParams& p, const std::string* transaction);
  // Done with `o`: its receipt timer cancelled, its state completed, removed from `list` and deleted.
  void finish(List& list, Outgoing& o, std::error_code ec) {
    cancelTimer(o.timer);
    complete(*o.state, ec);
    list.remove(&o);
    delete &o;
  }
  void complete(PublishState& st, std::error_code ec);
  void failAllPublishes(std::error_code ec);
  void onReceiptTimeout(std::uint32_t receipt);
  Millis now() const { return sched_.now(); }
  // The session, its clock moved to now (for heart-beat accounting), before a command.
  Session& live() {
    session_->updateTime(now());
    return *session_;
  }
  // Starts the timer of `slot` (cancelling one still there, so that every live timer has a slot that
  // shutdown() cancels). `value`: the epoch of the attempt it belongs to, or a receipt number.
  void arm(TimerId& slot, Millis delay, TaskKind kind, std::uint64_t value = 0) {
    cancelTimer(slot);
    if (destroyed_) return;
    slot = sched_.schedule(delay, Task{this, static_cast<std::uint32_t>(kind), static_cast<std::uint32_t>(value & Task::kMask)});
  }

  ClientOptions options_;
  TransportFactory factory_;
  Scheduler& sched_;
  RandomSource random_;
  Ref<ClientLink> link_;

  // Grouped by how they start (size: the constructor is inlined where the client is created): the error
  // codes, then everything that starts as zero bytes (the lists too).
  std::error_code transportError_;
  std::error_code lastError_;

  List notes_;      // of Note: deliver() takes them from the front
  List listeners_;  // of Listener, in id order
  List dropped_;    // of Node: removed while delivering_, destroyed when the delivery ends
  List subs_;       // of Sub
  List queue_;      // of Outgoing: the offline queue, in publish order
  // Of Outgoing: sent with a receipt, not confirmed yet, in send order. Receipts mostly arrive in send
  // order, so the one a RECEIPT confirms is mostly the first.
  List pending_;
  List deactivateDone_;  // of Note (call): queued when the client is inactive

  ClientState state_ = ClientState::inactive;
  bool destroyed_ = false;
  bool delivering_ = false;
  bool currentBinary_ = false;
  EventHook hook_ = nullptr;
  void* hookContext_ = nullptr;

  Ref<Connection> conn_;
  // conn_'s session, once open. Owned by the connection: a callback may retire the connection while it
  // reads a message borrowed from the session's parser, and a retired connection is destroyed only from
  // Scheduler::post (retireConnection), after the delivery.
  Session* session_ = nullptr;
  std::uint64_t epoch_ = 0;

  TimerId connectTimer_ = 0, reconnectTimer_ = 0, tickTimer_ = 0, disconnectTimer_ = 0;
  Millis tickAt_{0};
  std::size_t queueBytes_ = 0;

  std::uint32_t failures_ = 0;
  Millis connectedAt_{0};
  SessionCounters totals_{};
  std::uint64_t attempts_ = 0, reconnects_ = 0, connects_ = 0;

  std::uint64_t listenerSeq_ = 0, subSeq_ = 0, receiptSeq_ = 0, txSeq_ = 0, disconnectSeq_ = 0;

  // Last: an empty optional initializes only its flag, which would split the zero fill above.
  std::optional<Millis> nextAttemptAt_;
  std::optional<Millis> lastReceiptRtt_;
  std::optional<Millis> lastReceivedAt_;
  // callListeners once a listener was added. Size: a build that never adds one (the wasm module has the
  // event hook) does not carry the listeners' walk. (After the optionals: a pointer among the members
  // above would leave a hole in their zero fill before the 8-byte ones.)
  void (*walkListeners_)(ClientImpl& c, NoteKind event, const void* arg) = nullptr;
};

// Counted: the client holds its current one, and a retired one waits in a posted function (see
// retireConnection).
class Connection final : public TransportListener, public SessionListener, public Counted {
 public:
  explicit Connection(ClientImpl* c)
      : Counted{0, [](const Counted* p) { delete static_cast<const Connection*>(p); }}, client(c) {}
  std::unique_ptr<Transport> transport;
  std::optional<Session> session;  // after onOpen
  // Cleared when the client retires this connection (always before the client is destroyed): a late
  // event of a retired connection goes nowhere.
  ClientImpl* client;
  bool closed = false;

  // Each event holds the client while it runs: a callback may destroy the Client.
  void onOpen(std::string_view subprotocol) override {
    if (Ref<ClientImpl> c{client}) c->onTransportOpen(this, subprotocol);
  }
  void onMessage(std::string_view data, bool binary) override {
    if (Ref<ClientImpl> c{client}) c->onTransportMessage(this, data, binary);
  }
  void onClose(int code, std::string_view reason, bool wasClean) override {
    if (Ref<ClientImpl> c{client}) c->onTransportClose(this, code, reason, wasClean);
  }
  void onError(std::error_code ec) override {
    if (Ref<ClientImpl> c{client}) c->onTransportError(this, ec);
  }
  // From inside the session's receive() or tick(), which the client calls holding itself.
  void onEvent(const SessionEvent& ev) override {
    if (client) client->onSessionEvent(ev);
  }
};

// ------------------------------------------------------------------------------------------------
// State, notifications

void ClientImpl::deliver() {
  if (delivering_) return;  // the outer loop delivers what a callback queued
  if (!notesPending()) return;  // the common case on the message path: nothing queued (and notes_ is empty)
  Ref<ClientImpl> self(this);
  delivering_ = true;
  while (!destroyed_ && notesPending()) {
    std::unique_ptr<Note> note(static_cast<Note*>(notes_.first()));
    notes_.remove(note.get());  // taken out first: run() may destroy the client (and the list's notes)
    run(*note);
  }
  endDelivery();
}

void ClientImpl::run(Note& n) {
  switch (n.kind) {
    case NoteKind::publishDone:
      n.done(n.ec);
      return;
    case NoteKind::call:
      n.fn();
      return;
    case NoteKind::beforeConnect:
      // An earlier callback may have cancelled this attempt: then the hook is not called at all.
      if (n.epoch == epoch_ && state_ == ClientState::connecting) options_.beforeConnect(std::move(n.done));
      return;
    case NoteKind::connect:
    case NoteKind::stompError:
    case NoteKind::unhandledReceipt:
      return emit(n.kind, n.message.get());
    case NoteKind::disconnect:
    case NoteKind::webSocketError:
      return emit(n.kind, &n.ec);
    case NoteKind::stateChange:
      return emit(n.kind, &n.change);
    case NoteKind::webSocketClose:
      return emit(n.kind, &n.close);
    case NoteKind::unhandledMessage:
      return;
  }
}

// The event hook, then the listeners (through walkListeners_, set once one is added).
void ClientImpl::emit(NoteKind event, const void* arg) {
  if (hook_) {
    const bool frame =
        event == NoteKind::connect || event == NoteKind::stompError || event == NoteKind::unhandledReceipt;
    hook_(hookContext_, static_cast<ClientEvent>(event), frame ? &static_cast<const MessageState*>(arg)->view : arg);
  }
  if (walkListeners_) walkListeners_(*this, event, arg);
}

// Runs the listeners of `event` that exist now, so that they may add or remove listeners (or destroy
// everything) meanwhile: one added meanwhile waits for the next event, one removed by an earlier one is
// skipped. Walks by id (listeners_ stays in id order) instead of copying the list.
void ClientImpl::callListeners(NoteKind event, const void* arg) {
  const ListenerId newest = listenerSeq_;
  for (ListenerId after = 0; !destroyed_;) {
    const Listener* l =
        findIn<Listener>(listeners_, [&](const Listener& x) { return x.id > after && x.event == event; });
    if (!l || l->id > newest) return;
    after = l->id;
    // A listener that removes itself (or destroys the client) stays alive in dropped_ while it runs.
    l->call(l, arg);
  }
}

void Task::operator()() const { client->runTask(static_cast<TaskKind>(kind), value); }

void ClientImpl::runTask(TaskKind kind, std::uint32_t value) {
  Ref<ClientImpl> self(this);
  const bool current = value == (epoch_ & Task::kMask);
  switch (kind) {
    case TaskKind::connectTimeout:
      connectTimer_ = 0;
      if (current && state_ == ClientState::connecting) handleFailure(errc::connect_timeout);
      break;
    case TaskKind::reconnect:
      reconnectTimer_ = 0;
      if (state_ == ClientState::reconnecting) {
        ++reconnects_;
        startAttempt();
      }
      break;
    case TaskKind::disconnectTimeout:
      disconnectTimer_ = 0;
      if (current && state_ == ClientState::deactivating) finishDeactivate({});
      break;
    case TaskKind::tick:
      tickTimer_ = 0;
      if (current && session_) {
        session_->tick(now());
        armTick();
      }
      break;
    case TaskKind::receiptTimeout:
      onReceiptTimeout(value);
      break;
  }
  deliver();
}

void ClientImpl::setState(ClientState s, std::error_code reason) {
  if (s == state_) return;
  StateChange& change = enqueue(NoteKind::stateChange).change;  // (nextAttemptAt starts empty)
  change.state = s;
  change.previous = state_;
  change.reason = reason;
  state_ = s;
  if (s == ClientState::reconnecting) {
    change.nextAttemptAt = nextAttemptAt_;
  } else {
    nextAttemptAt_ = std::nullopt;
  }
}

Metrics ClientImpl::metrics() const {
  Metrics m;
  m.state = state_;
  m.attempts = attempts_;
  m.reconnects = reconnects_;
  m.connects = connects_;
  m.consecutiveFailures = failures_;
  // The count resets when a stable connection ends; report it as reset as soon as it is stable.
  if (stable()) m.consecutiveFailures = 0;
  SessionCounters c = totals_;
  if (session_) addCounters(c, session_->counters());
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
  // (No reconnect timer to cancel: it just fired, or the client was inactive or failed.)
  setState(ClientState::connecting);
  const std::uint64_t epoch = epoch_;
  if (options_.connectionTimeout.count() > 0) {
    arm(connectTimer_, options_.connectionTimeout, TaskKind::connectTimeout, epoch);
  }
  if (options_.beforeConnect) {
    // Once only needs no flag: the first call opens a connection or fails the attempt, and either
    // makes onBeforeConnectDone ignore the epoch's later calls.
    BeforeConnectDone done = [link = link_, epoch](std::error_code ec) {
      if (ClientImpl* c = reach(link)) c->onBeforeConnectDone(epoch, ec);
    };
    Note& n = enqueue(NoteKind::beforeConnect);
    n.epoch = epoch;
    n.done.swap(done);  // (into a new, empty one: a swap is three plain swaps, less code than a move assignment)
  } else {
    openTransport();
  }
}

void ClientImpl::onBeforeConnectDone(std::uint64_t epoch, std::error_code ec) {
  if (epoch != epoch_ || state_ != ClientState::connecting || conn_) return;
  if (ec) {
    handleFailure(errc::before_connect_failed);
  } else {
    openTransport();
  }
  deliver();
}

void ClientImpl::openTransport() {
  conn_ = Ref<Connection>(new Connection(this));
  conn_->transport = factory_(*conn_);  // (never empty: create() refuses that)
  if (!conn_->transport) {
    handleFailure(errc::transport_error);
    return;
  }
  // Newest first, each offered version once.
  static_assert(static_cast<int>(Version::v1_0) == 0 && static_cast<int>(Version::v1_2) == 2);
  unsigned offered = 0;
  for (Version v : options_.versions) offered |= 1u << static_cast<int>(v);
  std::string_view protocols[3];
  std::size_t n = 0;
  for (int v = static_cast<int>(Version::v1_2); v >= 0; --v)
    if (offered >> v & 1) protocols[n++] = subprotocolFor(static_cast<Version>(v));
  conn_->transport->open(options_.brokerURL, std::span<const std::string_view>(protocols, n));
}

void ClientImpl::retireConnection(int code, std::string_view reason) {
  ++epoch_;
  cancelTimer(reconnectTimer_);  // (for stop(): one runs only while there is no connection)
  cancelTimer(connectTimer_);
  cancelTimer(tickTimer_);
  cancelTimer(disconnectTimer_);
  if (session_) {
    addCounters(totals_, session_->counters());
    session_ = nullptr;
  }
  if (conn_) {
    Ref<Connection> old = std::move(conn_);
    old->client = nullptr;
    if (old->transport && !old->closed) old->transport->close(code, reason);
    // Never destroy a transport inside its own callback: we may be in one right now.
    sched_.post([old = std::move(old)] {});  // destroyed with the posted function, after it ran
  }
}

void ClientImpl::handleFailure(std::error_code ec) {
  const bool wasConnected = state_ == ClientState::connected;
  if (state_ == ClientState::deactivating) return finishDeactivate(ec);
  if (state_ == ClientState::inactive || state_ == ClientState::failed) return;
  retireConnection(kCloseFailure, reasonText(ec));
  lastError_ = ec;
  forEach<Outgoing>(pending_, [&](Outgoing& o) {
    if (o.transactional) finish(pending_, o, errc::connection_closed);
  });
  if (stable()) failures_ = 0;  // (the state is still the one the failure ended)
  ++failures_;
  if (wasConnected) enqueue(NoteKind::disconnect, ec);
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
  arm(reconnectTimer_, delay, TaskKind::reconnect);
  setState(ClientState::reconnecting, ec);
}

void ClientImpl::deactivate(DeactivateOptions opts, std::function<void()>&& done) {
  if (done) {
    Note* n = newNote(NoteKind::call);
    n->fn.swap(done);  // (as in startAttempt: no move assignment)
    deactivateDone_.pushBack(n);
  }
  if (state_ == ClientState::connected && !opts.force) {
    // Graceful: DISCONNECT with a receipt; the client is inactive once it arrives (or the timeout).
    std::string receipt;
    setNumbered(receipt, "disconnect-"sv, ++disconnectSeq_);
    if (live().disconnect(receipt)) {
      finishDeactivate({});
    } else {
      setState(ClientState::deactivating);
      if (options_.disconnectTimeout.count() > 0) {
        arm(disconnectTimer_, options_.disconnectTimeout, TaskKind::disconnectTimeout, epoch_);
      }
    }
  } else if (state_ != ClientState::deactivating || opts.force) {
    finishDeactivate({});  // (a graceful one already under way goes on)
  }
  deliver();
}

// What deactivating and shutting down share: no connection, no timer, every publish failed.
void ClientImpl::stop() {
  retireConnection(kCloseNormal, ""sv);
  failAllPublishes(errc::deactivated);
}

void ClientImpl::finishDeactivate(std::error_code reason) {
  const bool hadSession = state_ == ClientState::connected || state_ == ClientState::deactivating;
  stop();
  failures_ = 0;
  if (hadSession) enqueue(NoteKind::disconnect, reason);
  setState(ClientState::inactive, reason);
  notes_.splice(deactivateDone_);
}

void ClientImpl::shutdown() {  // (once: from ~Client)
  destroyed_ = true;
  // From here the client is unreachable but for the code running now: handles find no client (so the
  // entry points they lead to need no destroyed_ check), the connection is retired below and every
  // timer is cancelled.
  link_->client = nullptr;
  // Every unfinished publish is in queue_ or pending_: all of them are done (failed) from here on, so
  // onComplete runs a later callback at once; the ones registered already are dropped with notes_.
  stop();
  dropAll(subs_);
  dropAll(listeners_);
  notes_.splice(deactivateDone_);
  deleteAll<Note>(notes_);
}

// ------------------------------------------------------------------------------------------------
// Transport and session events. These need no `self` reference: Connection holds one while
// it calls them. They come only from the current connection of a client that is not destroyed: a
// connection stops forwarding when it is retired (Connection::client), and shutdown() retires it.

void ClientImpl::onTransportOpen(Connection* c, std::string_view) {
  if (session_ || state_ != ClientState::connecting) return;
  // Views of options_, which outlives the session: nothing is copied per connection.
  session_ = &c->session.emplace(SessionOptions{.versions = options_.versions,
                                                .connectHeaders = options_.connectHeaders,
                                                .transport = c->transport.get(),
                                                .listener = c,
                                                .useStompCommand = options_.useStompCommand,
                                                .heartbeatOutgoing = options_.heartbeatOutgoing,
                                                .heartbeatIncoming = options_.heartbeatIncoming,
                                                .heartbeatToleranceMultiplier = options_.heartbeatToleranceMultiplier,
                                                .limits = {.maxFrameSize = options_.maxIncomingFrameSize,
                                                           .maxBodySize = options_.maxIncomingFrameSize},
                                                .splitLargeFrames = options_.splitLargeFrames,
                                                .maxWebSocketChunkSize = options_.maxWebSocketChunkSize});
  if (auto ec = session_->start(now())) handleFailure(ec);
  deliver();
}

void ClientImpl::onTransportMessage(Connection*, std::string_view data, bool binary) {
  if (!session_) return;  // (a transport that reports a message before it opened)
  currentBinary_ = binary;
  const Millis t = now();
  lastReceivedAt_ = t;
  session_->receive(data, t);  // its events are handled (and delivered) meanwhile: onSessionEvent
  armTick();
}

void ClientImpl::onTransportError(Connection*, std::error_code ec) {
  transportError_ = ec;
  lastError_ = ec;
  enqueue(NoteKind::webSocketError, ec);
  deliver();
}

void ClientImpl::onTransportClose(Connection* c, int code, std::string_view reason, bool wasClean) {
  CloseEvent& close = enqueue(NoteKind::webSocketClose).close;
  close.code = code;
  close.reason = reason;
  close.wasClean = wasClean;
  c->closed = true;  // retire it without closing it again
  handleFailure(transportError_ ? transportError_ : std::error_code(errc::connection_closed));
  deliver();
}

void ClientImpl::armTick() {
  if (!session_) return;  // an event of the session's retired the connection
  auto deadline = session_->nextDeadline();
  if (!deadline) {
    cancelTimer(tickTimer_);
    return;
  }
  if (tickTimer_ && tickAt_ <= *deadline) return;  // fires early at worst, then re-arms
  tickAt_ = *deadline;
  arm(tickTimer_, std::max(Millis(0), *deadline - now()), TaskKind::tick, epoch_);
}

void ClientImpl::onMessage(const FrameView& frame) {
  const std::string_view subId = frame.header("subscription"sv).value_or(""sv);
  const Sub* sub = findSub(subId);
  MessageState m;
  m.refs = 1;  // the stack's: never destroyed through a reference
  m.view = frame;
  m.borrowed = true;
  m.binary = currentBinary_;
  m.acks = sub && sub->ackMode != 0;
  m.client = link_;
  m.epoch = epoch_;
  // Nothing is queued before it and no callback runs: each session event is delivered before the next
  // (onSessionEvent), and a transport never reports a message from inside a callback (transport.hpp).
  // So the frame goes to the callback where the parser left it (the session stays alive meanwhile: a
  // retired connection is destroyed from Scheduler::post).
  delivering_ = true;
  const Message msg{Ref<const MessageState>(&m)};
  if (sub) {
    sub->callback(msg);
  } else {
    emit(NoteKind::unhandledMessage, &msg);
  }
  endDelivery();
}

// Called by the session from inside receive() or tick(), for the current connection only
// (Connection::onEvent): a callback that retires the connection stops the rest.
void ClientImpl::onSessionEvent(const SessionEvent& ev) {
  switch (ev.type) {
    case SessionEvent::Type::connected:
      onConnected(ev.frame);
      break;
    case SessionEvent::Type::message:
      onMessage(ev.frame);
      break;
    case SessionEvent::Type::receipt: {
      auto id = ev.frame.header("receipt-id"sv).value_or(""sv);
      if (auto* o = findIn<Outgoing>(pending_, [&](const Outgoing& x) { return x.state->receiptId == id; })) {
        lastReceiptRtt_ = now() - o->state->sentAt;
        finish(pending_, *o, {});
      } else {
        enqueueFrame(NoteKind::unhandledReceipt, ev.frame);
      }
      break;
    }
    case SessionEvent::Type::disconnected:
      finishDeactivate({});
      break;
    case SessionEvent::Type::error:
      enqueueFrame(NoteKind::stompError, ev.frame);
      [[fallthrough]];  // its error is stomp_error
    case SessionEvent::Type::failed:
      handleFailure(ev.error);
      break;
  }
  deliver();
}

void ClientImpl::onConnected(const FrameView& frame) {
  cancelTimer(connectTimer_);
  connectedAt_ = now();
  ++connects_;
  lastError_ = {};
  session_->updateTime(connectedAt_);
  // Order on the wire: subscriptions, then unconfirmed publishes (they were sent first), then the
  // offline queue, so a reconnect preserves publish order.
  forEach<Sub>(subs_,
               [&](const Sub& s) { session_->subscribe(s.id, s.destination, kAckModes[s.ackMode], s.headers); });
  // The state change is queued before the publish completions (notifications only run after this).
  setState(ClientState::connected);
  // The offline queue joins the unconfirmed ones (all of those have a receipt): one pass sends them all
  // and keeps the ones with a receipt.
  pending_.splice(queue_);
  queueBytes_ = 0;
  forEach<Outgoing>(pending_, [&](Outgoing& o) {
    auto ec = sendPublish(*o.state, o.params, nullptr);  // (none is transactional: handleFailure finished those)
    if (ec || !o.params.receipt) finish(pending_, o, ec);  // (no timer without a receipt)
  });
  enqueueFrame(NoteKind::connect, frame);
}

// ------------------------------------------------------------------------------------------------
// Publish, receipts

std::error_code ClientImpl::sendPublish(PublishState& st, const PublishParams& p, const std::string* transaction) {
  HeaderView trailing[2];
  std::size_t n = 0;
  if (transaction) trailing[n++] = {"transaction"sv, *transaction};
  if (p.receipt) trailing[n++] = {"receipt"sv, st.receiptId};
  auto ec = live().send(p.destination, p.body, p.headers,
                        {.binary = p.binary, .contentLength = !p.skipContentLengthHeader},
                        std::span<const HeaderView>(trailing, n));
  if (ec) return ec;
  st.sentAt = now();
  if (p.receipt) st.status = PublishStatus::sent;
  return {};
}

// (Only through finish(): a state is kept by one Outgoing until it is done, and is done only there.)
void ClientImpl::complete(PublishState& st, std::error_code ec) {
  st.status = ec ? PublishStatus::failed : PublishStatus::completed;
  st.error = ec;
  while (Link* n = st.callbacks.first()) {
    st.callbacks.remove(n);
    static_cast<Note*>(n)->ec = ec;
    notes_.pushBack(n);
  }
}

void ClientImpl::failAllPublishes(std::error_code ec) {
  queueBytes_ = 0;
  // Unconfirmed ones first, the queue after them: they were published earlier. (complete() only queues
  // notes: no callback runs in between.)
  pending_.splice(queue_);
  while (!pending_.empty()) finish(pending_, *static_cast<Outgoing*>(pending_.first()), ec);
}

// A publish leaves queue_/pending_ only together with cancelling its timer, so a timer that fires finds it.
// The timer knows the low 29 bits of the receipt number: should two live publishes share them (2^29
// receipts apart), the oldest, the first found (pending_ holds earlier receipts than queue_), is the
// one whose timer fires first, as all receipt timers have the same timeout.
void ClientImpl::onReceiptTimeout(std::uint32_t receipt) {
  const auto match = [&](const Outgoing& o) { return (o.state->receipt & Task::kMask) == receipt; };
  List* list = &pending_;
  Outgoing* o = findIn<Outgoing>(pending_, match);
  if (!o) {
    list = &queue_;
    o = findIn<Outgoing>(queue_, match);
    if (!o) return;
    queueBytes_ -= o->bytes;
  }
  finish(*list, *o, errc::receipt_timeout);
}

PublishHandle ClientImpl::publish(ClientImpl* c, PublishParams&& params, const Transaction* tx) {
  Ref<PublishState> st(new PublishState);
  std::error_code ec = errc::invalid_state;
  if (c) {
    ec = tx ? c->checkTransaction(*tx) : std::error_code();
    if (!ec) ec = c->submit(*st, std::move(params), tx ? &tx->id_ : nullptr);
  }
  if (ec) {
    st->status = PublishStatus::failed;
    st->error = ec;
  }
  return PublishHandle(std::move(st));
}

std::error_code ClientImpl::submit(PublishState& st, PublishParams&& params, const std::string* transaction) {
  if (params.destination.empty()) return errc::invalid_argument;
  if (params.receipt) {
    st.receipt = ++receiptSeq_;
    setNumbered(st.receiptId, "rcpt-"sv, st.receipt);
  }

  std::size_t bytes = 0;
  if (state_ == ClientState::connected) {
    if (auto ec = sendPublish(st, params, transaction)) return ec;
    if (!params.receipt) {
      // Done: nothing keeps the message (the common case needs no queue entry).
      st.status = PublishStatus::completed;
      return {};
    }
  } else if (transaction) {
    // Transactional sends are never queued: the transaction lives and dies with the connection.
    return errc::connection_closed;
  } else if (state_ == ClientState::deactivating) {
    return errc::deactivated;
  } else {
    bytes = params.body.size() + params.destination.size();
    for (const auto& h : params.headers) bytes += h.name.size() + h.value.size();
    const auto& q = options_.offlineQueue;
    if (queue_.size() + 1 > q.maxMessages || queueBytes_ + bytes > q.maxBytes) return errc::queue_full;
  }

  // Kept until confirmed (pending_, re-sent after a reconnect) or sent (queue_).
  auto* o = new Outgoing(std::move(params), st, bytes, transaction != nullptr);
  if (o->params.receipt && options_.receiptTimeout.count() > 0) {
    arm(o->timer, options_.receiptTimeout, TaskKind::receiptTimeout, st.receipt);
  }
  if (st.status == PublishStatus::sent) {
    pending_.pushBack(o);
  } else {
    queueBytes_ += bytes;
    queue_.pushBack(o);
  }
  deliver();
  return {};
}

// ------------------------------------------------------------------------------------------------
// Subscriptions, acks, transactions

Subscription ClientImpl::subscribe(std::string&& destination, MessageCallback&& cb, Headers&& headers) {
  std::string id;
  auto ec = addSubscription(destination, std::move(cb), std::move(headers), id);
  return Subscription(link_, std::move(id), std::move(destination), ec);
}

// `id` receives the subscription's id (also for a refused duplicate or bad ack mode, as the caller gave it).
std::error_code ClientImpl::addSubscription(const std::string& destination, MessageCallback&& cb,
                                            Headers&& headers, std::string& id) {
  // Checked on views first: the Sub is made only once the subscription is accepted.
  std::string_view given, ack = kAckModes[0];
  for (const auto& h : headers) {
    const std::string_view name = h.name;
    if (name == "id"sv && given.empty()) {
      given = h.value;
    } else if (name == "ack"sv) {
      ack = h.value;
    }
  }
  if (destination.empty() || !cb) return errc::invalid_argument;
  id.assign(given.data(), given.size());
  std::uint8_t ackMode = 0;
  while (ackMode < 3 && kAckModes[ackMode] != ack) ++ackMode;
  if (ackMode == 3) return errc::invalid_argument;
  if (id.empty()) {
    do {
      setNumbered(id, "sub-"sv, subSeq_++);
    } while (findSub(id));
  } else if (findSub(id)) {
    return errc::invalid_argument;
  }
  // All of `headers` is kept: Session::subscribe writes its own destination, id and ack and skips those.
  Sub* s = new Sub(id, destination, ackMode, std::move(headers), std::move(cb));
  subs_.pushBack(s);
  if (state_ == ClientState::connected) {
    live().subscribe(s->id, s->destination, kAckModes[ackMode], s->headers);
  }
  return {};
}

std::error_code ClientImpl::unsubscribe(const std::string& id, const Headers& headers) {
  Sub* sub = findSub(id);
  if (!sub) return errc::invalid_state;
  subs_.remove(sub);
  drop(sub);
  if (state_ == ClientState::connected) {
    auto ec = live().unsubscribe(id, headers);
    return ec;
  }
  return {};
}

std::error_code ClientImpl::settle(const Message& m, bool ack, const Transaction* tx, const Headers& headers) {
  if (!m.state_) return errc::invalid_state;
  // No reference needed while it runs: acknowledging runs no callback.
  ClientImpl* c = reach(tx ? tx->client_ : m.state_->client);
  if (!c) return errc::invalid_state;
  if (tx) {
    if (auto ec = c->checkTransaction(*tx)) return ec;
  }
  return c->ackMessage(*m.state_, ack, tx ? std::string_view(tx->id_) : std::string_view(), headers);
}

std::error_code ClientImpl::ackMessage(const MessageState& m, bool ack, std::string_view transaction,
                                       const Headers& headers) {
  if (!m.acks) return errc::invalid_state;
  if (m.epoch != epoch_ || state_ != ClientState::connected) return errc::connection_closed;
  if (m.settled) return errc::invalid_state;
  auto ec = live().acknowledge(m.view, !ack, transaction, headers);
  // Inside a transaction the broker settles it at COMMIT (and forgets it at ABORT, so it may be acked again).
  if (!ec && transaction.empty()) m.settled = true;
  return ec;
}

Transaction ClientImpl::begin(std::string&& id) {
  if (id.empty()) setNumbered(id, "tx-"sv, ++txSeq_);
  std::error_code ec = errc::not_connected;
  std::uint64_t epoch = 0;
  if (state_ == ClientState::connected) {
    ec = live().begin(id);
    epoch = epoch_;
  }
  return Transaction(link_, std::move(id), epoch, ec);
}

std::error_code ClientImpl::checkTransaction(const Transaction& tx) const {
  if (tx.error_) return tx.error_;
  if (tx.finished_) return errc::invalid_state;
  if (tx.connection_ != epoch_ || state_ != ClientState::connected) return errc::connection_closed;
  return {};
}

std::error_code ClientImpl::txCommand(Transaction& tx, bool commit) {
  ClientImpl* c = reach(tx.client_);  // (no callback runs: no reference needed)
  if (!c) return errc::invalid_state;
  if (auto ec = c->checkTransaction(tx)) return ec;
  auto ec = c->live().endTransaction(commit, tx.id_);
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

// The name of the first bad option, or null. Out of line: inlined into Client::create (and so into the
// wasm ABI's sw_client_create) it made that function bigger than the call does (-16 B raw).
[[gnu::noinline]] static const char* firstBadOption(const ClientOptions& o) {
  if (o.brokerURL.empty()) return "brokerURL";
  if (o.versions.empty()) return "versions";
  for (Version v : o.versions)
    if (v != Version::v1_0 && v != Version::v1_1 && v != Version::v1_2) return "versions";
  for (const auto& h : o.connectHeaders)
    if (h.name.empty()) return "connectHeaders";
  if (o.heartbeatIncoming.count() < 0) return "heartbeatIncoming";
  if (o.heartbeatOutgoing.count() < 0) return "heartbeatOutgoing";
  if (!(o.heartbeatToleranceMultiplier >= 1.0) || o.heartbeatToleranceMultiplier > 100.0)
    return "heartbeatToleranceMultiplier";
  if (o.connectionTimeout.count() < 0) return "connectionTimeout";
  if (o.receiptTimeout.count() < 0) return "receiptTimeout";
  if (o.disconnectTimeout.count() < 0) return "disconnectTimeout";
  const auto& r = o.reconnect;
  // 0 would retry in a tight loop against a server that refuses at once; use enabled = false to stop.
  if (r.initialDelay.count() <= 0 && r.enabled) return "reconnect.initialDelay";
  if (r.maxDelay < r.initialDelay) return "reconnect.maxDelay";
  if (!(r.multiplier >= 1.0) || r.multiplier > 1000.0) return "reconnect.multiplier";
  if (r.resetAfter.count() < 0) return "reconnect.resetAfter";
  if (o.splitLargeFrames && o.maxWebSocketChunkSize == 0) return "maxWebSocketChunkSize";
  if (o.maxIncomingFrameSize < 64) return "maxIncomingFrameSize";
  return nullptr;
}

std::error_code validate(const ClientOptions& o, std::string* what) {
  const char* name = firstBadOption(o);
  if (!name) return {};
  if (what) *what = name;
  return errc::invalid_argument;
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
  detail::Ref<detail::PublishState> st(new detail::PublishState);
  st->status = PublishStatus::failed;
  st->error = ec;
  return PublishHandle(std::move(st));
}
void PublishHandle::onComplete(std::function<void(std::error_code)> fn) const {
  if (!state_ || !fn) return;
  if (done()) {
    fn(state_->error);
  } else {
    auto* n = detail::newNote(detail::NoteKind::publishDone);
    n->done.swap(fn);  // (as in startAttempt: no move assignment)
    state_->callbacks.pushBack(n);
  }
}

namespace {
const Frame& emptyFrame() {
  static const Frame f;
  return f;
}
const FrameView& emptyView() {
  static const FrameView v;
  return v;
}
}  // namespace

detail::Ref<const detail::MessageState> Message::keep(const detail::Ref<const detail::MessageState>& s) {
  return s && s->borrowed ? detail::ownedCopy(*s) : s;
}
Message::Message(const Message& other) : state_(keep(other.state_)) {}
Message& Message::operator=(const Message& other) {
  if (this != &other) state_ = keep(other.state_);
  return *this;
}

const FrameView& Message::view() const noexcept { return state_ ? state_->view : emptyView(); }
const Frame& Message::frame() const noexcept { return state_ ? state_->owned() : emptyFrame(); }
std::string_view Message::body() const noexcept { return view().body; }
const std::vector<Header>& Message::headers() const noexcept { return frame().headers; }
std::optional<std::string_view> Message::header(std::string_view name) const noexcept { return view().header(name); }
std::string_view Message::destination() const noexcept { return view().header("destination"sv).value_or(""sv); }
std::string_view Message::subscription() const noexcept { return view().header("subscription"sv).value_or(""sv); }
std::string_view Message::messageId() const noexcept { return view().header("message-id"sv).value_or(""sv); }
bool Message::isBinary() const noexcept { return state_ && state_->binary; }
bool Message::ackable() const noexcept { return state_ && state_->acks; }
std::error_code Message::ack(const Headers& headers) const {
  return detail::ClientImpl::settle(*this, true, nullptr, headers);
}
std::error_code Message::nack(const Headers& headers) const {
  return detail::ClientImpl::settle(*this, false, nullptr, headers);
}

bool Subscription::active() const noexcept {
  detail::ClientImpl* c = detail::reach(client_);
  return c && !error_ && !id_.empty() && c->hasSubscription(id_);
}
std::error_code Subscription::unsubscribe(const Headers& headers) {
  if (error_) return error_;
  detail::ClientImpl* c = detail::reach(client_);  // (unsubscribing runs no callback: no reference needed)
  if (!c) return errc::invalid_state;
  return c->unsubscribe(id_, headers);
}

PublishHandle Transaction::publish(PublishParams&& params) {
  return detail::ClientImpl::publish(detail::reach(client_), std::move(params), this);
}
std::error_code Transaction::ack(const Message& message, const Headers& headers) {
  return detail::ClientImpl::settle(message, true, this, headers);
}
std::error_code Transaction::nack(const Message& message, const Headers& headers) {
  return detail::ClientImpl::settle(message, false, this, headers);
}
std::error_code Transaction::commit() { return detail::ClientImpl::txCommand(*this, true); }
std::error_code Transaction::abort() { return detail::ClientImpl::txCommand(*this, false); }

// ------------------------------------------------------------------------------------------------
// Client

ClientCreateResult Client::create(ClientOptions&& options, TransportFactory factory, Scheduler& scheduler,
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
  r.client.reset(
      new Client(new detail::ClientImpl(std::move(options), std::move(factory), scheduler, std::move(random))));
  return r;
}

Client::Client(detail::ClientImpl* impl) : impl_(impl) {}

Client::~Client() { impl_->shutdown(); }  // (impl_ is never null: only create() makes a Client)

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
PublishHandle Client::publish(PublishParams&& params) {
  return detail::ClientImpl::publish(impl_.get(), std::move(params), nullptr);
}
Transaction Client::begin(std::string id) { return impl_->begin(std::move(id)); }

namespace {
// Arg: the listener's parameter type as the API declares it.
template <class Arg>
ListenerId addListener(detail::ClientImpl& impl, detail::NoteKind event, std::function<void(Arg)>&& fn) {
  auto* l = new detail::ListenerOf<Arg>();
  l->destroy = detail::ListenerOf<Arg>::free;
  l->event = event;
  l->call = detail::ListenerOf<Arg>::invoke;
  l->fn = std::move(fn);
  return impl.addListener(l);
}
}  // namespace

using detail::NoteKind;
ListenerId Client::onConnect(std::function<void(const Frame&)> fn) { return addListener(*impl_, NoteKind::connect, std::move(fn)); }
ListenerId Client::onDisconnect(std::function<void(std::error_code)> fn) { return addListener(*impl_, NoteKind::disconnect, std::move(fn)); }
ListenerId Client::onStompError(std::function<void(const Frame&)> fn) { return addListener(*impl_, NoteKind::stompError, std::move(fn)); }
ListenerId Client::onStateChange(std::function<void(const StateChange&)> fn) { return addListener(*impl_, NoteKind::stateChange, std::move(fn)); }
ListenerId Client::onWebSocketClose(std::function<void(const CloseEvent&)> fn) { return addListener(*impl_, NoteKind::webSocketClose, std::move(fn)); }
ListenerId Client::onWebSocketError(std::function<void(std::error_code)> fn) { return addListener(*impl_, NoteKind::webSocketError, std::move(fn)); }
ListenerId Client::onUnhandledMessage(MessageCallback fn) { return addListener(*impl_, NoteKind::unhandledMessage, std::move(fn)); }
ListenerId Client::onUnhandledReceipt(std::function<void(const Frame&)> fn) { return addListener(*impl_, NoteKind::unhandledReceipt, std::move(fn)); }
bool Client::removeListener(ListenerId id) { return impl_->removeListener(id); }
void Client::setEventHook(EventHook hook, void* context) { impl_->setEventHook(hook, context); }

}  // namespace stompwire
