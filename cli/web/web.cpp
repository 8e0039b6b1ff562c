// SPDX-License-Identifier: MIT
// `spmi web` (see web.hpp): the address checked and bound, the token made and written, the URL
// printed, then the server (server.hpp) runs on this thread.
#include "web.hpp"

#include "auth.hpp"
#include "server.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace spmi::web {

namespace {

// "127.0.0.1:8765", "[::1]:0", "localhost:8765" into an endpoint. @throws UsageError.
tcp::endpoint
parse_listen(const std::string& listen)
{
  const auto colon = listen.rfind(':');
  const auto bad = [&listen](const std::string& why) {
    return UsageError(fmt::format("--listen '{}': {}; give ADDR:PORT, e.g. 127.0.0.1:8765 (port 0: any free one)",
                                  listen, why));
  };
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    throw bad("no port");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port > 65535) {
      throw bad("the port is not a number from 0 to 65535");
    }
  } catch (const std::logic_error&) {
    throw bad("the port is not a number from 0 to 65535");
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    throw bad("not an IP address");
  }
  return {address, static_cast<unsigned short>(port)};
}

// The Host values a browser sends for this server.
std::vector<std::string>
allowed_hosts(const tcp::endpoint& endpoint)
{
  const auto port = std::to_string(endpoint.port());
  std::vector<std::string> hosts{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port};
  const auto address = endpoint.address();
  if (!address.is_loopback() && !address.is_unspecified()) {
    hosts.push_back((address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" + port);
  }
  return hosts;
}

// Hundreds of event streams, each a socket and a file: the soft limit of descriptors raised to the hard one.
void
raise_fd_limit()
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

} // namespace

CLI::App*
add_web_command(CLI::App& app, WebOptions& options)
{
  auto* web = app.add_subcommand("web", "Serve a dashboard and JSON API in the browser (loopback, token "
                                        "required) until SIGINT or SIGTERM; prints the URL to open");
  web->add_option("--listen", options.listen, "ADDR:PORT to listen on (default 127.0.0.1:8765; port 0: any free one)");
  web->add_flag("--allow-remote", options.allow_remote, "Allow a non-loopback ADDR (anyone who can reach it "
                                                        "and has the token can stop your tasks)");
  return web;
}

int
cmd_web(Controller& controller, const WebOptions& options)
{
  const auto wanted = parse_listen(options.listen);
  if (!wanted.address().is_loopback()) {
    if (!options.allow_remote) {
      throw UsageError(fmt::format("--listen {}: not a loopback address; the dashboard can stop and start your "
                                   "tasks, so it listens on 127.0.0.1 unless --allow-remote is given (or reach it "
                                   "through an SSH tunnel: ssh -L 8765:127.0.0.1:8765 host)",
                                   options.listen));
    }
    logger()->warn("spmi web: listening on {}, not loopback: anyone who can reach it and has the token can act on "
                   "your tasks; prefer an SSH tunnel", options.listen);
  }
  raise_fd_limit();
  net::io_context ioc(1);
  tcp::acceptor acceptor(ioc);
  beast::error_code ec;
  acceptor.open(wanted.protocol(), ec);
  if (!ec) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    acceptor.bind(wanted, ec);
  }
  if (!ec) {
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw SystemError(fmt::format("spmi web: cannot listen on {}: {} (another program on that port? try "
                                  "--listen 127.0.0.1:0 for any free one)", options.listen, ec.message()));
  }
  const auto endpoint = acceptor.local_endpoint();
  const auto token = random_hex(32);
  controller.write_web_token(token);
  Server server(ioc, std::move(acceptor), Auth(token, allowed_hosts(endpoint), endpoint.port()));
  const auto shown = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                : endpoint.address().to_string();
  std::cout << fmt::format("spmi web: http://{}:{}/?token={}", endpoint.address().is_unspecified() ? "127.0.0.1" : shown,
                           endpoint.port(), token)
            << std::endl;
  server.run();
  // An action under way holds its manageable's lock: let it finish (bounded), never cut it halfway.
  if (!server.actor_idle_within(std::chrono::seconds(15))) {
    logger()->warn("spmi web: an action did not finish within 15 s; exiting anyway (its lock is released)");
    std::fflush(nullptr);
    ::_exit(exit_status::k_ok);
  }
  return exit_status::k_ok;
}

} // namespace spmi::web
