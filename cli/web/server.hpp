// SPDX-License-Identifier: MIT
// `spmi web`'s server: one I/O thread (the main one) owns the acceptor, every connection, the timers
// and the signals; two workers (worker.hpp) make the Controller calls, a reader (list, status,
// output followers) and an actor (start, stop, kill, restart), so a long stop never delays the list.
#pragma once

#include "auth.hpp"
#include "beast.hpp"
#include "worker.hpp"

#include "../json_views.hpp"

#include <spmi/follow.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <set>
#include <string>

namespace spmi::web {

using cli::entry_json;
using cli::Json;
using cli::json_document;
using cli::list_document;
using cli::status_json;

class EventStream;

// The bounds (web-dashboard.md section 4): a client costs at most these, whatever it does.
constexpr std::size_t k_max_connections = 512;     // beyond: 503
constexpr std::size_t k_max_streams = 256;         // open /api/events; beyond: 503
constexpr std::size_t k_header_limit = 8192;       // beyond: 431
constexpr std::size_t k_body_limit = 4096;         // beyond: 413
constexpr std::size_t k_log_step = 32 * 1024;      // output read per event, only once the last one went
constexpr std::uint64_t k_log_behind = 1 << 20;    // further behind than this: skip to the end
constexpr std::size_t k_log_backlog = 64 * 1024;   // output sent first when a stream opens
constexpr std::size_t k_queued_max = 256 * 1024;   // bytes a connection may have waiting: more closes it
constexpr auto k_read_timeout = std::chrono::seconds(30);
constexpr auto k_write_timeout = std::chrono::seconds(10);

class Server
{
public:
  Server(net::io_context& ioc, tcp::acceptor acceptor, Auth auth);
  ~Server();

  // Serves until SIGINT or SIGTERM, then ends every connection and returns (tasks are not touched).
  void run();

  net::io_context& ioc() { return m_ioc; }
  // After run(): waits up to `limit` for the action under way, if any; false when it did not finish.
  bool actor_idle_within(std::chrono::milliseconds limit) { return m_reader.idle_within(limit) && m_actor.idle_within(limit); }
  Auth& auth() { return m_auth; }
  Worker& reader() { return m_reader; }
  Worker& actor() { return m_actor; }
  bool stopping() const { return m_stopping; }

  // Connections: counted from accept to close.
  void connection_opened() { ++m_connections; }
  void connection_closed() { --m_connections; }
  std::size_t connections() const { return m_connections; }
  // True when k_max_streams event streams are open.
  bool streams_full();
  // Registers an event stream (see streams_full()).
  void add_stream(const std::shared_ptr<EventStream>& stream);
  // Calls `close` at shutdown while `owner` lives (an HTTP connection waiting for a request).
  void add_closer(std::weak_ptr<void> owner, std::function<void()> close);
  // The latest `event: list` message (shared by every stream), null before the first.
  std::shared_ptr<const std::string> list_event() const { return m_list_event; }
  // True while `id` is in the latest list.
  bool listed(const std::string& id) const { return m_ids.count(id) > 0; }

private:
  void accept();
  void tick();
  void refresh_list();
  void shutdown();
  void wait_closed(std::chrono::steady_clock::time_point deadline);

  net::io_context& m_ioc;
  tcp::acceptor m_acceptor;
  Auth m_auth;
  net::signal_set m_signals;
  net::steady_timer m_timer;
  Worker m_reader;
  Worker m_actor;
  std::list<std::weak_ptr<EventStream>> m_streams;
  std::list<std::pair<std::weak_ptr<void>, std::function<void()>>> m_closers;
  std::shared_ptr<const std::string> m_list_event;
  std::set<std::string> m_ids;
  std::size_t m_connections = 0;
  unsigned m_ticks = 0;
  bool m_refreshing = false;
  bool m_stopping = false;
};

// One HTTP connection: reads requests (bounded), checks them (auth.hpp), answers them or hands the
// socket to an EventStream (http_session.cpp).
void start_session(Server& server, tcp::socket socket);

// An `/api/events` stream: `list` events, the followed output as `log` events (read from the file only
// once the last event went, so a slow reader costs an offset, not memory), `skipped`, `bye` (events.cpp).
class EventStream : public std::enable_shared_from_this<EventStream>
{
public:
  // `follower`, when set, follows output `id`/`stream_name` from where it was started.
  EventStream(Server& server, beast::tcp_stream stream, std::unique_ptr<OutputFollower> follower, std::string id,
              std::string stream_name);
  ~EventStream();
  // Sends the header and the first events.
  void start();
  // Sends what is due, when no write is under way: the list when it changed, output, a ping.
  void pump();
  // Sends `event: bye`, ends the body and closes.
  void close_with_bye();

private:
  void write(std::shared_ptr<const std::string> message);
  void on_written(beast::error_code ec);
  void close();
  bool next_log_event();

  Server& m_server;
  beast::tcp_stream m_stream;
  std::unique_ptr<OutputFollower> m_follower;
  std::string m_id;
  std::string m_stream_name;
  std::shared_ptr<const std::string> m_sent_list;
  std::shared_ptr<const std::string> m_writing;
  http::response<http::empty_body> m_header;
  std::unique_ptr<http::response_serializer<http::empty_body>> m_serializer;
  net::steady_timer m_deadline;
  std::array<char, 512> m_discard{};
  std::string m_carry;  // the start of a UTF-8 sequence split by a read, sent with the next text
  std::uint64_t m_offset = 0;
  std::uint64_t m_skipped = 0;
  std::chrono::steady_clock::time_point m_last_write;
  bool m_started = false;
  bool m_bye = false;
  bool m_closed = false;
};

} // namespace spmi::web
