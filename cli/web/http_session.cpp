// SPDX-License-Identifier: MIT
// `spmi web`'s HTTP connections (see server.hpp): a bounded read of one request at a time, its checks
// (auth.hpp), then the route: the page's files, the API (answered by a worker), or an event stream.
#include "session.hpp"

#include "../json_views.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>

#include <optional>

namespace spmi::web {

std::pair<http::status, int>
error_status(const std::exception_ptr& error)
{
  try {
    std::rethrow_exception(error);
  } catch (const UsageError& e) {
    return {http::status::bad_request, e.exit_code()};
  } catch (const DescriptorError& e) {
    return {http::status::bad_request, e.exit_code()};
  } catch (const StateError& e) {
    return {http::status::conflict, e.exit_code()};
  } catch (const BackendError& e) {
    return {http::status::bad_gateway, e.exit_code()};
  } catch (const Error& e) {
    return {http::status::internal_server_error, e.exit_code()};
  } catch (...) {
    return {http::status::internal_server_error, exit_status::k_failed};
  }
}

std::string
error_body(const std::string& message)
{
  return Json{{"error", message}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}


void
start_session(Server& server, tcp::socket socket)
{
  auto session = std::make_shared<HttpSession>(server, std::move(socket));
  server.add_closer(session, [weak = std::weak_ptr<HttpSession>(session)] {
    if (auto s = weak.lock()) {
      s->close();
    }
  });
  session->read();
}

} // namespace spmi::web
