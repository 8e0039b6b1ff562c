// SPDX-License-Identifier: MIT
/// \file
/// Descriptor files: TOML, YAML and JSON read into one tree (nlohmann::json) and checked.
#pragma once

#include <spmi/export.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spmi {

/// A parsed descriptor: one manageable, the top-level table naming its type (or one entry of a file of
/// several, or one combination of a matrix; see read_descriptors()).
struct SPMI_API Descriptor
{
  std::filesystem::path source;  ///< the file it came from (as given by the user)
  std::string type;              ///< top-level key, e.g. "task"
  std::string id;                ///< \<type\>.id
  std::string comment;           ///< \<type\>.comment, "" when absent
  nlohmann::json body;           ///< the whole table under \<type\>
  std::string format;            ///< "toml", "yaml" or "json"
  std::string text;              ///< the file's text as read (one entry of several: that entry as JSON)
  /// Its table in messages: "task" (empty: `type`), "task[2]" (an entry of a file of several),
  /// "task[lr=0.1, seed=1]" (a combination of a matrix).
  std::string where;
  /// The values of its matrix combination ({"lr": "0.1", "seed": "1"}), null when it has no matrix.
  nlohmann::json matrix;

  /// `where`, or `type` when it is empty: the table path of its Section.
  std::string table() const { return where.empty() ? type : where; }
};

/// Most manageables one descriptor file may make (its entries, each matrix counted by its combinations).
inline constexpr std::size_t k_max_manageables_per_file = 10000;

/// Largest descriptor file accepted, in bytes.
inline constexpr std::size_t k_max_descriptor_size = 1024 * 1024;

/// Reads and parses `path`; the format comes from the extension (.toml, .yaml/.yml, .json).
/// Checks the top-level structure, `id` and `comment`; the manageable checks the rest.
/// @throws DescriptorError naming the file (and key, where there is one), also when it can't be read.
SPMI_API Descriptor read_descriptor(const std::filesystem::path& path);

/// Reads `path` as read_descriptor() does, allowing several manageables: the top-level table's value an
/// array of tables (TOML `[[task]]`, YAML/JSON `task: [...]`), or (YAML, JSON) a top-level sequence of
/// one-key tables (`- task: {...}`); any table may have a `matrix`, which makes one manageable per
/// combination (docs/guide/sweeps.md). A file of one table without matrix gives exactly what
/// read_descriptor() gives. At most k_max_manageables_per_file.
/// @throws DescriptorError naming the file, entry and key; also for two entries with one ID.
SPMI_API std::vector<Descriptor> read_descriptors(const std::filesystem::path& path);

/// The manageables of a parsed `document` (see read_descriptors()), read from `source` as `format` with
/// the file's `text`. @throws DescriptorError naming `source`, the entry and the key.
SPMI_API std::vector<Descriptor> make_descriptors(const nlohmann::json& document, const std::filesystem::path& source,
                                                  const std::string& format, const std::string& text);

/// Parses `text` as `format` ("toml", "yaml" or "json"); `where` names the source in messages.
/// @throws DescriptorError for an unknown format, text that does not parse (with line and column), a
/// NUL byte, or a tree too large or too deeply nested.
SPMI_API nlohmann::json parse_document(std::string_view text,
                                       std::string_view format,
                                       const std::string& where);

/// Checks the top-level structure of a parsed document and fills a Descriptor (without `format` and
/// `text`). @throws DescriptorError naming `source` and the key.
SPMI_API Descriptor make_descriptor(const nlohmann::json& document,
                                    const std::filesystem::path& source);

/// True when `id` is a safe manageable ID: 1-64 of `[A-Za-z0-9_.-]`, starting with a letter, digit or '_'.
SPMI_API bool is_valid_id(std::string_view id);

/// Bytes from a size as descriptors write it (docs/guide/descriptors.md, "Sizes"): a whole number of
/// bytes ("1048576"), or a whole number followed, with no space, by one of the units B, K, M, G, T,
/// KiB, MiB, GiB, TiB, all powers of 1024, written exactly so ("512K", "10M", "10MiB", "100B"). nullopt
/// for anything else ("10m", "10MB", "10 M", "1.5G"), zero, or more than 64 bits hold.
SPMI_API std::optional<std::uint64_t> parse_size(std::string_view text);

/// A rule for the names of a table read by Section::string_table(): a name it refuses is reported as
/// "\<file\>: \<table\>.\<key\>.\<name\>: '\<name\>' is not \<what\>; use \<how\>".
struct SPMI_API NameRule
{
  std::function<bool(std::string_view)> accepts;  ///< true for a good name
  std::string what;                               ///< e.g. "a valid variable name"
  std::string how;                                ///< e.g. "letters, digits and _, not starting with a digit"
};

/// Typed access to a descriptor table, producing messages like "cal.toml: task.wrapper: missing key 'command'".
/// Every accessor names the key in its message: "\<file\>: \<table\>.\<key\>: \<what is wrong\>; \<what to do\>".
/// The optional_* accessors return nullopt when the key is absent (a null value is not absent: it is
/// refused as the wrong type).
class SPMI_API Section
{
public:
  /// `node` must outlive the Section. `file` and `path` are used in messages only.
  Section(const nlohmann::json& node, std::string file, std::string path);

