// SPDX-License-Identifier: MIT
// `spmi web`'s request checks (see auth.hpp).
#include "auth.hpp"

#include <spmi/errors.hpp>

#include <sys/random.h>

#include <cerrno>

namespace spmi::web {

std::string
random_hex(std::size_t bytes)
{
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string hex;
  for (const unsigned char c : raw) {
    hex += k_digits[c >> 4];
    hex += k_digits[c & 15];
  }
  return hex;
}

bool
same_secret(std::string_view a, std::string_view b)
{
  if (a.size() != b.size() || a.empty()) {
    return false;  // the length of a token is no secret
  }
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::optional<std::string>
percent_decode(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const auto hex = [](char c) -> int {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
    i += 2;
  }
  return out;
}

std::optional<std::string>
query_value(std::string_view query, std::string_view name)
{
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return std::nullopt;
}

Auth::Auth(std::string token, std::vector<std::string> hosts, unsigned short port)
  : m_token(std::move(token)), m_hosts(std::move(hosts)), m_cookie("spmi_" + std::to_string(port))
{
}

std::optional<Refusal>
Auth::check_origin(const Request& request) const
{
  const auto host = request[http::field::host];
  bool known = false;
  for (const auto& ours : m_hosts) {
    known = known || host == ours;
  }
  if (!known) {
    return Refusal{http::status::forbidden, "this server answers only requests for its own address (Host)"};
  }
  const auto origin = request.find(http::field::origin);
  if (origin != request.end()) {
    bool ours = false;
    for (const auto& allowed : m_hosts) {
      ours = ours || origin->value() == "http://" + allowed;
    }
    if (!ours) {
      return Refusal{http::status::forbidden, "requests from another origin are refused"};
    }
  }
  const auto site = request.find("Sec-Fetch-Site");
  if (site != request.end() && site->value() != "same-origin" && site->value() != "none") {
    return Refusal{http::status::forbidden, "requests from another site are refused (Sec-Fetch-Site)"};
  }
  return std::nullopt;
}

bool
Auth::bearer(const Request& request) const
{
  const auto value = request[http::field::authorization];
  constexpr std::string_view prefix = "Bearer ";
  const std::string_view text(value.data(), value.size());
  return text.size() > prefix.size() && text.substr(0, prefix.size()) == prefix &&
         same_secret(text.substr(prefix.size()), m_token);
}

std::optional<std::string>
Auth::session(const Request& request) const
{
  for (auto it = request.find(http::field::cookie); it != request.end() && it->name() == http::field::cookie; ++it) {
    std::string_view cookies(it->value().data(), it->value().size());
    while (!cookies.empty()) {
      const auto semi = cookies.find(';');
      auto pair = cookies.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') {
        pair.remove_prefix(1);
      }
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == m_cookie) {
        const auto value = pair.substr(eq + 1);
        for (const auto& [id, csrf] : m_sessions) {
          if (same_secret(value, id)) {
            return id;
          }
        }
      }
      cookies = semi == std::string_view::npos ? std::string_view() : cookies.substr(semi + 1);
    }
  }
  return std::nullopt;
}

bool
Auth::csrf_matches(const std::string& session, std::string_view value) const
{
  const auto it = m_sessions.find(session);
  return it != m_sessions.end() && same_secret(value, it->second);
}

std::string
Auth::new_session()
{
  if (m_order.size() >= k_max_sessions) {
    m_sessions.erase(m_order.front());
    m_order.pop_front();
  }
  auto id = random_hex(32);
  m_sessions.emplace(id, random_hex(32));
  m_order.push_back(id);
  return id;
}

std::string
Auth::set_cookie(const std::string& session) const
{
  return m_cookie + "=" + session + "; HttpOnly; SameSite=Strict; Path=/";
}

} // namespace spmi::web
