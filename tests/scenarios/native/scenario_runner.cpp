// The native runner of the shared scenario suite (tests/scenarios/README.md describes the format): runs one
// scenario file with stompwire::native::makeClient against stompwire-server started on port 0 (or, for
// `interop` scenarios with --rabbitmq, against RabbitMQ Web-STOMP at $STOMPWIRE_RABBITMQ_URL). It knows
// no particular scenario; tests/js/support/scenario-runner.mjs is its twin for the wasm build.
//
//   scenario_runner FILE.json [--rabbitmq] [--results DIR]
//   exit 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE); DIR/<name>.json records the result.
//
// Everything runs on this thread: the io_context is run in small slices between steps and while a
// step waits for its condition, so no locking is needed around the recorded events.
#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <stompwire/client.hpp>
#include <stompwire/error.hpp>
#include <stompwire/native/client.hpp>

#include "server_process.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace sw = stompwire;

constexpr int kDefaultWaitMs = 5000;

struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& msg) { throw ScenarioError(msg); }

std::string codeName(std::error_code ec) {
  if (!ec) return "none";
  if (ec.category() == sw::stompwire_category()) return std::string(sw::errcName(static_cast<sw::errc>(ec.value())));
  return ec.category().name() + std::string(":") + std::to_string(ec.value());
}

// ---------------------------------------------------------------------------------------------
// Values shared with the Node runner (same rules, see README)

std::string b64url(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += tbl[n >> 18 & 63], out += tbl[n >> 12 & 63], out += tbl[n >> 6 & 63], out += tbl[n & 63];
  }
  if (i + 1 == in.size()) {
    unsigned n = (unsigned char)in[i] << 16;
    out += tbl[n >> 18 & 63], out += tbl[n >> 12 & 63];
  } else if (i + 2 == in.size()) {
    unsigned n = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += tbl[n >> 18 & 63], out += tbl[n >> 12 & 63], out += tbl[n >> 6 & 63];
  }
  return out;
}

std::string makeJwt(const json& spec) {
  json claims = {{"aud", "stompwire"}};
  if (spec.contains("claims")) claims.update(spec["claims"]);
  if (spec.contains("sub")) claims["sub"] = spec["sub"];
  claims["exp"] = static_cast<long long>(std::time(nullptr)) + spec.value("expiresIn", 300);
  std::string head = b64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string body = b64url(claims.dump());
  std::string input = head + "." + body;
  std::string secret = spec.at("secret").get<std::string>();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  return input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
}