  /// The table itself.
  const nlohmann::json& node() const { return m_node; }
  /// The file the table came from, as given ("cal.toml"; absolute once loaded).
  const std::string& file() const { return m_file; }
  /// "cal.toml: task.wrapper"
  std::string where() const;
  /// "cal.toml: task.wrapper.command"
  std::string where(std::string_view key) const;

  /// True when the table has `key`.
  bool has(std::string_view key) const;
  /// Required string. @throws DescriptorError when missing, not a string, or empty (unless allow_empty).
  std::string require_string(std::string_view key, bool allow_empty = false) const;
  /// Optional string; nullopt when absent. @throws DescriptorError when it is not a string.
  std::optional<std::string> optional_string(std::string_view key) const;
  /// Optional boolean; `fallback` when absent. @throws DescriptorError when it is not true or false.
  bool optional_bool(std::string_view key, bool fallback) const;
  /// Optional number; nullopt when absent. @throws DescriptorError when it is not a finite number.
  std::optional<double> optional_number(std::string_view key) const;
  /// Optional whole number from `min` to `max`: an integer, or a number with no fractional part (3.0;
  /// not 3.5). @throws DescriptorError: "\<where\>: expected a whole number from 1 to 10, got a string",
  /// "\<where\>: 3.5 is not a whole number; use a whole number from 1 to 10", "\<where\>: 0 is out of range;
  /// use a whole number from 1 to 10" (with `max` = LLONG_MAX the range reads "a whole number, 1 or more").
  std::optional<long long> optional_integer(std::string_view key,
                                            long long min,
                                            long long max = std::numeric_limits<long long>::max()) const;
  /// Optional size in bytes: a whole number, or a string parse_size() accepts ("512K", "10M", "1GiB").
  /// 0 (or "0") is accepted only when `zero_means` says what it means (e.g. "no limit"); any other size
  /// must be at least `min`. @throws DescriptorError: "\<where\>: '10MB' is not a size; use a whole
  /// number of bytes, or a whole number with one of the units B, K, M, G, T, KiB, MiB, GiB, TiB (powers
  /// of 1024, written so, no space), e.g. "10M" or "512KiB", or 0 for no limit; did you mean '10M'?" (the
  /// value as written; the guess when there is one), "\<where\>: 100 is below the minimum, 1KiB; use at
  /// least 1KiB, or 0 for no limit".
  std::optional<std::uint64_t> optional_size(std::string_view key,
                                             std::uint64_t min = 1,
                                             std::string_view zero_means = {}) const;
  /// Optional duration from `min` to `max`: a number of seconds (10, 0.5; also as a string, "10"), or
  /// a string with a unit: "500ms", "30s", "1.5m", "2h", "1d" (spaces before the unit allowed, any
  /// case). Rounded to milliseconds. @throws DescriptorError: "\<where\>: expected a number of seconds or
  /// a string such as "30s", got a boolean", "\<where\>: '5x' is not a duration; use a number of seconds,
  /// or a number with ms, s, m, h or d ("500ms", "30s", "5m")", "\<where\>: 86401 is out of range; use
  /// 0 to 86400 seconds", and for a number that is not finite as optional_number() does.
  std::optional<std::chrono::milliseconds> optional_duration(std::string_view key,
                                                             std::chrono::milliseconds min,
                                                             std::chrono::milliseconds max) const;
  /// As optional_duration(), for a key that must be there. @throws DescriptorError also when it is
  /// missing: "\<where\>: missing key 'deadline'".
  std::chrono::milliseconds require_duration(std::string_view key, std::chrono::milliseconds min,
                                             std::chrono::milliseconds max) const;
  /// Optional signal: a name ("SIGTERM", "TERM", "term") or a number (15 or "15"), as
  /// process::parse_signal() reads it. @throws DescriptorError: "\<where\>: unknown signal 'X'; use a
  /// name such as SIGINT or SIGTERM", "\<where\>: expected a signal name such as "SIGTERM" or a number,
  /// got an array".
  std::optional<int> optional_signal(std::string_view key) const;
  /// Optional path: a non-empty string; a relative path is made relative to the directory of file()
  /// (as systemd units and pm2 ecosystem files do), an absolute one is kept. @throws DescriptorError:
  /// "\<where\>: empty path; give a path or leave the key out", or as optional_string().
  std::optional<std::filesystem::path> optional_path(std::string_view key) const;
  /// Optional table of strings (NAME = "value"), in name order; empty when absent. With `names`, each
  /// name must pass its rule. @throws DescriptorError: "\<where\>: expected a table of strings
  /// (NAME = "value"), got a string", "\<where\>.\<name\>: expected a string, got an integer; quote it",
  /// "\<where\>.\<name\>: '\<name\>' is not \<names.what\>; use \<names.how\>".
  std::vector<std::pair<std::string, std::string>> string_table(std::string_view key,
                                                                const NameRule& names = {}) const;
  /// Required sub-table. @throws DescriptorError when missing or not a table.
  Section require_table(std::string_view key) const;
  /// Keys present that are not in `known`, in the tree's (alphabetical) key order.
  std::vector<std::string> unknown_keys(std::initializer_list<std::string_view> known) const;

private:
  const nlohmann::json& m_node;
  std::string m_file;
  std::string m_path;
};

} // namespace spmi
