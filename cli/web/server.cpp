// SPDX-License-Identifier: MIT
// `spmi web`'s server loop (see server.hpp): accepts, ticks the event streams, refreshes the list,
// and ends cleanly on SIGINT or SIGTERM.
#include "server.hpp"

#include "../json_views.hpp"

#include <spmi/log.hpp>

#include <csignal>

namespace spmi::web {

namespace {

constexpr auto k_tick = std::chrono::milliseconds(250);
constexpr unsigned k_ticks_per_list = 4;  // the list is checked every second

} // namespace

Server::Server(net::io_context& ioc, tcp::acceptor acceptor, Auth auth)
  : m_ioc(ioc), m_acceptor(std::move(acceptor)), m_auth(std::move(auth)), m_signals(ioc, SIGINT, SIGTERM),
    m_timer(ioc), m_reader("reader", 64), m_actor("actor", 8)
{
}

Server::~Server() = default;

void
Server::run()
{
  m_signals.async_wait([this](beast::error_code ec, int signo) {
    if (!ec) {
      logger()->info("spmi web: {} received, closing (tasks keep running)", signo == SIGINT ? "SIGINT" : "SIGTERM");
      shutdown();
    }
  });
  accept();
  tick();
  m_ioc.run();
}

void
Server::accept()
{
  m_acceptor.async_accept(net::make_strand(m_ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (m_stopping) {
      return;
    }
    if (ec) {
      // EMFILE and the like: wait a tick rather than spin.
      logger()->debug("spmi web: accept: {}", ec.message());
      auto timer = std::make_shared<net::steady_timer>(m_ioc, k_tick);
      timer->async_wait([this, timer](beast::error_code) {
        if (!m_stopping) {
          accept();
        }
      });
      return;
    }
    if (m_connections >= k_max_connections) {
      // Refused without reading anything: one short answer the socket buffer takes at once.
      static const std::string busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                      "Connection: close\r\nContent-Length: 36\r\n\r\n"
                                      "{\"error\": \"too many connections\"}\n\n";
      beast::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(net::buffer(busy), ignored);
      socket.close(ignored);
    } else {
      start_session(*this, std::move(socket));
    }
    accept();
  });
}

bool
Server::streams_full()
{
  m_streams.remove_if([](const auto& weak) { return weak.expired(); });
  return m_streams.size() >= k_max_streams;
}

void
Server::add_stream(const std::shared_ptr<EventStream>& stream)
{
  m_streams.push_back(stream);
}

void
Server::add_closer(std::weak_ptr<void> owner, std::function<void()> close)
{
  m_closers.remove_if([](const auto& entry) { return entry.first.expired(); });
  m_closers.emplace_back(std::move(owner), std::move(close));
}

void
Server::tick()
{
  if (m_stopping) {
    return;
  }
  for (auto it = m_streams.begin(); it != m_streams.end();) {
    if (auto stream = it->lock()) {
      stream->pump();
      ++it;
    } else {
      it = m_streams.erase(it);
    }
  }
  if (++m_ticks % k_ticks_per_list == 1 && !m_streams.empty()) {
    refresh_list();
  }
  m_timer.expires_after(k_tick);
  m_timer.async_wait([this](beast::error_code ec) {
    if (!ec) {
      tick();
    }
  });
}

void
Server::refresh_list()
{
  if (m_refreshing) {
    return;  // the last one has not come back yet
  }
  m_refreshing = m_reader.post([this](Worker::Context& context) {
    auto message = std::make_shared<std::string>();
    std::set<std::string> ids;
    try {
      const auto views = context.controller().list();
      Json list = Json::array();
      for (const auto& view : views) {
        list.push_back(entry_json(view, Clock::now()));
        ids.insert(view.id);
      }
      const auto document = Json::parse(json_document(list));
      *message = "event: list\ndata: " + document.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
    } catch (const std::exception& e) {
      logger()->error("spmi web: list: {}", e.what());
      message.reset();
    }
    net::post(m_ioc, [this, message, ids = std::move(ids)]() mutable {
      m_refreshing = false;
      if (message && !m_stopping && (!m_list_event || *m_list_event != *message)) {
        m_list_event = std::move(message);
        m_ids = std::move(ids);
        for (const auto& weak : m_streams) {
          if (auto stream = weak.lock()) {
            stream->pump();
          }
        }
      }
    });
  });
}

void
Server::shutdown()
{
  m_stopping = true;
  beast::error_code ignored;
  m_acceptor.close(ignored);
  m_timer.cancel();
  m_signals.cancel();
  m_reader.stop();
  m_actor.stop();  // the action under way finishes (it holds the manageable's lock); see cmd_web
  for (const auto& weak : m_streams) {
    if (auto stream = weak.lock()) {
      stream->close_with_bye();
    }
  }
  for (const auto& [owner, close] : m_closers) {
    if (auto alive = owner.lock()) {
      close();
    }
  }
  // Done when every connection closed; a peer that does not take the last bytes keeps us 3 s at most.
  wait_closed(std::chrono::steady_clock::now() + std::chrono::seconds(3));
}

void
Server::wait_closed(std::chrono::steady_clock::time_point deadline)
{
  if (m_connections == 0 || std::chrono::steady_clock::now() >= deadline) {
    m_ioc.stop();
    return;
  }
  m_timer.expires_after(std::chrono::milliseconds(20));
  m_timer.async_wait([this, deadline](beast::error_code) { wait_closed(deadline); });
}

} // namespace spmi::web
