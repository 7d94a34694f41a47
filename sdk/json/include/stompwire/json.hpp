// JSON helpers: publishJson and message JSON, on nlohmann/json, with errors as values.
// Link stompwire::json. Only nlohmann's forward declarations are included here: include
// <nlohmann/json.hpp> yourself to build or read values.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>
#include <system_error>

#include "stompwire/client.hpp"

namespace stompwire {

// Parses `text`. On error returns json_parse_error and sets `out` to null; never throws or aborts.
std::error_code parseJson(std::string_view text, nlohmann::json& out);

// The message body as JSON (the C++ spelling of JS `message.json()`).
std::error_code messageJson(const Message& message, nlohmann::json& out);

// Serializes `value` (invalid UTF-8 in strings is replaced by U+FFFD instead of failing) into
// params.body, sets content-type: application/json unless params already has a content-type, and
// publishes through the client (queued offline like any publish).
PublishHandle publishJson(Client& client, const nlohmann::json& value, PublishParams params);
PublishHandle publishJson(Transaction& transaction, const nlohmann::json& value, PublishParams params);

// The serialization publishJson uses (compact).
std::string dumpJson(const nlohmann::json& value);

}  // namespace stompwire
