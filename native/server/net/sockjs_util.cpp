// Stateless pieces of the SockJS endpoint shared by the plain and TLS TUs: the iframe page, /info,
// and the admission rules (origin, JWT, connection count) of /ws. Query strings: net/url_util.
#include <cstdio>
#include <random>

#include "net/sockjs_http_impl.hpp"
#include "net/url_util.hpp"

namespace stompwire::server::net::sockjs_detail {

bool validCallback(std::string_view cb) {
  if (cb.empty() || cb.size() > 32) return false;
  for (char c : cb)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

std::string iframeHtml(State& st) {
  std::string url;
  for (char c : st.config.sockjsClientUrl) {  // an attribute value: keep it one
    if (c == '"') url += "&quot;";
    else if (c == '<') url += "&lt;";
    else if (c == '&') url += "&amp;";
    else url += c;
  }
  return "<!DOCTYPE html>\n<html>\n<head>\n  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
         "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
         "  <script src=\"" + url + "\"></script>\n"
         "  <script>\n    document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n  </script>\n"
         "</head>\n<body>\n  <h2>Don't panic!</h2>\n  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n"
         "</body>\n</html>";
}

std::string iframeEtag(State& st) {
  // FNV-1a of the page: stable across restarts, which is all an ETag needs.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : iframeHtml(st)) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return std::string(buf);
}

std::string htmlfilePrelude(std::string_view callback) {
  std::string page =
      "<!doctype html>\n<html><head>\n  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
      "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
      "</head><body><h2>Don't panic!</h2>\n  <script>\n    document.domain = document.domain;\n"
      "    var c = parent." + std::string(callback) + ";\n    c.start();\n    function p(d) {c.message(d);};\n"
      "    window.onload = function() {c.stop();};\n  </script>";
  // Old browsers render nothing before 1 KiB has arrived.
  if (page.size() < 1024) page.append(1024 - page.size(), ' ');
  page += "\r\n\r\n";
  return page;
}

std::string infoJson(State& st) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return std::string("{\"websocket\":") + (st.config.sockjsWebsocket ? "true" : "false") +
         ",\"cookie_needed\":false,\"origins\":[\"*:*\"],\"entropy\":" + std::to_string(rng()) + "}";
}

std::optional<Refusal> admit(State& st, const Request& req, std::string_view query, const std::string& remote, bool,
                             SessionInfo& info) {
  if (st.shuttingDown) {
    st.metrics.reject(Reject::shuttingDown);
    return Refusal{503, "shutting down\n", {}};
  }
  info.remoteAddress = remote;
  if (!st.config.jwtSecret.empty()) {
    std::string token;
    auto auth = req[http::field::authorization];
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) token = std::string(auth.substr(7));
    else if (auto t = queryParam(query, "access_token")) token = *t;
    if (!token.empty() || st.config.users.empty()) {
      auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      auto r = token.empty() ? JwtResult{std::nullopt, "missing token"} : verifyJwt(token, st.jwt, now);
      if (!r.principal) {
        st.metrics.reject(Reject::unauthorized);
        log(Level::info, "sockjs.reject", {{"reason", "unauthorized"}, {"detail", r.error}, {"remote", remote}});
        return Refusal{401, r.error + "\n", "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"};
      }
      info.principal = std::move(r.principal);
    }
  }
  if (st.wsCount.fetch_add(1) >= st.config.maxConnections) {
    st.wsCount--;
    st.metrics.reject(Reject::maxConnections);
    log(Level::warn, "sockjs.reject", {{"reason", "max_connections"}, {"remote", remote}});
    return Refusal{503, "too many connections\n", {}};
  }
  return std::nullopt;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace stompwire::server::net::sockjs_detail
