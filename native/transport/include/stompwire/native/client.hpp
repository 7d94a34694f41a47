// The stompwire Client for C++ services: the portable core's Client over the Beast/TCP transports and
// the Asio scheduler, with a thread model fit for a multi-threaded io_context.
//
// Threading:
// - All I/O, timers and callbacks run on a strand of the executor given to makeClient() (under the
//   client's lock): callbacks never run concurrently with each other.
// - Every public method may be called from any thread. Methods that return something (subscribe,
//   publish, begin, state, metrics...) run on the calling thread under the client's lock; methods
//   that return nothing (activate, deactivate, setConnectHeaders) called off the strand are posted to it,
//   so their callbacks (state changes...) still run on the strand.
// - Handles (Subscription, PublishHandle, Message, Transaction) are plain core objects: use them inside
//   callbacks, or through Client::unsubscribe/ack/nack or Client::withLock() from other threads.
// - Destroying the Client is safe from any thread and from inside any of its callbacks: no callback runs
//   after the destructor returns (on other threads, a callback already running finishes first: the
//   destructor waits for the lock).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include <stompwire/client.hpp>
#include <stompwire/native/transport.hpp>

namespace stompwire::native {

struct ClientOptions : stompwire::ClientOptions {
  // TLS (CA file, client certificate, insecure for tests), handshake headers, I/O timeouts.
  TransportOptions transport;
  // Jitter for the reconnect backoff: [0, 1). Empty: a std::mt19937_64 seeded from std::random_device.
  RandomSource random;
};

class Client {
 public:
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void activate();
  void deactivate(DeactivateOptions options = {}, std::function<void()> done = {});
  void setConnectHeaders(Headers headers);

  ClientState state() const;
  bool connected() const { return state() == ClientState::connected; }
  Metrics metrics() const;

  Subscription subscribe(std::string destination, MessageCallback onMessage, Headers headers = {});
  PublishHandle publish(PublishParams params);
  Transaction begin(std::string id = {});

  // Thread-safe forms of the handle operations.
  std::error_code unsubscribe(Subscription& subscription, const Headers& headers = {});
  std::error_code ack(const Message& message, const Headers& headers = {});
  std::error_code nack(const Message& message, const Headers& headers = {});

  ListenerId onConnect(std::function<void(const Frame& connected)> fn);
  ListenerId onDisconnect(std::function<void(std::error_code)> fn);
  ListenerId onStompError(std::function<void(const Frame& error)> fn);
  ListenerId onStateChange(std::function<void(const StateChange&)> fn);
  ListenerId onWebSocketClose(std::function<void(const CloseEvent&)> fn);
  ListenerId onWebSocketError(std::function<void(std::error_code)> fn);
  ListenerId onUnhandledMessage(MessageCallback fn);
  ListenerId onUnhandledReceipt(std::function<void(const Frame& receipt)> fn);
  bool removeListener(ListenerId id);

  // Runs fn(core) on the calling thread under the client's lock (e.g. to read a PublishHandle's status
  // from another thread).
  void withLock(const std::function<void(stompwire::Client& core)>& fn);
  // The strand-bound executor every callback runs on (post your own work there to run "inside" the client).
  boost::asio::any_io_executor executor() const;

 private:
  struct Shared;
  explicit Client(std::shared_ptr<Shared> shared);
  friend std::unique_ptr<Client> makeClient(boost::asio::any_io_executor, ClientOptions, std::error_code&,
                                            std::string*);
  std::shared_ptr<Shared> shared_;
};

// Makes an inactive client; call activate(). On invalid options returns null, sets ec
// (errc::invalid_argument) and names the option in *what.
std::unique_ptr<Client> makeClient(boost::asio::any_io_executor executor, ClientOptions options, std::error_code& ec,
                                   std::string* what = nullptr);
// The same, throwing std::system_error with the option's name on invalid options.
std::unique_ptr<Client> makeClient(boost::asio::any_io_executor executor, ClientOptions options);

}  // namespace stompwire::native
