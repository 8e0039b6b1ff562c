// SPDX-License-Identifier: MIT
// ID patterns (`spmi status 'web-.*'`): RE2 regular expressions matched against the whole ID, in time
// linear in the ID whatever the pattern. Internal to the core.
#pragma once

#include <spmi/export.hpp>

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>

namespace spmi {

// The regular expression a shell glob means, for a pattern that looks like one: '*' -> '.*', 'web*' ->
// 'web.*', 'db?' -> 'db.' ('.*' and escaped characters are left alone). nullopt when nothing changes or
// the result does not compile.
SPMI_API std::optional<std::string> glob_as_regex(const std::string& pattern);

// `pattern` compiled for RE2::FullMatch. @throws UsageError naming the pattern and what is wrong
// (RE2's reason; backreferences and lookaround, which RE2 does not have, are named as such).
std::unique_ptr<re2::RE2> compile_pattern(const std::string& pattern);

} // namespace spmi