std::string value(const json& v) {
  if (v.is_object() && v.contains("jwt")) return makeJwt(v["jwt"]);
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

sw::Headers headerList(const json& h) {
  sw::Headers out;
  if (h.is_object())
    for (auto& [k, v] : h.items()) out.push_back({k, value(v)});
  return out;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

std::string hexToBytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string bytesToHex(std::string_view b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) out += d[c >> 4], out += d[c & 15];
  return out;
}

std::string repeat(const json& spec) {
  std::string unit = spec.at(0).get<std::string>(), out;
  int n = spec.at(1).get<int>();
  out.reserve(unit.size() * n);
  for (int i = 0; i < n; ++i) out += unit;
  return out;
}

struct Body {
  std::string bytes;
  bool binary = false;
};

Body bodyOf(const json& s, int i) {
  if (s.contains("bodyHex")) return {hexToBytes(s["bodyHex"].get<std::string>()), true};
  Body b;
  if (s.contains("bodyRepeat")) b.bytes = repeat(s["bodyRepeat"]);
  else if (s.contains("bodyJson")) b.bytes = s["bodyJson"].dump();
  else b.bytes = replaceAll(s.value("body", std::string()), "{i}", std::to_string(i));
  b.binary = s.value("binary", false);
  return b;
}

std::vector<std::string> expandBodies(const json& list) {
  std::vector<std::string> out;
  for (auto& x : list) {
    if (x.is_string()) {
      out.push_back(x.get<std::string>());
      continue;
    }
    int from = x.value("from", 0), count = x.at("count").get<int>();
    for (int i = from; i < from + count; ++i) out.push_back(replaceAll(x.at("template").get<std::string>(), "{i}", std::to_string(i)));
  }
  return out;
}

bool subsequence(const std::vector<std::string>& needle, const std::vector<std::string>& hay) {
  std::size_t i = 0;
  for (auto& x : hay)
    if (i < needle.size() && x == needle[i]) ++i;
  return i == needle.size();
}

bool matches(const json& got, const json& want) {
  if (!want.is_object()) return got == want;
  if (!got.is_object()) return false;
  for (auto& [k, v] : want.items())
    if (!got.contains(k) || !matches(got[k], v)) return false;
  return true;
}

std::string show(const std::vector<std::string>& v) {
  std::string s = json(v).dump();
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

// ---------------------------------------------------------------------------------------------
// Records

struct Msg {
  std::string body;
  bool binary = false;
  std::vector<std::pair<std::string, std::string>> headers;
  sw::Message raw;
  std::optional<std::string> header(const std::string& name) const {
    for (auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
};

struct ClientRec {
  std::string name;
  std::unique_ptr<sw::native::Client> client;
  std::vector<std::string> states, reasons, stompErrors, wsErrors, disconnectErrors;
  std::map<std::string, int> events{{"connect", 0},         {"disconnect", 0},       {"stompError", 0},
                                    {"wsClose", 0},         {"wsError", 0},          {"beforeConnect", 0},
                                    {"unhandledReceipt", 0}, {"unhandledMessage", 0}};
  std::set<std::string> receipts;
  std::map<std::string, std::string> connectedHeaders;
  int deactivated = 0;
};

struct SubRec {
  std::string name, client;
  sw::Subscription handle;
  std::vector<Msg> messages;
};

struct PubRec {
  sw::PublishHandle handle;
  std::string result() const {
    if (!handle) return "pending";
    switch (handle.status()) {
      case sw::PublishStatus::completed: return "ok";
      case sw::PublishStatus::failed: return codeName(handle.error());
      default: return "pending";
    }
  }
};

// ---------------------------------------------------------------------------------------------

class ScenarioRun {
 public:
  ScenarioRun(json sc, bool rabbit, std::string rabbitUrl)
      : sc_(std::move(sc)), rabbit_(rabbit), rabbitUrl_(std::move(rabbitUrl)) {
    runId_ = std::to_string(::getpid()) + "-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000007);
  }

  ~ScenarioRun() {
    // Clients first (their callbacks reference our records), then the server.
    clients_.clear();
    ioc_.run_for(10ms);
    if (server_) server_->stop(SIGKILL, 5s);
  }

  void run() {
    deadline_ = Clock::now() + std::chrono::milliseconds(sc_.value("timeoutMs", 30000));
    if (!rabbit_ && !(sc_.contains("server") && sc_["server"].is_null())) {
      std::vector<std::string> args;
      if (sc_.contains("server") && sc_["server"].contains("args")) args = sc_["server"]["args"].get<std::vector<std::string>>();
      startServer(args);
    }
    int n = 0;
    for (auto& step : sc_.at("steps")) {
      ++n;
      try {
        this->step(step);
      } catch (const ScenarioError& e) {
        std::string note = step.contains("note") ? ": " + step["note"].get<std::string>() : "";
        fail("step " + std::to_string(n) + " (" + step.value("do", std::string("?")) + note + "): " + e.what());
      }
      pump(0ms);
      if (Clock::now() > deadline_) fail("scenario exceeded timeoutMs");
    }
  }

 private:
  // Runs the client's I/O for up to `d` (at least one slice, so posted work runs).
  void pump(std::chrono::milliseconds d) {
    if (ioc_.stopped()) ioc_.restart();
    ioc_.run_for(d.count() > 0 ? d : 1ms);
  }

  std::string dest(const json& d) const { return replaceAll(d.get<std::string>(), "{run}", runId_); }

  std::string url() const {
    if (rabbit_) return rabbitUrl_;
    if (!port_) fail("no server");
    return "ws://127.0.0.1:" + std::to_string(port_) + "/ws";
  }

  void startServer(std::vector<std::string> args) {
    if (rabbit_) fail("server steps are not allowed in interop scenarios");
    serverArgs_ = std::move(args);
    std::vector<std::string> full;
    if (port_) full = {"--listen", "127.0.0.1:" + std::to_string(port_)};
    full.insert(full.end(), serverArgs_.begin(), serverArgs_.end());
    try {
      server_ = stompwire::test::ServerProcess::start(full);
    } catch (const std::exception& e) {
      fail(std::string("starting stompwire-server: ") + e.what());
    }
    port_ = server_->port();
    serverExit_.reset();
  }

  void stopServer(const std::string& signal) {
    if (!server_) fail("stopServer: not running");
    int sig = signal == "SIGKILL" ? SIGKILL : signal == "SIGINT" ? SIGINT : SIGTERM;
    // Keep serving the clients while the server drains (it talks to them during a graceful shutdown).
    ::kill(server_->pid(), sig);
    auto until = Clock::now() + 10s;
    while (server_->running() && Clock::now() < until) pump(5ms);
    serverExit_ = server_->stop(SIGKILL, 5s);
    server_.reset();
  }

  ClientRec& client(const json& name) {
    auto it = clients_.find(name.get<std::string>());
    if (it == clients_.end()) fail("unknown client " + name.dump());
    return *it->second;
  }

  SubRec& sub(const json& name) {
    auto it = subs_.find(name.get<std::string>());
    if (it == subs_.end()) fail("unknown subscription " + name.dump());
    return *it->second;
  }

  // A value {"native": x, "wasm": y} is a documented difference between the two builds (README).
  static json perRunner(const json& cond) {
    json s = cond;
    for (auto& [k, v] : s.items())
      if (v.is_object() && v.size() == 2 && v.contains("native") && v.contains("wasm")) v = json(v["native"]);
    return s;
  }

  void step(const json& original) {
    const json s = perRunner(original);
    const std::string what = s.at("do").get<std::string>();
    if (what == "client") return makeClient(s);
    if (what == "activate") return client(s.at("client")).client->activate();
    if (what == "deactivate") {
      auto& c = client(s.at("client"));
      int before = c.deactivated;
      ClientRec* rec = &c;
      c.client->deactivate({.force = s.value("force", false)}, [rec] { ++rec->deactivated; });
      if (!s.value("wait", true)) return;
      return until([&]() -> std::optional<std::string> {
        if (rec->deactivated > before) return std::nullopt;
        return "not yet";
      }, s.value("timeoutMs", kDefaultWaitMs), "deactivate to finish");
    }
    if (what == "subscribe") return subscribe(s);
    if (what == "unsubscribe") {
      auto& sb = sub(s.at("sub"));
      client(json(sb.client)).client->unsubscribe(sb.handle);
      return;
    }
    if (what == "ack" || what == "nack") {
      auto& sb = sub(s.at("sub"));
      std::size_t idx = s.contains("index") ? s["index"].get<std::size_t>() : sb.messages.size() - 1;
      if (idx >= sb.messages.size()) fail(what + ": no message " + std::to_string(idx) + " on " + sb.name);
      auto& m = sb.messages[idx];
      auto& c = client(json(sb.client));
      std::error_code ec;
      if (s.contains("tx")) {
        auto& tx = tx_(s["tx"]);
        c.client->withLock([&](sw::Client&) { ec = what == "ack" ? tx.ack(m.raw) : tx.nack(m.raw); });
      } else {
        ec = what == "ack" ? c.client->ack(m.raw) : c.client->nack(m.raw);
      }
      expectCode(what, ec, s);
      return;
    }
    if (what == "publish") return publish(s);
    if (what == "begin") {
      auto& c = client(s.at("client"));
      sw::Transaction tx = c.client->begin(s.value("id", std::string()));
      expectCode("begin", tx.error(), s);
      if (!tx.error()) txs_[s.value("name", std::string("tx"))] = {s.at("client").get<std::string>(), tx};
      return;
    }
    if (what == "commit" || what == "abort") {
      auto& tx = tx_(s.value("tx", json("tx")));
      auto& c = client(json(txs_[s.value("tx", std::string("tx"))].first));
      std::error_code ec;
      c.client->withLock([&](sw::Client&) { ec = what == "commit" ? tx.commit() : tx.abort(); });
      expectCode(what, ec, s);
      return;
    }
    if (what == "startServer") {
      std::vector<std::string> args = s.contains("args") ? s["args"].get<std::vector<std::string>>() : serverArgs_;
      return startServer(args);
    }
    if (what == "stopServer") return stopServer(s.value("signal", std::string("SIGTERM")));
    if (what == "restartServer") {
      stopServer(s.value("signal", std::string("SIGTERM")));
      std::vector<std::string> args = s.contains("args") ? s["args"].get<std::vector<std::string>>() : serverArgs_;
      return startServer(args);
    }
    if (what == "fault") return fault(s);
    if (what == "wait") {
      return until([&] { return check(s); }, s.value("timeoutMs", kDefaultWaitMs), s.dump());
    }
    if (what == "expect") {
      if (auto why = check(s)) fail("expectation failed: " + *why);
      return;
    }
    fail("unknown step " + what);
  }

  sw::Transaction& tx_(const json& name) {
    auto it = txs_.find(name.get<std::string>());
    if (it == txs_.end()) fail("unknown transaction " + name.dump());
    return it->second.second;
  }

  void expectCode(const std::string& what, std::error_code ec, const json& s) {
    std::string got = ec ? codeName(ec) : "ok";
    std::string want = s.value("expectError", std::string("ok"));
    if (got != want) fail(what + ": got " + got + ", expected " + want);
  }

  template <class Pred>
  void until(Pred pred, int timeoutMs, const std::string& what) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
      auto why = pred();
      if (!why) return;
      if (Clock::now() > deadline)
        fail("timed out after " + std::to_string(timeoutMs) + " ms waiting for " + what + " (last: " + *why + ")");
      pump(5ms);
    }
  }

  void makeClient(const json& s) {
    const json o = s.value("options", json::object());
    auto rec = std::make_unique<ClientRec>();
    rec->name = s.at("name").get<std::string>();
    ClientRec* r = rec.get();

    sw::native::ClientOptions opt;
    std::string u = url();
    if (s.contains("query")) {
      std::string q;
      for (auto& [k, v] : s["query"].items()) q += (q.empty() ? "?" : "&") + k + "=" + value(v);
      u += q;
    }
    opt.brokerURL = u;
    opt.heartbeatIncoming = sw::Millis(o.value("heartbeatIncoming", 0));
    opt.heartbeatOutgoing = sw::Millis(o.value("heartbeatOutgoing", 0));
    opt.connectionTimeout = sw::Millis(o.value("connectionTimeout", 3000));
    opt.receiptTimeout = sw::Millis(o.value("receiptTimeout", 5000));
    opt.disconnectTimeout = sw::Millis(o.value("disconnectTimeout", 2000));
    if (o.contains("heartbeatToleranceMultiplier")) opt.heartbeatToleranceMultiplier = o["heartbeatToleranceMultiplier"].get<double>();
    if (o.contains("useStompCommand")) opt.useStompCommand = o["useStompCommand"].get<bool>();
    if (o.contains("versions")) {
      opt.versions.clear();
      for (auto& v : o["versions"]) {
        auto pv = sw::parseVersion(v.get<std::string>());
        if (!pv) fail("bad version " + v.dump());
        opt.versions.push_back(*pv);
      }
    }
    const json rc = o.value("reconnect", json::object());
    opt.reconnect.initialDelay = sw::Millis(rc.value("initialDelay", 50));
    opt.reconnect.maxDelay = sw::Millis(rc.value("maxDelay", 200));
    if (rc.contains("enabled")) opt.reconnect.enabled = rc["enabled"].get<bool>();
    if (rc.contains("multiplier")) opt.reconnect.multiplier = rc["multiplier"].get<double>();
    if (rc.contains("maxAttempts")) opt.reconnect.maxAttempts = rc["maxAttempts"].get<std::uint32_t>();
    if (rc.contains("resetAfter")) opt.reconnect.resetAfter = sw::Millis(rc["resetAfter"].get<long>());
    const json oq = o.value("offlineQueue", json::object());
    if (oq.contains("maxMessages")) opt.offlineQueue.maxMessages = oq["maxMessages"].get<std::size_t>();
    if (oq.contains("maxBytes")) opt.offlineQueue.maxBytes = oq["maxBytes"].get<std::size_t>();
    if (o.contains("splitLargeFrames")) opt.splitLargeFrames = o["splitLargeFrames"].get<bool>();
    if (o.contains("maxWebSocketChunkSize")) opt.maxWebSocketChunkSize = o["maxWebSocketChunkSize"].get<std::size_t>();
    if (o.contains("maxIncomingFrameSize")) opt.maxIncomingFrameSize = o["maxIncomingFrameSize"].get<std::size_t>();
    opt.connectHeaders = headerList(o.value("connectHeaders", json::object()));
    if (rabbit_) addGuest(opt.connectHeaders);
    if (s.contains("handshakeHeaders"))
      for (auto& [k, v] : s["handshakeHeaders"].items()) opt.transport.headers.emplace_back(k, value(v));
    if (s.contains("beforeConnect")) {
      json plan = s["beforeConnect"];
      bool rabbit = rabbit_;
      opt.beforeConnect = [r, plan, rabbit](sw::BeforeConnectDone done) {
        std::size_t i = std::min<std::size_t>(r->events["beforeConnect"], plan.size() - 1);
        ++r->events["beforeConnect"];
        auto h = headerList(plan[i].value("connectHeaders", json::object()));
        if (rabbit) addGuest(h);
        r->client->setConnectHeaders(h);
        done({});
      };
    }

    std::error_code ec;
    std::string bad;
    rec->client = sw::native::makeClient(ioc_.get_executor(), std::move(opt), ec, &bad);
    if (!rec->client) fail("makeClient: " + codeName(ec) + " (" + bad + ")");
    auto& c = *rec->client;
    c.onStateChange([r](const sw::StateChange& ch) {
      r->states.emplace_back(sw::toString(ch.state));
      if (ch.reason) r->reasons.push_back(codeName(ch.reason));
    });
    c.onConnect([r](const sw::Frame& f) {
      ++r->events["connect"];
      r->connectedHeaders.clear();
      for (auto& h : f.headers) r->connectedHeaders.emplace(h.name, h.value);
    });
    c.onDisconnect([r](std::error_code e) {
      ++r->events["disconnect"];
      r->disconnectErrors.push_back(codeName(e));
    });
    c.onStompError([r](const sw::Frame& f) {
      ++r->events["stompError"];
      r->stompErrors.emplace_back(f.header("message").value_or(""));
    });
    c.onWebSocketClose([r](const sw::CloseEvent&) { ++r->events["wsClose"]; });
    c.onWebSocketError([r](std::error_code e) {
      ++r->events["wsError"];
      r->wsErrors.push_back(codeName(e));
    });
    c.onUnhandledReceipt([r](const sw::Frame& f) {
      ++r->events["unhandledReceipt"];
      r->receipts.emplace(f.header("receipt-id").value_or(""));
    });
    c.onUnhandledMessage([r](const sw::Message&) { ++r->events["unhandledMessage"]; });
    clients_[rec->name] = std::move(rec);
    if (s.value("activate", true)) c.activate();
  }

  static void addGuest(sw::Headers& h) {
    std::erase_if(h, [](const sw::Header& x) { return x.name == "login" || x.name == "passcode"; });
    h.push_back({"login", "guest"});
    h.push_back({"passcode", "guest"});
  }

  void subscribe(const json& s) {
    auto& c = client(s.at("client"));
    auto rec = std::make_unique<SubRec>();
    rec->name = s.contains("name") ? s["name"].get<std::string>() : s.at("destination").get<std::string>();
    rec->client = c.name;
    SubRec* r = rec.get();
    auto headers = headerList(s.value("headers", json::object()));
    bool confirm = s.contains("receipt") ? s["receipt"].get<bool>() : c.client->connected();
    std::string receiptId = "sub-" + rec->name + "-" + runId_;
    if (confirm) headers.push_back({"receipt", receiptId});
    rec->handle = c.client->subscribe(dest(s.at("destination")), [r](const sw::Message& m) {
      Msg x;
      x.body = std::string(m.body());
      x.binary = m.isBinary();
      for (auto& h : m.headers())
        if (!x.header(h.name)) x.headers.emplace_back(h.name, h.value);
      x.raw = m;
      r->messages.push_back(std::move(x));
    }, headers);
    if (rec->handle.error()) fail("subscribe: " + codeName(rec->handle.error()));
    subs_[rec->name] = std::move(rec);
    if (confirm) {
      ClientRec* cr = &c;
      until([&]() -> std::optional<std::string> {
        if (cr->receipts.count(receiptId)) return std::nullopt;
        return "no RECEIPT " + receiptId;
      }, s.value("timeoutMs", kDefaultWaitMs), "the SUBSCRIBE receipt of " + r->name);
    }
  }

  void publish(const json& s) {
    std::string name = s.value("name", std::string("publish"));
    auto& list = pubs_[name];
    int count = s.value("count", 1);
    std::size_t first = list.size();
    for (int i = 0; i < count; ++i) {
      Body b = bodyOf(s, i);
      sw::PublishParams p;
      p.destination = dest(s.at("destination"));
      p.body = std::move(b.bytes);
      p.binary = b.binary;
      p.headers = headerList(s.value("headers", json::object()));
      p.receipt = s.value("receipt", false);
      PubRec rec;
      if (s.contains("tx")) {
        auto& tx = tx_(s["tx"]);
        auto& c = client(json(txs_[s["tx"].get<std::string>()].first));
        c.client->withLock([&](sw::Client&) { rec.handle = tx.publish(std::move(p)); });
      } else {
        rec.handle = client(s.at("client")).client->publish(std::move(p));
      }
      list.push_back(rec);
    }
    if (s.value("wait", false)) {
      until([&]() -> std::optional<std::string> {
        for (std::size_t i = first; i < list.size(); ++i)
          if (list[i].result() == "pending") return "pending";
        return std::nullopt;
      }, s.value("timeoutMs", kDefaultWaitMs), "publish " + name + " to settle");
    }
  }

  void fault(const json& s) {
    if (!server_) fail("fault: no server");
    std::string action = s.at("action").get<std::string>(), path;
    if (action == "drop") path = "drop";
    else if (action == "stall") path = "stall?ms=" + std::to_string(s.at("ms").get<int>());
    else if (action == "heartbeats") path = std::string("heartbeats?pause=") + (s.value("pause", false) ? "1" : "0");
    else fail("unknown fault " + action);
    auto r = stompwire::test::httpRequest(server_->host(), server_->port(), "POST", "/admin/fault/" + path);
    if (r.status != 200) fail("fault " + path + ": HTTP " + std::to_string(r.status) + " " + r.body);
  }

  double serverMetric(const std::string& name) {
    if (!server_) fail("serverMetric: no server");
    auto r = stompwire::test::httpRequest(server_->host(), server_->port(), "GET", "/metrics");
    return stompwire::test::metricValue(r.body, name).value_or(0);
  }

  // nullopt when everything in `s` holds, else what does not (yet).
  std::optional<std::string> check(const json& s) {
    if (s.contains("client")) {
      auto& c = client(s["client"]);
      std::string state(sw::toString(c.client->state()));
      if (s.contains("state") && state != s["state"].get<std::string>())
        return "state of " + c.name + " is " + state + ", expected " + s["state"].get<std::string>();
      if (s.contains("stateSequence")) {
        auto want = s["stateSequence"].get<std::vector<std::string>>();
        if (!subsequence(want, c.states)) return "states of " + c.name + " " + show(c.states) + " do not contain " + show(want) + " in order";
      }
      if (s.contains("reasonSeen")) {
        auto w = s["reasonSeen"].get<std::string>();
        if (std::find(c.reasons.begin(), c.reasons.end(), w) == c.reasons.end()) return "reasons of " + c.name + " " + show(c.reasons) + " lack " + w;
      }
      if (s.contains("lastReason")) {
        auto w = s["lastReason"].get<std::string>();
        std::string got = c.reasons.empty() ? "(none)" : c.reasons.back();
        if (got != w) return "last reason of " + c.name + " is " + got + ", expected " + w;
      }
      if (s.contains("stompError")) {
        auto w = s["stompError"].get<std::string>();
        if (std::none_of(c.stompErrors.begin(), c.stompErrors.end(), [&](auto& m) { return m.rfind(w, 0) == 0; }))
          return "ERROR frames of " + c.name + ": " + show(c.stompErrors) + ", expected one starting with " + w;
      }
      if (s.contains("wsError")) {
        auto w = s["wsError"].get<std::string>();
        if (std::find(c.wsErrors.begin(), c.wsErrors.end(), w) == c.wsErrors.end()) return "WebSocket errors of " + c.name + ": " + show(c.wsErrors) + ", expected " + w;
      }
      if (s.contains("disconnectErrors")) {
        auto w = s["disconnectErrors"].get<std::vector<std::string>>();
        if (w != c.disconnectErrors) return "disconnect errors of " + c.name + ": " + show(c.disconnectErrors) + ", expected " + show(w);
      }
      for (const char* key : {"events", "eventsAtLeast"}) {
        if (!s.contains(key)) continue;
        bool atLeast = std::string(key) == "eventsAtLeast";
        for (auto& [k, v] : s[key].items()) {
          if (!c.events.count(k)) fail("unknown event " + k);
          int got = c.events[k], want = v.get<int>();
          if (atLeast ? got < want : got != want)
            return k + " events of " + c.name + ": " + std::to_string(got) + ", expected " + (atLeast ? "at least " : "") + std::to_string(want);
        }
      }
      for (const char* key : {"metrics", "metricsAtLeast"}) {
        if (!s.contains(key)) continue;
        bool atLeast = std::string(key) == "metricsAtLeast";
        auto m = c.client->metrics();
        for (auto& [k, v] : s[key].items()) {
          json got = metric(m, k);
          bool ok = atLeast ? (got.is_number() && got.get<double>() >= v.get<double>()) : got == v;
          if (!ok) return "metric " + k + " of " + c.name + ": " + got.dump() + ", expected " + (atLeast ? "at least " : "") + v.dump();
        }
      }
      if (s.contains("connectedHeaders")) {
        for (auto& [k, v] : s["connectedHeaders"].items()) {
          auto it = c.connectedHeaders.find(k);
          std::string got = it == c.connectedHeaders.end() ? "(absent)" : it->second;
          if (got != v.get<std::string>()) return "CONNECTED header " + k + ": " + got + ", expected " + v.get<std::string>();
        }
      }
    }
    std::vector<std::string> subNames;
    if (s.contains("sub")) subNames.push_back(s["sub"].get<std::string>());
    if (s.contains("subs")) subNames = s["subs"].get<std::vector<std::string>>();
    for (auto& n : subNames) {
      auto& sb = sub(json(n));
      if (auto why = checkMessages(sb.messages, s, n)) return why;
    }
    if (s.contains("union")) {
      std::vector<Msg> all;
      std::string label = "union(";
      for (auto& n : s["union"]) {
        auto& sb = sub(n);
        all.insert(all.end(), sb.messages.begin(), sb.messages.end());
        label += n.get<std::string>() + ",";
      }
      label.back() = ')';
      if (auto why = checkMessages(all, s, label)) return why;
    }
    if (s.contains("publish")) {
      auto name = s["publish"].get<std::string>();
      auto it = pubs_.find(name);
      if (it == pubs_.end()) fail("unknown publish " + name);
      std::vector<std::string> got;
      for (auto& p : it->second) got.push_back(p.result());
      if (s.contains("results") && got != s["results"].get<std::vector<std::string>>())
        return "results of publish " + name + ": " + show(got) + ", expected " + s["results"].dump();
      if (s.contains("result")) {
        auto w = s["result"].get<std::string>();
        if (std::any_of(got.begin(), got.end(), [&](auto& x) { return x != w; }))
          return "publish " + name + ": " + show(got) + ", expected all " + w;
      }
    }
    if (s.contains("serverMetric")) {
      auto name = s["serverMetric"].get<std::string>();
      double got = serverMetric(name), want = s.at("value").get<double>();
      if (got != want) return "server metric " + name + ": " + std::to_string(got) + ", expected " + std::to_string(want);
    }
    if (s.contains("serverExitCode")) {
      int want = s["serverExitCode"].get<int>();
      if (serverExit_ != want) return "server exit code " + (serverExit_ ? std::to_string(*serverExit_) : std::string("(running)")) + ", expected " + std::to_string(want);
    }
    return std::nullopt;
  }

  static json metric(const sw::Metrics& m, const std::string& k) {
    if (k == "attempts") return m.attempts;
    if (k == "reconnects") return m.reconnects;
    if (k == "connects") return m.connects;
    if (k == "consecutiveFailures") return m.consecutiveFailures;
    if (k == "queueDepth") return m.queueDepth;
    if (k == "queueBytes") return m.queueBytes;
    if (k == "pendingReceipts") return m.pendingReceipts;
    if (k == "subscriptions") return m.subscriptions;
    if (k == "framesIn") return m.framesIn;
    if (k == "framesOut") return m.framesOut;
    if (k == "heartbeatsIn") return m.heartbeatsIn;
    if (k == "heartbeatsOut") return m.heartbeatsOut;
    if (k == "state") return std::string(sw::toString(m.state));
    if (k == "lastError") return m.lastError ? codeName(m.lastError) : std::string();
    fail("unknown metric " + k);
  }

  std::optional<std::string> checkMessages(const std::vector<Msg>& msgs, const json& s, const std::string& name) {
    std::vector<std::string> bodies;
    for (auto& m : msgs) bodies.push_back(m.body);
    if (s.contains("count") && msgs.size() != s["count"].get<std::size_t>())
      return name + " has " + std::to_string(msgs.size()) + " messages, expected " + s["count"].dump();
    if (s.contains("countAtLeast") && msgs.size() < s["countAtLeast"].get<std::size_t>())
      return name + " has " + std::to_string(msgs.size()) + " messages, expected at least " + s["countAtLeast"].dump();
    if (s.contains("bodies")) {
      auto want = expandBodies(s["bodies"]);
      if (bodies != want) return name + " bodies " + show(bodies) + ", expected " + show(want);
    }
    if (s.contains("bodySet")) {
      auto want = expandBodies(s["bodySet"]);
      auto got = bodies;
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      if (got != want) return name + " bodies (any order) " + show(got) + ", expected " + show(want);
    }
    if (s.contains("bodiesHex")) {
      std::vector<std::string> got;
      for (auto& b : bodies) got.push_back(bytesToHex(b));
      if (got != s["bodiesHex"].get<std::vector<std::string>>()) return name + " bodies (hex) " + show(got) + ", expected " + s["bodiesHex"].dump();
    }
    if (s.contains("bodySizes")) {
      std::vector<std::size_t> got;
      for (auto& b : bodies) got.push_back(b.size());
      if (got != s["bodySizes"].get<std::vector<std::size_t>>()) return name + " body sizes " + json(got).dump() + ", expected " + s["bodySizes"].dump();
    }
    if (s.contains("bodyRepeat")) {
      auto want = repeat(s["bodyRepeat"]);
      for (std::size_t i = 0; i < bodies.size(); ++i)
        if (bodies[i] != want) return name + " message " + std::to_string(i) + " is not " + s["bodyRepeat"].dump() + " (size " + std::to_string(bodies[i].size()) + ")";
    }
    if (s.contains("binary")) {
      std::vector<bool> got;
      for (auto& m : msgs) got.push_back(m.binary);
      if (got != s["binary"].get<std::vector<bool>>()) return name + " binary flags " + json(got).dump() + ", expected " + s["binary"].dump();
    }
    if (s.contains("headers")) {
      for (auto& h : s["headers"]) {
        std::size_t i = h.at("index").get<std::size_t>();
        if (i >= msgs.size()) return name + " has no message " + std::to_string(i);
        auto hn = h.at("name").get<std::string>();
        auto got = msgs[i].header(hn);
        bool absent = h.value("absent", false);
        if (absent ? got.has_value() : (!got || *got != h.at("value").get<std::string>()))
          return name + "[" + std::to_string(i) + "] header " + hn + ": " + got.value_or("(absent)") + ", expected " +
                 (absent ? std::string("absent") : h.at("value").get<std::string>());
      }
    }
    if (s.contains("json")) {
      for (auto& j : s["json"]) {
        std::size_t i = j.at("index").get<std::size_t>();
        if (i >= msgs.size()) return name + " has no message " + std::to_string(i);
        json v = json::parse(msgs[i].body, nullptr, false);
        if (v.is_discarded()) return name + "[" + std::to_string(i) + "] is not JSON: " + msgs[i].body;
        if (j.contains("match") && !matches(v, j["match"])) return name + "[" + std::to_string(i) + "] " + msgs[i].body + " does not match " + j["match"].dump();
        for (auto& k : j.value("has", json::array()))
          if (!v.contains(k.get<std::string>())) return name + "[" + std::to_string(i) + "] " + msgs[i].body + " lacks " + k.get<std::string>();
      }
    }
    return std::nullopt;
  }

  json sc_;
  bool rabbit_;
  std::string rabbitUrl_;
  std::string runId_;
  boost::asio::io_context ioc_;
  Clock::time_point deadline_;
  std::unique_ptr<stompwire::test::ServerProcess> server_;
  std::uint16_t port_ = 0;
  std::vector<std::string> serverArgs_;
  std::optional<int> serverExit_;
  std::map<std::string, std::unique_ptr<SubRec>> subs_;
  std::map<std::string, std::vector<PubRec>> pubs_;
  std::map<std::string, std::pair<std::string, sw::Transaction>> txs_;
  // Declared last: destroyed first, while the records their callbacks write to still exist.
  std::map<std::string, std::unique_ptr<ClientRec>> clients_;
};

void writeResult(const std::string& dir, const std::string& key, const json& result) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string file = key;
  std::replace(file.begin(), file.end(), ':', '@');
  std::ofstream(dir + "/" + file + ".json") << json{{"scenario", key}, {"result", result}}.dump() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, resultsDir;
  bool rabbit = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rabbitmq") rabbit = true;
    else if (a == "--results" && i + 1 < argc) resultsDir = argv[++i];
    else file = a;
  }
  if (file.empty()) {
    std::cerr << "usage: scenario_runner FILE.json [--rabbitmq] [--results DIR]\n";
    return 2;
  }
  std::string name = std::filesystem::path(file).stem().string();
  std::string key = rabbit ? "rabbitmq:" + name : name;
  std::ifstream in(file);
  json sc = json::parse(in, nullptr, false);
  if (sc.is_discarded()) {
    std::cerr << file << ": not valid JSON\n";
    writeResult(resultsDir, key, {{"status", "fail"}, {"error", "not valid JSON"}});
    return 1;
  }
  const char* rabbitUrl = std::getenv("STOMPWIRE_RABBITMQ_URL");
  if (sc.contains("skip")) {
    std::cout << "SKIP " << key << ": " << sc["skip"].get<std::string>() << "\n";
    writeResult(resultsDir, key, {{"status", "skip"}, {"reason", sc["skip"]}});
    return 77;
  }
  if (rabbit && (!sc.value("interop", false) || !rabbitUrl || !*rabbitUrl)) {
    // Not a result: RabbitMQ rows exist only when it ran (scripts/parity compares the runners' rows).
    std::cout << "SKIP " << key << ": " << (sc.value("interop", false) ? "STOMPWIRE_RABBITMQ_URL not set" : "not an interop scenario") << "\n";
    return 77;
  }
  auto t0 = Clock::now();
  auto ms = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(); };
  try {
    {
      ScenarioRun run(sc, rabbit, rabbitUrl ? rabbitUrl : "");
      run.run();
    }
    std::cout << "PASS " << key << " (" << ms() << " ms)\n";
    writeResult(resultsDir, key, {{"status", "pass"}, {"ms", ms()}});
    return 0;
  } catch (const std::exception& e) {
    std::cout << "FAIL " << key << " (" << ms() << " ms): " << e.what() << "\n";
    writeResult(resultsDir, key, {{"status", "fail"}, {"ms", ms()}, {"error", e.what()}});
    return 1;
  }
}
