// SPDX-License-Identifier: MIT
// A descriptor's `matrix`: the combinations of its values (cartesian product, exclude, include) and the
// template of one manageable filled in with one combination. Inside the core (descriptor_set.cpp) and
// its unit tests only; docs/guide/sweeps.md says what users see.
#pragma once

#include <spmi/descriptor.hpp>
#include <spmi/export.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace spmi::matrix {

// One combination: each matrix name with its value as text ("0.1", "3", "true", "a b"), in name order.
using Combination = std::vector<std::pair<std::string, std::string>>;

// The combinations `section` (a descriptor's `matrix` table) makes: every name but `include` and
// `exclude` is an axis, a non-empty array of strings, numbers or booleans; the product runs in name
// order, the last name varying fastest; `exclude` entries (tables of some axes' values) remove every
// combination with all their values; `include` entries (tables giving every axis a value, or, without
// axes, all the same names) are added unless already there. At most `limit` combinations. Throws
// DescriptorError naming the key (`where`), e.g. "sweep.toml: task.matrix.lr: expected a non-empty array
// of values ...", "... makes 12,000 combinations (lr: 120 × seed: 100); at most 10,000 ...".
SPMI_API std::vector<Combination> combinations(const Section& section, std::size_t limit);

// `text` with each `{name}` of `values` replaced by its value: as it is (`quote` false), or quoted for
// /bin/sh where it needs it (`quote` true: a value of only letters, digits and _@%+=:,./- stays as it
// is, any other is put in single quotes), so a value is always one word of a command. A `{` right after
// a `$` (`${name}`, the shell's) and braces around anything else (`{print $1}`) are left alone.
SPMI_API std::string substitute(std::string_view text, const Combination& values, bool quote);

// The body of one manageable: `body` (a descriptor's table with its `matrix`) without `matrix`, every
// string filled in with `values`: `id` and `comment` as they are, every other string quoted.
SPMI_API nlohmann::json instantiate(const nlohmann::json& body, const Combination& values);

// "lr=0.1, seed=1": a combination in messages.
SPMI_API std::string describe(const Combination& values);

// The environment variable that carries the value of `name` to the task: SPMI_MATRIX_ and the name in
// upper case ("lr" -> "SPMI_MATRIX_LR").
SPMI_API std::string variable(std::string_view name);

} // namespace spmi::matrix
