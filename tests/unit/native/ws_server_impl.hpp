#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <deque>
#include <list>

#include "ws_server.hpp"

namespace stompwire::test {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

template <class Stream>
struct ServerLayer;  // make(socket) and the TLS handshake, per stream type

template <class Stream>
class WsServerImpl final : public WsServer {
  struct Session : std::enable_shared_from_this<Session> {
    Session(WsServerImpl& s, websocket::stream<Stream> w) : server(&s), ws(std::move(w)) {}
    WsServerImpl* server;
    websocket::stream<Stream> ws;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    std::deque<WsServer::Received> out;
    bool writing = false;
    bool open = false;
    bool gone = false;

    void start() {
      ServerLayer<Stream>::handshake(ws.next_layer(), [self = this->shared_from_this()](beast::error_code ec) {
        if (ec || self->gone) return;
        self->readRequest();
      });
    }
    void readRequest() {
      http::async_read(ws.next_layer(), buffer, request,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec || self->gone) return;
                         self->onRequest();
                       });
    }
    void onRequest() {
      auto& cfg = server->config_;
      server->lastRequest.clear();
      for (const auto& f : request) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        server->lastRequest[name] = std::string(f.value());
      }
      if (cfg.rejectStatus) {
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(cfg.rejectStatus), 11);
        res->body() = "rejected";
        res->prepare_payload();
        http::async_write(ws.next_layer(), *res, [self = this->shared_from_this(), res](beast::error_code, std::size_t) {
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws).socket().close(ignored);
        });
        return;
      }
      std::string chosen = cfg.forceProtocol;
      if (chosen.empty()) {
        std::string offered(request[http::field::sec_websocket_protocol]);
        std::vector<std::string> list;
        std::size_t pos = 0;
        while (pos < offered.size()) {
          auto comma = offered.find(',', pos);
          std::string item = offered.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
          item.erase(0, item.find_first_not_of(' '));
          item.erase(item.find_last_not_of(' ') + 1);
          if (!item.empty()) list.push_back(item);
          pos = comma == std::string::npos ? offered.size() : comma + 1;
        }
        for (const auto& p : list) {
          if (std::find(cfg.supported.begin(), cfg.supported.end(), p) != cfg.supported.end()) {
            chosen = p;
            break;
          }
        }
      }
      websocket::permessage_deflate pmd;
      pmd.server_enable = cfg.deflate;
      ws.set_option(pmd);
      ws.read_message_max(64 * 1024 * 1024);
      ws.set_option(websocket::stream_base::decorator([chosen](websocket::response_type& res) {
        if (!chosen.empty()) res.set(http::field::sec_websocket_protocol, chosen);
      }));
      ws.async_accept(request, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec || self->gone) return;
        self->open = true;
        ++self->server->upgraded;
        if (self->server->config_.readAfterOpen) self->read();
      });
    }
    void read() {
      ws.async_read(buffer, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        if (self->gone) return;
        if (ec) {
          if (ec == websocket::error::closed) self->server->clientCloseCode = self->ws.reason().code;
          self->open = false;
          return;
        }
        std::string data = beast::buffers_to_string(self->buffer.data());
        self->buffer.consume(self->buffer.size());
        bool binary = !self->ws.got_text();
        self->server->received.push_back({data, binary});
        if (self->server->config_.respond) {
          for (auto& reply : self->server->config_.respond(data)) self->send(std::move(reply), false);
        } else if (self->server->config_.echo) {
          self->send(std::move(data), binary);
        }
        self->read();
      });
    }
    void send(std::string data, bool binary) {
      out.push_back({std::move(data), binary});
      if (!writing) writeNext();
    }
    void writeNext() {
      if (out.empty() || !open) return;
      writing = true;
      ws.text(!out.front().binary);
      ws.async_write(boost::asio::buffer(out.front().data), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        self->writing = false;
        if (ec || self->gone) return;
        self->out.pop_front();
        self->writeNext();
      });
    }
    void drop() {
      gone = true;
      beast::error_code ignored;
      auto& s = beast::get_lowest_layer(ws).socket();
      s.close(ignored);
    }
  };

 public:
  WsServerImpl(boost::asio::io_context& ioc, WsServerConfig config, boost::asio::ssl::context* tls)
      : ioc_(ioc), config_(std::move(config)), tls_(tls), acceptor_(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  ~WsServerImpl() override {
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto& s : sessions_) s->drop();
  }
  std::uint16_t port() const override { return acceptor_.local_endpoint().port(); }
  void closeAll(int code, const std::string& reason) override {
    for (auto& s : sessions_) {
      if (!s->open) continue;
      s->ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                        [s](beast::error_code) {});
    }
  }
  void dropAll() override {
    for (auto& s : sessions_) s->drop();
    sessions_.clear();
  }
  void sendAll(const std::string& data, bool binary) override {
    for (auto& s : sessions_) s->send(data, binary);
  }

 private:
  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      ++accepted;
      auto session = std::make_shared<Session>(*this, ServerLayer<Stream>::make(std::move(socket), tls_));
      sessions_.push_back(session);
      session->start();
      accept();
    });
  }

  boost::asio::io_context& ioc_;
  WsServerConfig config_;
  boost::asio::ssl::context* tls_;
  tcp::acceptor acceptor_;
  std::list<std::shared_ptr<Session>> sessions_;
};

}  // namespace stompwire::test
