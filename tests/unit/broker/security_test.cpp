// JWT verification, origin patterns and the command line, without sockets.
#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "config.hpp"
#include "security/jwt.hpp"
#include "security/origin.hpp"

using namespace stompwire::server;

namespace {
constexpr std::int64_t kNow = 1'800'000'000;
JwtPolicy policy() { return JwtPolicy{"s3cret", "stompwire", "", 30, true}; }
std::string claims(std::string extra = "") {
  return R"({"sub":"alice","aud":"stompwire","exp":)" + std::to_string(kNow + 60) + extra + "}";
}
}  // namespace

TEST_CASE("JWT HS256: a valid token gives its sub and permissions", "[security][jwt]") {
  auto r = verifyJwt(signJwtHs256(claims(R"(,"permissions":{"read":["/topic/a"],"write":["/topic/*"]})"), "s3cret"), policy(), kNow);
  REQUIRE(r.principal);
  CHECK(r.principal->user == "alice");
  CHECK(r.principal->permissions.restricted);
  CHECK(r.principal->permissions.canRead("/topic/a"));
  CHECK_FALSE(r.principal->permissions.canRead("/topic/b"));
  CHECK(r.principal->permissions.canWrite("/topic/b"));
  auto plain = verifyJwt(signJwtHs256(claims(), "s3cret"), policy(), kNow);
  REQUIRE(plain.principal);
  CHECK_FALSE(plain.principal->permissions.restricted);
}

TEST_CASE("JWT: every bad token is rejected with its reason", "[security][jwt]") {
  auto exp = std::to_string(kNow + 60);
  auto tok = signJwtHs256(claims(), "s3cret");
  struct Case {
    std::string token, error;
  };
  std::vector<Case> cases = {
      {signJwtHs256(claims(), "other"), "bad signature"},
      {tok.substr(0, tok.size() - 2) + (tok.back() == 'A' ? "BB" : "AA"), "bad signature"},
      {base64UrlEncode(R"({"alg":"none"})") + "." + base64UrlEncode(claims()) + ".", "unsupported alg none (only HS256)"},
      {signJwtHs256(claims(), "s3cret", R"({"alg":"RS256"})"), "unsupported alg RS256 (only HS256)"},
      {signJwtHs256(claims(), "s3cret", R"({"typ":"JWT"})"), "token header has no alg"},
      {signJwtHs256(R"({"sub":"a","aud":"stompwire","exp":)" + std::to_string(kNow - 31) + "}", "s3cret"), "token expired"},
      {signJwtHs256(R"({"sub":"a","aud":"stompwire","exp":)" + exp + R"(,"nbf":)" + std::to_string(kNow + 100) + "}", "s3cret"), "token not yet valid"},
      {signJwtHs256(R"({"sub":"a","aud":["x","y"],"exp":)" + exp + "}", "s3cret"), "wrong audience"},
      {signJwtHs256(R"({"sub":"a","exp":)" + exp + "}", "s3cret"), "wrong audience"},
      {signJwtHs256(R"({"sub":"a","aud":"stompwire"})", "s3cret"), "token has no exp"},
      {signJwtHs256(R"({"aud":"stompwire","exp":)" + exp + "}", "s3cret"), "token has no sub"},
      {signJwtHs256(R"({"sub":"a","aud":"stompwire","exp":"soon"})", "s3cret"), "exp is not a number"},
      {signJwtHs256("[1,2]", "s3cret"), "malformed token claims"},
      {"a.b", "malformed token: expected header.payload.signature"},
      {"a.b.c.d", "malformed token: expected header.payload.signature"},
      {"a!.b.c", "malformed token: bad base64url"},
      {std::string(9000, 'a'), "token too long"},
  };
  for (auto& c : cases) {
    INFO(c.token);
    auto r = verifyJwt(c.token, policy(), kNow);
    CHECK_FALSE(r.principal);
    CHECK(r.error == c.error);
  }
}

TEST_CASE("JWT: leeway, array audience, issuer", "[security][jwt]") {
  auto p = policy();
  CHECK(verifyJwt(signJwtHs256(R"({"sub":"a","aud":["x","stompwire"],"exp":)" + std::to_string(kNow - 29) + "}", "s3cret"), p, kNow).principal);
  p.issuer = "https://issuer";
  CHECK(verifyJwt(signJwtHs256(claims(), "s3cret"), p, kNow).error == "wrong issuer");
  CHECK(verifyJwt(signJwtHs256(claims(R"(,"iss":"https://issuer")"), "s3cret"), p, kNow).principal);
  p.audience.clear();
  CHECK(verifyJwt(signJwtHs256(R"({"sub":"a","exp":)" + std::to_string(kNow + 5) + "}", "s3cret"), p, kNow).error == "wrong issuer");
}

TEST_CASE("base64url round-trips every length", "[security][jwt]") {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    CHECK(base64UrlDecode(base64UrlEncode(data)) == data);
    data.push_back(static_cast<char>(i * 37));
  }
  CHECK_FALSE(base64UrlDecode("abcde"));  // impossible length
  CHECK_FALSE(base64UrlDecode("ab=="));   // padding is not base64url in JWTs
}

TEST_CASE("origin patterns", "[security][origin]") {
  OriginPolicy p({"https://*.example.com", "http://localhost:*"});
  CHECK(p.allowed("", "h", false));
  CHECK(p.allowed("https://app.example.com", "h", false));
  CHECK(p.allowed("HTTPS://App.Example.com", "h", false));
  CHECK(p.allowed("http://localhost:8080", "h", false));
  CHECK(p.allowed("http://127.0.0.1:9000", "127.0.0.1:9000", false));   // same origin
  CHECK(p.allowed("https://127.0.0.1:9000", "127.0.0.1:9000", true));
  CHECK_FALSE(p.allowed("http://127.0.0.1:9000", "127.0.0.1:9000", true));  // scheme differs
  CHECK_FALSE(p.allowed("https://example.com", "h", false));
  CHECK_FALSE(p.allowed("https://evil.com/.example.com", "h", false));  // '*' never spans '/'
  CHECK_FALSE(p.allowed("https://a.example.com.evil.com", "h", false));
  CHECK_FALSE(p.allowed("null", "h", false));
  CHECK_FALSE(OriginPolicy({}).allowed("http://localhost:1", "h", false));
}

TEST_CASE("command line: defaults, flags, validation", "[config]") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "stompwire-server");
    return parseCommandLine(static_cast<int>(args.size()), args.data());
  };
  auto d = parse({});
  REQUIRE(d.config);
  CHECK(d.config->host == "127.0.0.1");
  CHECK(d.config->port == 61613);
  CHECK(d.config->maxFrameSize == 65536);
  CHECK(d.config->sendBufferLimit == 512 * 1024);
  CHECK(d.config->sendTimeoutMs == 20000);
  CHECK_FALSE(d.config->faultInjection);
  auto c = parse({"--listen", "[::1]:0", "--user", "a:b:c", "--user", "d:e", "--rate-limit-user", "10/60"});
  REQUIRE(c.config);
  CHECK(c.config->host == "::1");
  CHECK(c.config->port == 0);
  auto b = brokerConfig(*c.config);
  CHECK(b.users.at("a") == "b:c");  // passcodes may contain ':'
  CHECK(b.perUser.messages == 10);
  CHECK(b.perUser.period == Millis(60000));
  CHECK(parse({"--listen", "0.0.0.0:1"}).exitCode == 2);
  CHECK(parse({"--listen", "0.0.0.0:1", "--allow-anonymous"}).config);
  CHECK(parse({"--listen", "0.0.0.0:1", "--user", "a:b"}).config);
  CHECK(parse({"--allow-origin", "*"}).exitCode == 2);
  CHECK(parse({"--user", "nocolon"}).exitCode == 2);
  CHECK(parse({"--rate-limit-ip", "ten"}).exitCode == 2);
  CHECK(parse({"--tls-key", "k.pem"}).exitCode == 2);
  CHECK(parse({"--listen", "127.0.0.1:99999"}).exitCode == 2);
  CHECK(parse({"--bogus"}).exitCode != 0);
  auto help = parse({"--help"});
  CHECK(help.exitCode == 0);
  CHECK(help.output.find("--max-frame-size") != std::string::npos);
}

TEST_CASE("rate limit syntax", "[config]") {
  CHECK(parseRateLimit("0")->messages == 0);
  CHECK(parseRateLimit("10/60")->period == Millis(60000));
  CHECK(parseRateLimit("5")->period == Millis(1000));
  CHECK_FALSE(parseRateLimit("10/0"));
  CHECK_FALSE(parseRateLimit("/5"));
  CHECK_FALSE(parseRateLimit("1e3"));
}
