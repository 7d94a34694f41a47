// stompwire-server: see `stompwire-server --help` and native/server/README.md.
#include <csignal>
#include <cstdio>
#include <exception>

#include "config.hpp"
#include "net/server.hpp"

int main(int argc, char** argv) {
  auto parsed = stompwire::server::parseCommandLine(argc, argv);
  if (!parsed.config) {
    std::fputs(parsed.output.c_str(), parsed.exitCode == 0 ? stdout : stderr);
    return parsed.exitCode;
  }
  std::signal(SIGPIPE, SIG_IGN);
  try {
    stompwire::server::Server server(std::move(*parsed.config));
    auto url = server.start();
    // The contract with tests and scripts: this is the first stdout line, printed once accepting.
    std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
    return server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stompwire-server: %s\n", e.what());
    return 1;
  }
}
