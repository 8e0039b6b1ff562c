// SPDX-License-Identifier: MIT
// `spmi web`'s checks on every request: the Host and Origin it came with (no DNS rebinding, no other
// origin), and who sent it (the token as Bearer, or the session cookie the token was exchanged for,
// with its CSRF value on POSTs). Secrets are compared in constant time.
#pragma once

#include "beast.hpp"

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spmi::web {

// `bytes` random bytes from getrandom(2), hex-encoded. @throws SystemError when it fails.
std::string random_hex(std::size_t bytes);
// True when `a` and `b` are equal, in a time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);
// `text` with %XX decoded once ('+' is kept); nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);
// The value of `name` in a query string ("a=1&b=2"), decoded; nullopt when absent or malformed.
std::optional<std::string> query_value(std::string_view query, std::string_view name);

// A refusal: the status and the message of its {"error": ...} body.
struct Refusal
{
  http::status status;
  std::string message;
};

class Auth
{
public:
  // `hosts`: the Host values accepted ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", ...).
  Auth(std::string token, std::vector<std::string> hosts, unsigned short port);

  const std::string& token() const { return m_token; }
  // "spmi_<port>": the port is in the name, since cookies do not tell ports apart.
  const std::string& cookie_name() const { return m_cookie; }

  // Host not ours (403), Origin present and not exactly one of ours (403), Sec-Fetch-Site present and
  // not same-origin or none (403); nullopt when the request may go on.
  std::optional<Refusal> check_origin(const Request& request) const;
  // True when `Authorization: Bearer <token>` is right.
  bool bearer(const Request& request) const;
  // The session the request's cookie names, when it is one we made.
  std::optional<std::string> session(const Request& request) const;
  // True when `value` is `session`'s CSRF value.
  bool csrf_matches(const std::string& session, std::string_view value) const;
  // The CSRF value of `session` (which must exist).
  const std::string& csrf(const std::string& session) const { return m_sessions.at(session); }
  // A new session (the oldest forgotten beyond k_max_sessions): its ID, for the cookie.
  std::string new_session();
  // The Set-Cookie value for `session`.
  std::string set_cookie(const std::string& session) const;

  static constexpr std::size_t k_max_sessions = 64;

private:
  std::string m_token;
  std::vector<std::string> m_hosts;
  std::string m_cookie;
  std::map<std::string, std::string> m_sessions;  // session ID -> CSRF value
  std::deque<std::string> m_order;
};

} // namespace spmi::web
