// Just enough STOMP 1.2 for the native client tests: CONNECTED, subscriptions on one connection,
// SEND -> MESSAGE to the matching subscription, receipts. Plugs into WsServerConfig::respond.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stompwire::test {

struct MiniBroker {
  struct State {
    std::map<std::string, std::string> subscriptions;  // destination -> subscription id
    std::atomic<int> sends{0};
    std::atomic<int> connects{0};
    int messageSeq = 0;
  };
  std::shared_ptr<State> state = std::make_shared<State>();

  std::vector<std::string> operator()(const std::string& message) const {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < message.size()) {
      while (pos < message.size() && (message[pos] == '\n' || message[pos] == '\r')) ++pos;  // heart-beats
      if (pos >= message.size()) break;
      auto headEnd = message.find("\n\n", pos);
      if (headEnd == std::string::npos) break;
      std::string head = message.substr(pos, headEnd - pos);
      std::vector<std::string> lines;
      std::size_t p = 0;
      while (p <= head.size()) {
        auto nl = head.find('\n', p);
        lines.push_back(head.substr(p, nl == std::string::npos ? std::string::npos : nl - p));
        if (nl == std::string::npos) break;
        p = nl + 1;
      }
      std::map<std::string, std::string> h;
      for (std::size_t i = 1; i < lines.size(); ++i) {
        auto colon = lines[i].find(':');
        if (colon != std::string::npos && !h.count(lines[i].substr(0, colon))) {
          h[lines[i].substr(0, colon)] = lines[i].substr(colon + 1);
        }
      }
      std::size_t bodyStart = headEnd + 2, bodyEnd;
      if (h.count("content-length")) {
        bodyEnd = bodyStart + std::stoul(h["content-length"]);
      } else {
        bodyEnd = message.find('\0', bodyStart);
      }
      std::string body = message.substr(bodyStart, bodyEnd - bodyStart);
      pos = bodyEnd + 1;
      handle(lines[0], h, body, out);
    }
    return out;
  }

 private:
  void handle(const std::string& cmd, std::map<std::string, std::string>& h, const std::string& body,
              std::vector<std::string>& out) const {
    auto& s = *state;
    if (cmd == "CONNECT" || cmd == "STOMP") {
      ++s.connects;
      out.push_back(std::string("CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:mini\n\n") + '\0');
      return;
    }
    if (cmd == "SUBSCRIBE") s.subscriptions[h["destination"]] = h["id"];
    if (cmd == "UNSUBSCRIBE") {
      for (auto it = s.subscriptions.begin(); it != s.subscriptions.end(); ++it) {
        if (it->second == h["id"]) {
          s.subscriptions.erase(it);
          break;
        }
      }
    }
    if (cmd == "SEND") {
      ++s.sends;
      auto it = s.subscriptions.find(h["destination"]);
      if (it != s.subscriptions.end()) {
        out.push_back("MESSAGE\nsubscription:" + it->second + "\nmessage-id:" + std::to_string(++s.messageSeq) +
                      "\ndestination:" + h["destination"] + "\ncontent-length:" + std::to_string(body.size()) +
                      "\n\n" + body + '\0');
      }
    }
    if (h.count("receipt")) out.push_back("RECEIPT\nreceipt-id:" + h["receipt"] + "\n\n" + '\0');
  }
};

}  // namespace stompwire::test
