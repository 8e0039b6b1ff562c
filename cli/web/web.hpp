// SPDX-License-Identifier: MIT
// `spmi web`: a dashboard and JSON API on loopback, in the foreground until SIGINT or SIGTERM.
#pragma once

#include <spmi/controller.hpp>

#include <string>

namespace CLI {
class App;
}

namespace spmi::web {

struct WebOptions
{
  std::string listen = "127.0.0.1:8765";  // ADDR:PORT ([ADDR]:PORT for IPv6); port 0: any free one
  bool allow_remote = false;              // a non-loopback ADDR is refused without it
};

// Declares `spmi web` on `app`, its options into `options`.
CLI::App* add_web_command(CLI::App& app, WebOptions& options);
// Writes a new token ($SPMI_PATH/.web-token, 0600), prints the URL, serves until SIGINT or SIGTERM;
// 0 then. @throws UsageError for a bad or (without allow_remote) non-loopback address; SystemError when
// it can't listen.
int cmd_web(Controller& controller, const WebOptions& options);

} // namespace spmi::web
