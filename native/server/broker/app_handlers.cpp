// The classic chat handlers and echo, on nlohmann/json (server side only; the wasm client never links it).
#include <nlohmann/json.hpp>

#include "broker.hpp"

namespace stompwire::server {
namespace {

using nlohmann::json;

std::optional<json> parseObject(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// Room ids become part of a destination: keep them to a safe alphabet.
bool validRoom(const std::string& r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

class Echo final : public AppHandler {
 public:
  std::optional<std::string> handle(AppContext& ctx, const FrameView& send) override {
    auto ct = send.header("content-type");
    ctx.reply("/user/queue/echo", std::string(send.body), ct ? *ct : std::string_view("text/plain"));
    return std::nullopt;
  }
};

class ChatSend final : public AppHandler {
 public:
  std::optional<std::string> handle(AppContext& ctx, const FrameView& send) override {
    auto in = parseObject(send.body);
    if (!in || !in->contains("content") || !(*in)["content"].is_string())
      return std::string("chat.send expects JSON {\"content\": string, \"room\"?: string}");
    std::string dest = "/topic/public";
    if (auto r = in->find("room"); r != in->end() && !r->is_null()) {
      if (!r->is_string() || !validRoom(r->get<std::string>())) return std::string("chat.send: invalid room");
      dest = "/topic/room." + r->get<std::string>();
    }
    json out{{"type", "CHAT"},
             {"sender", ctx.user()},
             {"content", (*in)["content"]},
             {"timestamp", ctx.wallClockMs()}};
    if (dest != "/topic/public") out["room"] = (*in)["room"];
    ctx.publish(dest, out.dump(-1, ' ', false, json::error_handler_t::replace));
    return std::nullopt;
  }
};

class ChatPrivate final : public AppHandler {
 public:
  std::optional<std::string> handle(AppContext& ctx, const FrameView& send) override {
    auto in = parseObject(send.body);
    if (!in || !(*in)["recipient"].is_string() || !(*in)["content"].is_string())
      return std::string("chat.private expects JSON {\"recipient\": string, \"content\": string}");
    auto recipient = (*in)["recipient"].get<std::string>();
    if (recipient.empty() || recipient.find('/') != std::string::npos) return std::string("chat.private: invalid recipient");
    json out{{"type", "PRIVATE"},
             {"sender", ctx.user()},
             {"recipient", recipient},
             {"content", (*in)["content"]},
             {"timestamp", ctx.wallClockMs()}};
    auto text = out.dump(-1, ' ', false, json::error_handler_t::replace);
    ctx.publish("/user/" + recipient + "/queue/private", text);
    // The sender's other sessions see what they sent (unless they are the recipient, who already has it).
    if (recipient != ctx.user()) ctx.publish("/user/queue/private", text);
    return std::nullopt;
  }
};

}  // namespace

std::unique_ptr<AppHandler> makeEchoHandler() { return std::make_unique<Echo>(); }
std::unique_ptr<AppHandler> makeChatSendHandler() { return std::make_unique<ChatSend>(); }
std::unique_ptr<AppHandler> makeChatPrivateHandler() { return std::make_unique<ChatPrivate>(); }

}  // namespace stompwire::server
