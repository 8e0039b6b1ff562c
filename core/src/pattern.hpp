// SPDX-License-Identifier: MIT
// ID patterns (`spmi status 'web-.*'`): RE2 regular expressions matched against the whole ID, in time
// linear in the ID whatever the pattern. Internal to the core.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>

namespace spmi {

// `pattern` compiled for RE2::FullMatch. @throws UsageError naming the pattern and what is wrong
// (RE2's reason; backreferences and lookaround, which RE2 does not have, are named as such).
std::unique_ptr<re2::RE2> compile_pattern(const std::string& pattern);

} // namespace spmi
