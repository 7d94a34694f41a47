#include "stompwire/native/client.hpp"

#include <boost/asio/post.hpp>

#include <mutex>
#include <random>

#include "locking_executor.hpp"
#include "stompwire/native/scheduler.hpp"
#include "stompwire/native/url.hpp"

namespace stompwire::native {

namespace asio = boost::asio;

struct Client::Shared {
  std::shared_ptr<std::recursive_mutex> mutex = std::make_shared<std::recursive_mutex>();
  detail::LockingExecutor::Strand strand;
  asio::any_io_executor executor;  // the LockingExecutor
  // Declared before core: the core posts transport destructions to the scheduler.
  std::unique_ptr<AsioScheduler> scheduler;
  std::unique_ptr<stompwire::Client> core;

  explicit Shared(asio::any_io_executor ex)
      : strand(asio::make_strand(std::move(ex))), executor(detail::LockingExecutor(strand, mutex)) {}

  // Void methods: directly when already on the strand, else posted so that callbacks stay there.
  template <class F>
  static void run(const std::shared_ptr<Shared>& self, F&& f) {
    if (self->strand.running_in_this_thread()) {
      std::lock_guard lock(*self->mutex);
      if (self->core) f(*self->core);
      return;
    }
    asio::post(self->executor, [self, f = std::forward<F>(f)]() mutable {
      if (self->core) f(*self->core);
    });
  }
};

Client::Client(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

Client::~Client() {
  auto shared = shared_;  // the lock lives in Shared: keep it alive until unlocked
  std::lock_guard lock(*shared->mutex);
  shared->core.reset();
  shared->scheduler.reset();
}

#define STOMPWIRE_LOCKED(expr)                 \
  std::lock_guard lock(*shared_->mutex);       \
  return shared_->core->expr

void Client::activate() {
  Shared::run(shared_, [](stompwire::Client& c) { c.activate(); });
}
void Client::deactivate(DeactivateOptions options, std::function<void()> done) {
  Shared::run(shared_, [options, done = std::move(done)](stompwire::Client& c) mutable {
    c.deactivate(options, std::move(done));
  });
}
void Client::setConnectHeaders(Headers headers) {
  Shared::run(shared_, [headers = std::move(headers)](stompwire::Client& c) mutable {
    c.setConnectHeaders(std::move(headers));
  });
}

ClientState Client::state() const { STOMPWIRE_LOCKED(state()); }
Metrics Client::metrics() const { STOMPWIRE_LOCKED(metrics()); }
Subscription Client::subscribe(std::string destination, MessageCallback onMessage, Headers headers) {
  STOMPWIRE_LOCKED(subscribe(std::move(destination), std::move(onMessage), std::move(headers)));
}
PublishHandle Client::publish(PublishParams params) { STOMPWIRE_LOCKED(publish(std::move(params))); }
Transaction Client::begin(std::string id) { STOMPWIRE_LOCKED(begin(std::move(id))); }

std::error_code Client::unsubscribe(Subscription& subscription, const Headers& headers) {
  std::lock_guard lock(*shared_->mutex);
  return subscription.unsubscribe(headers);
}
std::error_code Client::ack(const Message& message, const Headers& headers) {
  std::lock_guard lock(*shared_->mutex);
  return message.ack(headers);
}
std::error_code Client::nack(const Message& message, const Headers& headers) {
  std::lock_guard lock(*shared_->mutex);
  return message.nack(headers);
}

ListenerId Client::onConnect(std::function<void(const Frame&)> fn) { STOMPWIRE_LOCKED(onConnect(std::move(fn))); }
ListenerId Client::onDisconnect(std::function<void(std::error_code)> fn) {
  STOMPWIRE_LOCKED(onDisconnect(std::move(fn)));
}
ListenerId Client::onStompError(std::function<void(const Frame&)> fn) {
  STOMPWIRE_LOCKED(onStompError(std::move(fn)));
}
ListenerId Client::onStateChange(std::function<void(const StateChange&)> fn) {
  STOMPWIRE_LOCKED(onStateChange(std::move(fn)));
}
ListenerId Client::onWebSocketClose(std::function<void(const CloseEvent&)> fn) {
  STOMPWIRE_LOCKED(onWebSocketClose(std::move(fn)));
}
ListenerId Client::onWebSocketError(std::function<void(std::error_code)> fn) {
  STOMPWIRE_LOCKED(onWebSocketError(std::move(fn)));
}
ListenerId Client::onUnhandledMessage(MessageCallback fn) { STOMPWIRE_LOCKED(onUnhandledMessage(std::move(fn))); }
ListenerId Client::onUnhandledReceipt(std::function<void(const Frame&)> fn) {
  STOMPWIRE_LOCKED(onUnhandledReceipt(std::move(fn)));
}
bool Client::removeListener(ListenerId id) { STOMPWIRE_LOCKED(removeListener(id)); }

#undef STOMPWIRE_LOCKED

void Client::withLock(const std::function<void(stompwire::Client&)>& fn) {
  std::lock_guard lock(*shared_->mutex);
  fn(*shared_->core);
}

asio::any_io_executor Client::executor() const { return shared_->executor; }

std::unique_ptr<Client> makeClient(asio::any_io_executor executor, ClientOptions options, std::error_code& ec,
                                   std::string* what) {
  // The core only knows that a URL is required; which schemes and forms are valid is the transports'
  // business, and a URL they can never open must fail here rather than in every reconnect attempt.
  if (Url parsed; !options.brokerURL.empty() && parseUrl(options.brokerURL, parsed)) {
    ec = stompwire::errc::invalid_argument;
    if (what) *what = "brokerURL";
    return nullptr;
  }
  auto shared = std::make_shared<Client::Shared>(std::move(executor));
  shared->scheduler = std::make_unique<AsioScheduler>(shared->executor);
  RandomSource random = std::move(options.random);
  if (!random) {
    random = [engine = std::mt19937_64(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  auto factory = makeTransportFactory(shared->executor, std::move(options.transport));
  stompwire::ClientOptions core = std::move(static_cast<stompwire::ClientOptions&>(options));
  std::lock_guard lock(*shared->mutex);
  auto result = stompwire::Client::create(std::move(core), std::move(factory), *shared->scheduler, std::move(random));
  if (!result.client) {
    ec = result.error;
    if (what) *what = result.what;
    return nullptr;
  }
  ec.clear();
  shared->core = std::move(result.client);
  return std::unique_ptr<Client>(new Client(shared));
}

std::unique_ptr<Client> makeClient(asio::any_io_executor executor, ClientOptions options) {
  std::error_code ec;
  std::string what;
  auto client = makeClient(std::move(executor), std::move(options), ec, &what);
  if (!client) throw std::system_error(ec, "stompwire::native::makeClient: invalid option '" + what + "'");
  return client;
}

}  // namespace stompwire::native
