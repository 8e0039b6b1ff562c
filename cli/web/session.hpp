// SPDX-License-Identifier: MIT
// One HTTP connection of `spmi web` (http_session.cpp reads and answers, routes.cpp decides).
#pragma once

#include "server.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace spmi::web {

// The HTTP status of an error the Controller threw, and its exit status (errors.hpp).
std::pair<http::status, int> error_status(const std::exception_ptr& error);
// {"error": message}
std::string error_body(const std::string& message);

class HttpSession : public std::enable_shared_from_this<HttpSession>
{
public:
  HttpSession(Server& server, tcp::socket socket) : m_server(server), m_stream(std::move(socket))
  {
    m_server.connection_opened();
  }
  ~HttpSession() { m_server.connection_closed(); }

  void read()
  {
    if (m_server.stopping()) {
      return close();
    }
    m_parser.emplace();
    m_parser->header_limit(k_header_limit);
    m_parser->body_limit(k_body_limit);
    m_stream.expires_after(k_read_timeout);
    http::async_read(m_stream, m_buffer, *m_parser, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void close()
  {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    m_stream.socket().close(ignored);
  }

private:
  void on_read(beast::error_code ec)
  {
    if (ec == http::error::header_limit) {
      return reply(http::status::request_header_fields_too_large, error_body("request header too large"), true);
    }
    if (ec == http::error::body_limit) {
      return reply(http::status::payload_too_large, error_body("request body too large"), true);
    }
    if (ec) {
      return close();  // closed, timed out, or not HTTP
    }
    m_request = m_parser->release();
    handle();
  }

  // Answers with `body` (JSON unless `type` says otherwise) and every security header.
  void reply(http::status status, std::string body, bool close_after = false,
             const char* type = "application/json", std::function<void(Response&)> extra = {})
  {
    auto response = std::make_shared<Response>(status, 11);
    response->set(http::field::content_type, type);
    security_headers(*response);
    if (extra) {
      extra(*response);
    }
    response->body() = std::move(body);
    response->keep_alive(!close_after && m_request.keep_alive() && !m_server.stopping());
    response->prepare_payload();
    m_stream.expires_after(k_write_timeout);
    http::async_write(m_stream, *response, [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
      if (ec || !response->keep_alive()) {
        return self->close();
      }
      self->read();
    });
  }

  void refuse(http::status status, const std::string& message) { reply(status, error_body(message)); }

  // Checks the request and routes it (routes.cpp).
  void handle();
  bool authorized(bool& by_cookie, std::string& session);
  void serve_api(const std::string& path, const std::string& query);
  void serve_action(const std::string& id, const std::string& action);
  void serve_events(const std::string& query);
  void serve_status(const std::string& id);

  Server& m_server;
  beast::tcp_stream m_stream;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  Request m_request;
  std::string m_session;
};

} // namespace spmi::web
