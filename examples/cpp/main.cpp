// A C++ service: answers each request on /queue/demo.ping with "pong <body>" on /queue/demo.pong.
// Usage: stompwire-echo [URL] [COUNT]   (exits after COUNT confirmed replies; by default runs until killed)
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <stompwire/native/client.hpp>

int main(int argc, char** argv) {
  boost::asio::io_context ioc;
  stompwire::native::ClientOptions options;
  options.brokerURL = argc > 1 ? argv[1] : "ws://127.0.0.1:8080/ws";
  auto client = stompwire::native::makeClient(ioc.get_executor(), options);
  long left = argc > 2 ? std::atol(argv[2]) : -1;

  client->onStateChange([](const stompwire::StateChange& s) {
    std::fprintf(stderr, "cpp: %s\n", std::string(stompwire::toString(s.state)).c_str());
  });
  client->subscribe("/queue/demo.ping", [&](const stompwire::Message& m) {
    std::printf("cpp got: %s\n", std::string(m.body()).c_str());
    std::fflush(stdout);
    // receipt: the broker confirms the reply; one unconfirmed at a drop is sent again after the reconnect
    client->publish({.destination = "/queue/demo.pong", .body = "pong " + std::string(m.body()), .receipt = true})
        .onComplete([&](std::error_code ec) {
          if (ec) std::fprintf(stderr, "cpp: reply failed: %s\n", ec.message().c_str());
          if (--left == 0) client->deactivate();
        });
  });
  client->activate();
  ioc.run();  // returns once the client is deactivated
}
