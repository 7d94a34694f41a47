// Internal: STOMP over WebSocket with Boost.Beast. Included by ws_plain.cpp and ws_tls.cpp only, so
// each translation unit instantiates one stream type (compile time and memory, see TOOLCHAIN.md).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <optional>
#include <type_traits>

#include "connection.hpp"

namespace stompwire::native::detail {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Hooks that differ between ws:// and wss:// (the TLS handshake); specialised in each TU.
template <class NextLayer>
struct WsLayer;

template <class NextLayer>
class WsConnection final : public ConnectionBase {
 public:
  using Layer = WsLayer<NextLayer>;

  WsConnection(boost::asio::any_io_executor executor, TransportListener& listener,
               std::shared_ptr<SharedConfig> config, std::shared_ptr<boost::asio::ssl::context> context)
      : ConnectionBase(executor, listener, std::move(config)),
        context_(std::move(context)),
        resolver_(executor),
        ws_(Layer::make(executor, context_.get())) {}

 private:
  void doConnect() override {
    std::string problem;
    for (const auto& [name, value] : options().headers) {
      if (!validHeaderName(name) || !validHeaderValue(value)) {
        problem = "invalid handshake header '" + name + "'";
      }
    }
    for (const auto& p : offered_) {
      if (!validHeaderName(p)) problem = "invalid subprotocol '" + p + "'";
    }
    if (!problem.empty()) {
      boost::asio::post(executor_, [self = self<WsConnection>(), problem] {
        self->fail(errc::invalid_argument, problem);
      });
      return;
    }
    resolver_.async_resolve(url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
                            [self = self<WsConnection>()](const beast::error_code& ec, tcp::resolver::results_type r) {
                              self->onResolve(ec, std::move(r));
                            });
  }

  void onResolve(const beast::error_code& ec, tcp::resolver::results_type results) {
    if (stopped()) return;
    if (ec) return fail(errc::transport_error, "resolve " + url_.host + ": " + describe(ec));
    beast::get_lowest_layer(ws_).async_connect(
        results, [self = self<WsConnection>()](const beast::error_code& e, const tcp::endpoint& endpoint) {
          self->onConnect(e, endpoint);
        });
  }

  void onConnect(const beast::error_code& ec, const tcp::endpoint& endpoint) {
    if (stopped()) return;
    if (ec) return fail(mapConnectError(ec), "connect " + url_.hostHeader() + ": " + describe(ec));
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    log("connected to " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()));
    if constexpr (Layer::kTls) {
      armDeadline(options().handshakeTimeout, "TLS handshake");
      std::string problem = Layer::prepare(ws_.next_layer(), url_, options().tls);
      if (!problem.empty()) return fail(errc::invalid_argument, problem);
      Layer::handshake(ws_.next_layer(), [self = self<WsConnection>()](const beast::error_code& e) {
        self->onTlsHandshake(e);
      });
    } else {
      startUpgrade();
    }
  }

  void onTlsHandshake(const beast::error_code& ec) {
    if (stopped()) return;
    if (ec) return fail(errc::transport_error, "TLS handshake with " + url_.hostHeader() + ": " + Layer::describe(ws_.next_layer(), ec));
    startUpgrade();
  }

