// SPDX-License-Identifier: MIT
// The page's three files (cli/web/assets/), built into the binary (embed.cmake writes assets.cpp).
#pragma once

#include <string_view>

namespace spmi::web {

std::string_view asset_index_html();
std::string_view asset_app_js();
std::string_view asset_app_css();

} // namespace spmi::web
