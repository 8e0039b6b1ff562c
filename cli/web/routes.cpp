// SPDX-License-Identifier: MIT
// What `spmi web` answers (web-contract.md): every request's Host, Origin and credentials checked
// first, then the page's files, the API (its documents are exactly `list --json` and `status --json`;
// actions say what the CLI would), and the event stream.
#include "session.hpp"

#include "../commands.hpp"
#include "../json_views.hpp"
#include "assets.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>

namespace spmi::web {

namespace {

const char* const k_actions[] = {"start", "stop", "restart", "kill"};

bool
is_action(const std::string& word)
{
  for (const char* action : k_actions) {
    if (word == action) {
      return true;
    }
  }
  return false;
}

} // namespace

bool
HttpSession::authorized(bool& by_cookie, std::string& session)
{
  if (m_server.auth().bearer(m_request)) {
    return true;
  }
  if (const auto id = m_server.auth().session(m_request)) {
    by_cookie = true;
    session = *id;
    return true;
  }
  return false;
}

void
HttpSession::handle()
{
  if (const auto refusal = m_server.auth().check_origin(m_request)) {
    return refuse(refusal->status, refusal->message);
  }
  const std::string target(m_request.target());
  const auto mark = target.find('?');
  const auto decoded = percent_decode(std::string_view(target).substr(0, mark));
  const std::string query = mark == std::string::npos ? "" : target.substr(mark + 1);
  if (!decoded) {
    return refuse(http::status::bad_request, "malformed path");
  }
  const std::string& path = *decoded;
  const auto method = m_request.method();
  if (path == "/" && method == http::verb::get && query_value(query, "token")) {
    // The token for a session cookie, and a redirect that takes the token out of the address bar.
    if (!same_secret(*query_value(query, "token"), m_server.auth().token())) {
      return refuse(http::status::unauthorized, "wrong token: use the URL `spmi web` printed");
    }
    const auto cookie = m_server.auth().set_cookie(m_server.auth().new_session());
    return reply(http::status::see_other, "", false, "text/plain", [cookie](Response& r) {
      r.set(http::field::location, "/");
      r.set(http::field::set_cookie, cookie);
    });
  }
  bool by_cookie = false;
  std::string session;
  if (!authorized(by_cookie, session)) {
    return refuse(http::status::unauthorized, "a token is needed: open the URL `spmi web` printed, or send "
                                              "`Authorization: Bearer <token>` ($SPMI_PATH/.web-token)");
  }
  if (method == http::verb::post) {
    if (by_cookie && (m_request.find(http::field::origin) == m_request.end() ||
                      !m_server.auth().csrf_matches(session, std::string(m_request["X-Spmi-Csrf"])))) {
      return refuse(http::status::forbidden, "a POST needs its Origin and the X-Spmi-Csrf header (GET /api/session)");
    }
    if (m_request[http::field::content_type].substr(0, 16) != "application/json") {
      return refuse(http::status::unsupported_media_type, "a POST needs Content-Type: application/json");
    }
  }
  m_session = session;
  const bool get = method == http::verb::get;
  struct Asset
  {
    const char* path;
    const char* type;
    std::string_view (*body)();
  };
  static const Asset assets[] = {{"/", "text/html; charset=utf-8", asset_index_html},
                                 {"/app.js", "text/javascript; charset=utf-8", asset_app_js},
                                 {"/app.css", "text/css; charset=utf-8", asset_app_css}};
  for (const auto& asset : assets) {
    if (path == asset.path) {
      return get ? reply(http::status::ok, std::string(asset.body()), false, asset.type)
                 : refuse(http::status::method_not_allowed, "use GET");
    }
  }
  if (path == "/favicon.ico") {
    return get ? reply(http::status::no_content, "", false, "image/x-icon")
               : refuse(http::status::method_not_allowed, "use GET");
  }
  serve_api(path, query);
}

void
HttpSession::serve_api(const std::string& path, const std::string& query)
{
  const auto method = m_request.method();
  const bool get = method == http::verb::get;
  constexpr std::string_view prefix = "/api/manageables/";
  if (path == "/api/session" || path == "/api/list" || path == "/api/events") {
    if (!get) {
      return refuse(http::status::method_not_allowed, "use GET");
    }
    if (path == "/api/session") {
      const auto csrf = m_session.empty() ? Json(nullptr) : Json(m_server.auth().csrf(m_session));
      return reply(http::status::ok, Json{{"csrf", csrf}}.dump() + "\n");
    }
    if (path == "/api/events") {
      return serve_events(query);
    }
    const bool queued = m_server.reader().post([self = shared_from_this()](Worker::Context& context) {
      std::string body;
      auto status = http::status::ok;
      try {
        body = list_document(context.controller().list(), Clock::now());
      } catch (...) {
        status = error_status(std::current_exception()).first;
        body = error_body(context.captured());
      }
      net::post(self->m_server.ioc(), [self, status, body = std::move(body)]() mutable {
        self->reply(status, std::move(body));
      });
    });
    return queued ? void() : refuse(http::status::service_unavailable, "busy: try again");
  }
  if (path.compare(0, prefix.size(), prefix) == 0) {
    const auto rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    const auto id = rest.substr(0, slash);
    if (slash == std::string::npos) {
      return get ? serve_status(id) : refuse(http::status::method_not_allowed, "use GET");
    }
    const auto action = rest.substr(slash + 1);
    if (is_action(action)) {
      return method == http::verb::post ? serve_action(id, action)
                                        : refuse(http::status::method_not_allowed, "actions are POST only");
    }
  }
  refuse(http::status::not_found, "no such page");
}

void
HttpSession::serve_status(const std::string& id)
{
  const bool queued = m_server.reader().post([self = shared_from_this(), id](Worker::Context& context) {
    std::string body;
    auto status = http::status::ok;
    try {
      auto& controller = context.controller();
      if (!controller.loaded(id)) {
        status = http::status::not_found;
        body = error_body("no manageable '" + id + "' is loaded");
      } else {
        auto outcome = controller.status_all({id}, 10);
        if (outcome.at(0).error) {
          std::rethrow_exception(outcome.at(0).error);
        }
        body = json_document(Json::array({status_json(*outcome.at(0).status, Clock::now())}));
      }
    } catch (const std::exception& e) {
      status = error_status(std::current_exception()).first;
      body = error_body(e.what());
    }
    net::post(self->m_server.ioc(), [self, status, body = std::move(body)]() mutable {
      self->reply(status, std::move(body));
    });
  });
  if (!queued) {
    refuse(http::status::service_unavailable, "busy: try again");
  }
}

void
HttpSession::serve_action(const std::string& id, const std::string& action)
{
  const bool queued = m_server.actor().post([self = shared_from_this(), id, action](Worker::Context& context) {
    int exit = 0;
    auto status = http::status::ok;
    try {
      auto& controller = context.controller();
      if (!controller.loaded(id)) {
        status = http::status::not_found;
        context.log.error("no manageable '{}' is loaded (see `spmi list`)", id);
        exit = exit_status::k_failed;
      } else {
        const auto result = cli::run_batch(controller, action, {id}, context.log);
        exit = result.status;
        if (result.first_error) {
          status = error_status(result.first_error).first;
        } else if (exit != 0) {
          status = http::status::internal_server_error;
        }
      }
    } catch (...) {
      std::tie(status, exit) = error_status(std::current_exception());
      try {
        throw;
      } catch (const std::exception& e) {
        context.log.error("{}", e.what());
      }
    }
    auto body = Json{{"exit", exit}, {"message", context.captured()}}.dump(-1, ' ', false, Json::error_handler_t::replace);
    net::post(self->m_server.ioc(), [self, status, body = std::move(body) + "\n"]() mutable {
      self->reply(status, std::move(body));
    });
  });
  if (!queued) {
    refuse(http::status::service_unavailable, "busy: an action is running; try again");
  }
}

void
HttpSession::serve_events(const std::string& query)
{
  const auto id = query_value(query, "log");
  const auto stream = query_value(query, "stream").value_or("stdout");
  if (stream != "stdout" && stream != "stderr") {
    return refuse(http::status::bad_request, "stream is stdout or stderr");
  }
  auto self = shared_from_this();
  auto open = [self, id, stream](std::unique_ptr<OutputFollower> follower) {
    if (self->m_server.streams_full()) {
      return self->refuse(http::status::service_unavailable, "too many event streams are open");
    }
    auto events = std::make_shared<EventStream>(self->m_server, std::move(self->m_stream), std::move(follower),
                                                id.value_or(""), stream);
    self->m_server.add_stream(events);
    events->start();
  };
  if (m_server.stopping()) {
    return refuse(http::status::service_unavailable, "shutting down");
  }
  if (!id) {
    return open(nullptr);
  }
  const bool queued = m_server.reader().post([self, id = *id, stream, open](Worker::Context& context) {
    std::shared_ptr<OutputFollower> follower;
    std::string error;
    auto status = http::status::ok;
    try {
      auto& controller = context.controller();
      if (!controller.loaded(id)) {
        status = http::status::not_found;
        error = "no manageable '" + id + "' is loaded";
      } else {
        const auto name = stream == "stderr" && controller.stderr_in_stdout(id) ? "stdout" : stream;
        follower = std::make_shared<OutputFollower>(controller.follow_output(id, name));
        follower->start_at_tail_bytes(k_log_backlog);
      }
    } catch (const std::exception& e) {
      status = error_status(std::current_exception()).first;
      error = e.what();
    }
    net::post(self->m_server.ioc(), [self, status, error, follower, open]() {
      if (status != http::status::ok) {
        return self->refuse(status, error);
      }
      open(std::make_unique<OutputFollower>(std::move(*follower)));
    });
  });
  if (!queued) {
    refuse(http::status::service_unavailable, "busy: try again");
  }
}

} // namespace spmi::web
