// SPDX-License-Identifier: MIT
#include "pattern.hpp"

#include <spmi/errors.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

namespace spmi {

namespace {

// What a pattern uses that RE2 has no way to match in linear time, in words; empty if none is found.
std::string
unsupported_feature(const std::string& pattern)
{
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      const char next = pattern[i + 1];
      if (next >= '1' && next <= '9') {
        return fmt::format("backreferences (\\{}) are not supported", next);
      }
      ++i;  // an escaped character: "\\(" is no group
      continue;
    }
    if (pattern.compare(i, 3, "(?=") == 0 || pattern.compare(i, 3, "(?!") == 0 || pattern.compare(i, 4, "(?<=") == 0 ||
        pattern.compare(i, 4, "(?<!") == 0) {
      return "lookahead and lookbehind ((?=...), (?!...), (?<=...), (?<!...)) are not supported";
    }
  }
  return "";
}

// RE2's error, in words (its own text, e.g. "missing ): (", reads oddly in a sentence).
std::string
reason_of(const re2::RE2& re)
{
  using E = re2::RE2::ErrorCode;
  const auto at = [&](const char* what) {
    return re.error_arg().empty() ? std::string(what) : fmt::format("{} at '{}'", what, re.error_arg());
  };
  switch (re.error_code()) {
  case E::ErrorMissingParen:
    return "a '(' is not closed";
  case E::ErrorUnexpectedParen:
    return "a ')' closes nothing";
  case E::ErrorMissingBracket:
    return at("a '[' is not closed");
  case E::ErrorTrailingBackslash:
    return "it ends with a lone '\\'";
  case E::ErrorRepeatArgument:
    return at("nothing to repeat");
  case E::ErrorRepeatSize:
    return at("bad repetition count (at most 1000)");
  case E::ErrorRepeatOp:
    return at("bad repetition operator");
  case E::ErrorBadEscape:
    return at("unknown escape");
  case E::ErrorBadCharRange:
    return at("bad character range");
  case E::ErrorBadCharClass:
    return at("bad character class");
  case E::ErrorBadPerlOp:
  case E::ErrorBadNamedCapture:
    return at("unsupported group syntax");
  case E::ErrorBadUTF8:
    return "it is not valid UTF-8";
  case E::ErrorPatternTooLarge:
    return "it is too large";
  default:
    return re.error();
  }
}

} // namespace

std::optional<std::string>
glob_as_regex(const std::string& pattern)
{
  // '*' and '?' as a shell means them; a '*' after '.' is already the regex's "anything".
  std::string regex;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    const char before = i > 0 ? pattern[i - 1] : '\0';
    if (c == '*' && before != '.' && before != '\\') {
      regex += ".*";
    } else if (c == '?' && before != '\\' && before != '*' && before != '+' && before != '?') {
      regex += '.';
    } else {
      regex += c;
    }
  }
  if (regex == pattern) {
    return std::nullopt;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  return re2::RE2(regex, options).ok() ? std::optional<std::string>(regex) : std::nullopt;
}

std::unique_ptr<re2::RE2>
compile_pattern(const std::string& pattern)
{
  re2::RE2::Options options;
  options.set_log_errors(false);  // RE2 would print its own line on stderr
  auto compiled = std::make_unique<re2::RE2>(pattern, options);
  if (compiled->ok()) {
    return compiled;
  }
  auto reason = unsupported_feature(pattern);
  if (reason.empty()) {
    reason = reason_of(*compiled);
  }
  // A shell glob is the usual mistake ('*', 'web*'): say which regular expression it would be.
  const auto meant = glob_as_regex(pattern);
  throw UsageError(fmt::format(
    "invalid pattern '{}': {}; patterns are RE2 regular expressions matched against the whole ID, not globs "
    "(see PATTERNS in `man spmi`){}",
    escape_control(pattern), escape_control(reason),
    meant ? fmt::format(": did you mean '{}'?", escape_control(*meant)) : std::string(", e.g. 'web-.*' or 'api|worker'")));
}

} // namespace spmi
