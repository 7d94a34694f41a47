#include "stompwire/json.hpp"

#include <nlohmann/json.hpp>

namespace stompwire {

std::error_code parseJson(std::string_view text, nlohmann::json& out) {
  // allow_exceptions = false: a syntax error comes back as a discarded value, never a throw.
  out = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (out.is_discarded()) {
    out = nullptr;
    return errc::json_parse_error;
  }
  return {};
}

std::error_code messageJson(const Message& message, nlohmann::json& out) { return parseJson(message.body(), out); }

std::string dumpJson(const nlohmann::json& value) {
  // error_handler_t::replace: strict mode would throw (abort under JSON_NOEXCEPTION) on invalid UTF-8.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
PublishParams withJson(const nlohmann::json& value, PublishParams params) {
  params.body = dumpJson(value);
  bool hasType = false;
  for (const auto& h : params.headers) hasType = hasType || h.name == "content-type";
  if (!hasType) params.headers.push_back({"content-type", "application/json"});
  return params;
}
}  // namespace

PublishHandle publishJson(Client& client, const nlohmann::json& value, PublishParams params) {
  return client.publish(withJson(value, std::move(params)));
}

PublishHandle publishJson(Transaction& transaction, const nlohmann::json& value, PublishParams params) {
  return transaction.publish(withJson(value, std::move(params)));
}

}  // namespace stompwire
