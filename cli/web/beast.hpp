// SPDX-License-Identifier: MIT
// Boost.Beast and Asio (Boost 1.74, header only) as `spmi web` uses them, and its short names.
#pragma once

#include <utility>  // before any Asio header: GCC 12 with -std=c++20 needs std::exchange there

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace spmi::web {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The headers every response carries: a strict CSP (the page has no inline script or style), no
// sniffing, no referrer, no caching, no cross-origin reads, no framing.
template <typename Fields>
void
security_headers(Fields& fields)
{
  fields.set("Content-Security-Policy",
             "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  fields.set("X-Content-Type-Options", "nosniff");
  fields.set("Referrer-Policy", "no-referrer");
  fields.set(http::field::cache_control, "no-store");
  fields.set("Cross-Origin-Resource-Policy", "same-origin");
  fields.set(http::field::server, "spmi");
}

} // namespace spmi::web
