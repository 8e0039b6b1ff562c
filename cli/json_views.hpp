// SPDX-License-Identifier: MIT
// The JSON of `list --json` and `status --json` (docs/schema/spmi-list.schema.json,
// spmi-status.schema.json), shared by the CLI (render.cpp) and `spmi web` (cli/web/).
#pragma once

#include <spmi/views.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace spmi::cli {

using Json = nlohmann::ordered_json;

// The fields list and status share, of one manageable.
Json entry_json(const ManageableView& view, TimePoint now);
// One manageable's entry of `status --json`.
Json status_json(const ManageableStatus& s, TimePoint now);
// The whole document, as `--json` prints it: {"schema_version": 1, "manageables": list}, indented,
// ending with a newline.
std::string json_document(const Json& list);
// `list --json`'s document of `views`.
std::string list_document(const std::vector<ManageableView>& views, TimePoint now);

} // namespace spmi::cli
