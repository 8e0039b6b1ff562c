// SPDX-License-Identifier: MIT
/// \file
/// Descriptor files: TOML, YAML and JSON read into one tree (nlohmann::json) and checked.
#pragma once

#include <spmi/export.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace spmi {

/// A parsed descriptor: one top-level table naming the manageable type.
struct SPMI_API Descriptor
{
  std::filesystem::path source;  ///< the file it came from (as given by the user)
  std::string type;              ///< top-level key, e.g. "task"
  std::string id;                ///< \<type\>.id
  std::string comment;           ///< \<type\>.comment, "" when absent
  nlohmann::json body;           ///< the whole table under \<type\>
  std::string format;            ///< "toml", "yaml" or "json"
  std::string text;              ///< the file's text as read
};

/// Largest descriptor file accepted, in bytes.
inline constexpr std::size_t k_max_descriptor_size = 1024 * 1024;

/// Reads and parses `path`; the format comes from the extension (.toml, .yaml/.yml, .json).
/// Checks the top-level structure, `id` and `comment`; the manageable checks the rest.
/// @throws DescriptorError naming the file (and key, where there is one), also when it can't be read.
SPMI_API Descriptor read_descriptor(const std::filesystem::path& path);

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

/// Typed access to a descriptor table, producing messages like "cal.toml: task.wrapper: missing key 'command'".
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
