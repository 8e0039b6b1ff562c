// SPDX-License-Identifier: MIT
// `/api/events` (see server.hpp): Server-Sent Events over a chunked response. At most one write is
// under way per stream; what to send next is decided only when it completed, so memory per stream
// stays bounded (the list is one string shared by all, the output is read from its file in steps).
#include "server.hpp"

#include "../json_views.hpp"

#include <spmi/log.hpp>

namespace spmi::web {

namespace {

constexpr auto k_ping = std::chrono::seconds(15);

// How many bytes at the end of `text` start a UTF-8 sequence that is not complete yet (0 to 3).
std::size_t
split_utf8_tail(const std::string& text)
{
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) {
      continue;  // a continuation byte: look further back
    }
    const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

std::string
event(const char* name, const Json& data)
{
  // One data line: JSON escapes CR and LF, which SSE would take as line ends.
  return std::string("event: ") + name + "\ndata: " + data.dump(-1, ' ', false, Json::error_handler_t::replace) +
         "\n\n";
}

} // namespace

EventStream::EventStream(Server& server, beast::tcp_stream stream, std::unique_ptr<OutputFollower> follower,
                         std::string id, std::string stream_name)
  : m_server(server), m_stream(std::move(stream)), m_follower(std::move(follower)), m_id(std::move(id)),
    m_stream_name(std::move(stream_name)), m_deadline(server.ioc()), m_last_write(std::chrono::steady_clock::now())
{
  m_server.connection_opened();
}

EventStream::~EventStream()
{
  m_server.connection_closed();
}

void
EventStream::start()
{
  m_stream.expires_never();  // deadlines are ours (m_deadline): a pending read must not time out
  beast::error_code ignored;
  // A small send buffer: a client that never reads holds little of the kernel's memory too.
  m_stream.socket().set_option(net::socket_base::send_buffer_size(64 * 1024), ignored);
  m_header.version(11);
  m_header.result(http::status::ok);
  m_header.set(http::field::content_type, "text/event-stream");
  security_headers(m_header);
  m_header.chunked(true);
  m_serializer = std::make_unique<http::response_serializer<http::empty_body>>(m_header);
  m_deadline.expires_after(k_write_timeout);
  m_deadline.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (auto self = weak.lock(); self && !ec) {
      self->close();
    }
  });
  http::async_write_header(m_stream, *m_serializer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->m_deadline.cancel();
    if (ec) {
      return self->close();
    }
    self->m_started = true;
    self->write(std::make_shared<const std::string>("retry: 2000\n\n"));
  });
  // One read always pending: the peer's close is seen at once (what it sends is dropped).
  struct Reader
  {
    static void read(const std::shared_ptr<EventStream>& self)
    {
      self->m_stream.async_read_some(net::buffer(self->m_discard), [self](beast::error_code ec, std::size_t) {
        if (ec) {
          return self->close();
        }
        read(self);
      });
    }
  };
  Reader::read(shared_from_this());
}

void
EventStream::pump()
{
  if (!m_started || m_writing || m_closed) {
    return;
  }
  if (m_bye) {
    auto bye = std::make_shared<std::string>("event: bye\ndata: {}\n\n");
    m_writing = bye;
    m_deadline.expires_after(std::chrono::seconds(1));
    m_deadline.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock(); self && !ec) {
        self->close();
      }
    });
    net::async_write(m_stream, http::make_chunk(net::buffer(*bye)), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        return self->close();
      }
      net::async_write(self->m_stream, http::make_chunk_last(), [self](beast::error_code, std::size_t) { self->close(); });
    });
    return;
  }
  const auto list = m_server.list_event();
  if (list && list != m_sent_list) {
    m_sent_list = list;
    return write(list);
  }
  if (m_follower && !m_server.listed(m_id) && list) {
    m_follower.reset();  // cleaned: nothing more to follow
  }
  if (m_follower && next_log_event()) {
    return;
  }
  if (std::chrono::steady_clock::now() - m_last_write >= k_ping) {
    write(std::make_shared<const std::string>(": ping\n\n"));
  }
}

bool
EventStream::next_log_event()
{
  try {
    if (m_skipped > 0) {
      const auto skipped = std::exchange(m_skipped, 0);
      write(std::make_shared<const std::string>(
        event("skipped", Json{{"id", m_id}, {"stream", m_stream_name}, {"bytes", skipped}})));
      return true;
    }
    std::string text = std::move(m_carry);
    m_carry.clear();
    const auto before = text.size();
    m_follower->pump([&text](const char* data, std::size_t size) { text.append(data, size); }, k_log_step);
    if (text.size() == before && before == 0) {
      return false;
    }
    const auto tail = split_utf8_tail(text);
    m_carry = text.substr(text.size() - tail);
    text.resize(text.size() - tail);
    if (text.empty()) {
      return false;
    }
    const auto offset = m_offset;
    m_offset += text.size();
    if (m_follower->lag() > k_log_behind) {
      m_skipped = m_follower->skip_to_end();  // too slow a reader: jump ahead, say so next
      m_offset += m_skipped;
      logger()->debug("spmi web: a stream of '{}' fell behind; skipped {} bytes", m_id, m_skipped);
    }
    write(std::make_shared<const std::string>(
      event("log", Json{{"id", m_id}, {"stream", m_stream_name}, {"offset", offset}, {"text", text}})));
    return true;
  } catch (const std::exception& e) {
    logger()->warn("spmi web: following '{}': {}", m_id, e.what());
    m_follower.reset();
    return false;
  }
}

void
EventStream::write(std::shared_ptr<const std::string> message)
{
  if (message->size() > k_queued_max && message != m_server.list_event()) {
    logger()->warn("spmi web: an event of {} bytes is over the bound; closing the stream", message->size());
    return close();
  }
  m_writing = std::move(message);
  m_last_write = std::chrono::steady_clock::now();
  // A peer that stops reading: the write does not complete, and the deadline closes the stream.
  m_deadline.expires_after(k_write_timeout);
  m_deadline.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (auto self = weak.lock(); self && !ec) {
      logger()->debug("spmi web: a client did not read for {} s; closing its stream", k_write_timeout.count());
      self->close();
    }
  });
  net::async_write(m_stream, http::make_chunk(net::buffer(*m_writing)),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_written(ec); });
}

void
EventStream::on_written(beast::error_code ec)
{
  m_deadline.cancel();
  m_writing.reset();
  if (ec) {
    return close();
  }
  pump();
}

void
EventStream::close_with_bye()
{
  m_bye = true;
  if (!m_started) {
    return close();
  }
  pump();  // now, or when the write under way completed
}

void
EventStream::close()
{
  if (m_closed) {
    return;
  }
  m_closed = true;
  m_deadline.cancel();
  beast::error_code ignored;
  m_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  m_stream.socket().close(ignored);
}

} // namespace spmi::web
