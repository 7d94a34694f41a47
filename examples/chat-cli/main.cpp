// Terminal chat in the same rooms as examples/chat-web: each stdin line is sent to the room, every room
// message is printed as "[HH:MM:SS] sender: text". Connection changes go to stderr: connected,
// "reconnecting in 2.4s", lines queued while offline, and "delivered" once the broker confirms a queued
// line (receipt). Ctrl-D leaves.
//   stompwire-chat [--url ws://127.0.0.1:8080/ws] [--room lobby] [--user NAME]
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>

#include <stompwire/native/client.hpp>

namespace {

std::string clock(long long epochMs) {
  std::time_t t = static_cast<std::time_t>(epochMs / 1000);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "ws://127.0.0.1:8080/ws", room = "lobby", user = std::getenv("USER") ? std::getenv("USER") : "cli";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--url") url = argv[i + 1];
    else if (flag == "--room") room = argv[i + 1];
    else if (flag == "--user") user = argv[i + 1];
    else return std::fprintf(stderr, "unknown option %s\n", flag.c_str()), 2;
  }

  boost::asio::io_context ioc;
  stompwire::native::ClientOptions options;
  options.brokerURL = url;
  options.connectHeaders = {{"login", user}};
  std::error_code ec;
  std::string what;
  auto client = stompwire::native::makeClient(ioc.get_executor(), options, ec, &what);
  if (!client) return std::fprintf(stderr, "invalid %s: %s\n", what.c_str(), ec.message().c_str()), 2;

  client->onStateChange([](const stompwire::StateChange& s) {
    if (s.state == stompwire::ClientState::reconnecting && s.nextAttemptAt) {
      auto now = std::chrono::duration_cast<stompwire::Millis>(std::chrono::steady_clock::now().time_since_epoch());
      std::fprintf(stderr, "* reconnecting in %.1fs\n", std::max<long long>(0, (*s.nextAttemptAt - now).count()) / 1000.0);
    } else {
      std::fprintf(stderr, "* %s\n", std::string(stompwire::toString(s.state)).c_str());
    }
  });
  client->subscribe("/topic/room." + room, [](const stompwire::Message& m) {
    auto j = nlohmann::json::parse(m.body(), nullptr, false);
    if (!j.is_object()) return;
    std::printf("[%s] %s: %s\n", clock(j.value("timestamp", 0LL)).c_str(), j.value("sender", "?").c_str(),
                j.value("content", "").c_str());
    std::fflush(stdout);
  });
  client->activate();

  // stdin blocks, so it gets its own thread; the client's methods may be called from any thread, but the
  // publish handle is read on the client's executor, where its callbacks run too.
  std::thread reader([&] {
    for (std::string line; std::getline(std::cin, line);) {
      if (line.empty()) continue;
      std::string body = nlohmann::json{{"room", room}, {"content", line}}.dump();
      boost::asio::post(client->executor(), [&client, body = std::move(body), line] {
        auto handle = client->publish({.destination = "/app/chat.send", .body = body, .receipt = true});
        if (handle.status() != stompwire::PublishStatus::queued) return;
        std::fprintf(stderr, "* offline: queued \"%s\" (%zu waiting)\n", line.c_str(), client->metrics().queueDepth);
        handle.onComplete([line](std::error_code ec) {
          if (ec) std::fprintf(stderr, "* not delivered \"%s\": %s\n", line.c_str(), ec.message().c_str());
          else std::fprintf(stderr, "* delivered \"%s\"\n", line.c_str());
        });
      });
    }
    boost::asio::post(client->executor(), [&client] { client->deactivate(); });
  });

  ioc.run();  // until Ctrl-D has deactivated the client (reconnects never give up by default)
  reader.join();
}