  void startUpgrade() {
    armDeadline(options().handshakeTimeout, "WebSocket handshake");
    std::string protocols;
    for (const auto& p : offered_) protocols += (protocols.empty() ? "" : ", ") + p;
    ws_.set_option(websocket::stream_base::decorator(
        [protocols, headers = options().headers, agent = options().userAgent](websocket::request_type& req) {
          req.set(http::field::user_agent, agent);
          if (!protocols.empty()) req.set(http::field::sec_websocket_protocol, protocols);
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
    // The transport's own deadline covers the handshakes and the close; Beast's timers stay off.
    ws_.set_option(websocket::stream_base::timeout{websocket::stream_base::none(), websocket::stream_base::none(), false});
    websocket::permessage_deflate deflate;
    deflate.client_enable = options().permessageDeflate;
    ws_.set_option(deflate);
    ws_.read_message_max(options().maxMessageSize);
    ws_.async_handshake(response_, url_.hostHeader(), url_.target(),
                        [self = self<WsConnection>()](const beast::error_code& ec) { self->onUpgrade(ec); });
  }

  void onUpgrade(const beast::error_code& ec) {
    if (stopped()) return;
    if (ec) {
      const auto status = response_.result_int();
      if (ec == websocket::error::upgrade_declined && status != 0) {
        const std::string text = "WebSocket upgrade to " + url_.toString() + " declined: HTTP " +
                                 std::to_string(status) + " " + std::string(response_.reason());
        if (status == 401) return fail(errc::unauthorized, text);
        if (status == 403) return fail(errc::forbidden, text);
        return fail(errc::transport_error, text);
      }
      return fail(mapError(ec), "WebSocket handshake with " + url_.hostHeader() + ": " + describe(ec));
    }
    const std::string chosen(response_[http::field::sec_websocket_protocol]);
    if (!chosen.empty() && std::find(offered_.begin(), offered_.end(), chosen) == offered_.end()) {
      return fail(errc::protocol_error, "server chose subprotocol '" + chosen + "', which was not offered");
    }
    response_ = {};
    readNext();
    connected(chosen);
  }

  void readNext() {
    ws_.async_read(buffer_, [self = self<WsConnection>()](const beast::error_code& ec, std::size_t) {
      self->onRead(ec);
    });
  }

  void onRead(const beast::error_code& ec) {
    if (stopped()) return;
    if (ec == websocket::error::closed) {
      // A close frame arrived. If we started the close, onCloseDone reports it; otherwise Beast has
      // already answered the peer's close frame and torn the connection down.
      if (closing_) return;
      const auto& r = ws_.reason();
      return finish(r.code == websocket::close_code::none ? 1005 : static_cast<int>(r.code),
                    std::string(r.reason.data(), r.reason.size()), true);
    }
    if (ec) {
      if (closing_) return;  // the close operation reports
      return fail(mapError(ec), "read: " + describe(ec));
    }
    const auto data = buffer_.cdata();
    deliverMessage(std::string_view(static_cast<const char*>(data.data()), data.size()), !ws_.got_text());
    buffer_.consume(buffer_.size());
    if (!stopped()) readNext();
  }

  void doWrite(const Outgoing& message) override {
    ws_.text(!message.binary);
    ws_.async_write(boost::asio::buffer(message.data),
                    [self = self<WsConnection>()](const beast::error_code& ec, std::size_t) { self->writeDone(ec); });
  }

  void doClose(int code, const std::string& reason) override {
    closing_ = true;
    websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
    ws_.async_close(cr, [self = self<WsConnection>(), code, reason](const beast::error_code& ec) {
      self->onCloseDone(ec, code, reason);
    });
  }

  void onCloseDone(const beast::error_code& ec, int code, const std::string& reason) {
    if (stopped()) return;
    const auto& r = ws_.reason();
    const bool peerReplied = r.code != websocket::close_code::none;
    if (ec && ec != websocket::error::closed && !peerReplied) {
      return finish(1006, "close handshake: " + describe(ec), false);
    }
    if (peerReplied) return finish(static_cast<int>(r.code), std::string(r.reason.data(), r.reason.size()), true);
    finish(code, reason, true);
  }

  void abortIo() noexcept override {
    resolver_.cancel();
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  static std::error_code mapConnectError(const beast::error_code& ec) {
    return ec == boost::asio::error::timed_out ? std::error_code(errc::connect_timeout) : mapError(ec);
  }

  std::shared_ptr<boost::asio::ssl::context> context_;
  tcp::resolver resolver_;
  websocket::stream<NextLayer> ws_;
  beast::flat_buffer buffer_;
  websocket::response_type response_;
  bool closing_ = false;
};

}  // namespace stompwire::native::detail
