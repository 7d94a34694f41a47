// Uses the installed stompwire::native: the Asio scheduler and a transport from the factory. With a URL
// argument it connects there and prints what happens; without one it connects to a closed loopback port
// and expects the refusal to come back as an error value.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <stompwire/error.hpp>
#include <stompwire/native/client.hpp>
#include <stompwire/native/scheduler.hpp>
#include <stompwire/native/transport.hpp>
#include <stompwire/native/url.hpp>

namespace {

struct Printer final : stompwire::TransportListener {
  void onOpen(std::string_view protocol) override {
    std::printf("open, subprotocol '%.*s'\n", static_cast<int>(protocol.size()), protocol.data());
    opened = true;
  }
  void onMessage(std::string_view data, bool) override { std::printf("message of %zu bytes\n", data.size()); }
  void onError(std::error_code ec) override {
    std::printf("error: %s\n", ec.message().c_str());
    error = ec;
  }
  void onClose(int code, std::string_view reason, bool clean) override {
    std::printf("close %d%s: %.*s\n", code, clean ? " (clean)" : "", static_cast<int>(reason.size()), reason.data());
    closed = true;
  }
  bool opened = false, closed = false;
  std::error_code error;
};

}  // namespace

int main(int argc, char** argv) {
  boost::asio::io_context ioc;
  std::string url;
  if (argc > 1) {
    url = argv[1];
  } else {
    boost::asio::ip::tcp::acceptor probe(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    url = "ws://127.0.0.1:" + std::to_string(probe.local_endpoint().port()) + "/ws";
  }  // the port is closed again here

  stompwire::native::Url parsed;
  if (auto ec = stompwire::native::parseUrl(url, parsed)) {
    std::fprintf(stderr, "bad URL: %s\n", ec.message().c_str());
    return 2;
  }

  // The client API links and validates its options.
  stompwire::native::ClientOptions clientOptions;
  clientOptions.brokerURL = url;
  auto client = stompwire::native::makeClient(ioc.get_executor(), clientOptions);
  if (client->state() != stompwire::ClientState::inactive) return 1;
  client.reset();

  stompwire::native::AsioScheduler scheduler(ioc.get_executor());
  bool timedOut = false;
  scheduler.schedule(stompwire::Millis(5000), [&] {
    timedOut = true;
    ioc.stop();
  });

  Printer printer;
  auto factory = stompwire::native::makeTransportFactory(ioc.get_executor(), {});
  auto transport = factory(printer);
  const std::string_view protocols[] = {"v12.stomp", "v11.stomp", "v10.stomp"};
  transport->open(url, protocols);
  while (!printer.closed && !printer.opened && !timedOut && ioc.run_one() > 0) {
  }
  if (argc > 1) return printer.opened ? 0 : 1;
  // Without an argument, success means the refusal arrived as stompwire::errc::transport_error.
  return printer.error == stompwire::errc::transport_error && printer.closed ? 0 : 1;
}
