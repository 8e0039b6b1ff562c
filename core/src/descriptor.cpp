// SPDX-License-Identifier: MIT
// Descriptor files: read (bounded, regular files only), parsed (document.cpp), every string checked,
// and the top-level table, id and comment checked.
#include <spmi/descriptor.hpp>

#include "descriptor_detail.hpp"

#include <spmi/errors.hpp>
#include <spmi/names.hpp>
#include <spmi/state.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace spmi {

using json = nlohmann::json;

namespace detail {

std::string
type_name_of(const json& node)
{
  switch (node.type()) {
  case json::value_t::object:
    return "a table";
  case json::value_t::array:
    return "an array";
  case json::value_t::string:
    return "a string";
  case json::value_t::boolean:
    return "a boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "an integer";
  case json::value_t::number_float:
    return "a number";
  case json::value_t::null:
    return "null";
  default:
    return "a value";
  }
}

} // namespace detail

namespace {

using detail::child_path;
using detail::type_name_of;

// Refuses a NUL character in any key or string of `node`: a C string (a command for /bin/sh, a path, an
// environment entry) ends there, so what runs would not be what the descriptor and `status` show. The
// file has no NUL byte (checked first); this is the escaped one (TOML/JSON "\u0000", YAML "\0"). Also
// refuses text that is not UTF-8 (YAML lets it through; the state's JSON can't hold it).
void
refuse_bad_text(const json& node, const std::string& where, const std::string& path)
{
  const auto check = [&](const std::string& text, const std::string& at) {
    const auto shown = at.empty() ? std::string("(top level)") : at;
    if (text.find('\0') != std::string::npos) {
      throw DescriptorError(fmt::format(
        "{}: {}: contains a NUL character (an escaped \\0 or \\u0000), which no command, path or variable can "
        "hold; remove it",
        where, shown));
    }
    if (!is_valid_utf8(text)) {
      throw DescriptorError(
        fmt::format("{}: {}: not valid UTF-8 text; save the file as UTF-8", where, shown));
    }
  };
  if (node.is_object()) {
    for (const auto& item : node.items()) {
      const auto& key = item.key();
      check(key, fmt::format("{}key '{}'", path.empty() ? "" : path + ": a ", escape_control(key)));
      refuse_bad_text(item.value(), where, child_path(path, key));
    }
  } else if (node.is_array()) {
    std::size_t index = 0;
    for (const auto& item : node) {
      refuse_bad_text(item, where, path + "[" + std::to_string(index++) + "]");
    }
  } else if (node.is_string()) {
    check(node.get_ref<const std::string&>(), path);
  }
}

std::string
format_for(const std::filesystem::path& path)
{
  auto ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".toml") {
    return "toml";
  }
  if (ext == ".yaml" || ext == ".yml") {
    return "yaml";
  }
  if (ext == ".json") {
    return "json";
  }
  return "";
}

} // namespace

json
parse_document(std::string_view text, std::string_view format, const std::string& where)
{
  auto document = detail::parse_text(text, format, where);
  refuse_bad_text(document, where, "");
  return document;
}

namespace detail {

std::string
read_descriptor_text(const std::filesystem::path& path, std::string& format)
{
  const std::string where = path.string();
  format = format_for(path);
  if (format.empty()) {
    throw DescriptorError(fmt::format(
      "{}: unknown descriptor format '{}'; name the file .toml, .yaml, .yml or .json", where, path.extension().string()));
  }
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw DescriptorError(fmt::format("{}: cannot read: {}", where, std::strerror(errno)));
  }
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const int stat_errno = errno;
  auto text = std::make_optional<std::string>();
  std::string problem;
  if (!stat_ok) {
    problem = fmt::format("cannot read: {}", std::strerror(stat_errno));
  } else if (S_ISDIR(st.st_mode)) {
    problem = "is a directory, not a descriptor file";
  } else if (!S_ISREG(st.st_mode)) {
    problem = "not a regular file (a FIFO, device or socket); give the path of a descriptor file";
  } else if (static_cast<std::size_t>(st.st_size) > k_max_descriptor_size) {
    problem = fmt::format("file is {} bytes; descriptors are limited to {} bytes", st.st_size, k_max_descriptor_size);
  } else {
    // Read at most one byte past the limit: the size stat reports can be wrong (procfs says 0).
    text->reserve(static_cast<std::size_t>(st.st_size) + 1);
    char buffer[16384];
    while (text->size() <= k_max_descriptor_size) {
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        problem = fmt::format("cannot read: {}", std::strerror(errno));
        break;
      }
      if (n == 0) {
        break;
      }
      text->append(buffer, static_cast<std::size_t>(n));
    }
    if (problem.empty() && text->size() > k_max_descriptor_size) {
      problem = fmt::format("file is more than {} bytes; descriptors are limited to {} bytes", k_max_descriptor_size,
                            k_max_descriptor_size);
    }
  }
  ::close(fd);
  if (!problem.empty()) {
    throw DescriptorError(where + ": " + problem);
  }
  return std::move(*text);
}

Descriptor
table_descriptor(const std::string& type, const json& body, const std::filesystem::path& source, const std::string& table)
{
  const std::string where = source.string();
  Descriptor descriptor;
  descriptor.source = source;
  descriptor.type = type;
  descriptor.body = body;
  descriptor.where = table == type ? "" : table;
  if (!is_valid_type_name(descriptor.type)) {
    throw DescriptorError(fmt::format(
      "{}: '{}' is not a manageable type name; use lower-case letters, digits and '_', e.g. task", where, descriptor.type));
  }
  if (!descriptor.body.is_object()) {
    throw DescriptorError(fmt::format("{}: {}: expected a table, got {}", where, table, type_name_of(descriptor.body)));
  }
  Section section(descriptor.body, where, table);
  descriptor.id = section.require_string("id");
  if (!is_valid_id(descriptor.id)) {
    throw DescriptorError(fmt::format(
      "{}: '{}' is not a valid ID; use 1-64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_'",
      section.where("id"), descriptor.id));
  }
  descriptor.comment = section.optional_string("comment").value_or("");
  return descriptor;
}

} // namespace detail

Descriptor
read_descriptor(const std::filesystem::path& path)
{
  std::string format;
  auto text = detail::read_descriptor_text(path, format);
  auto descriptor = make_descriptor(parse_document(text, format, path.string()), path);
  descriptor.format = format;
  descriptor.text = std::move(text);
  return descriptor;
}

Descriptor
make_descriptor(const json& document, const std::filesystem::path& source)
{
  const std::string where = source.string();
  if (!document.is_object() || document.empty()) {
    throw DescriptorError(where + ": expected one top-level table naming the manageable type, e.g. [task]");
  }
  if (document.size() != 1) {
    std::string keys;
    for (const auto& item : document.items()) {
      keys += (keys.empty() ? "'" : ", '") + item.key() + "'";
    }
    throw DescriptorError(fmt::format(
      "{}: expected one top-level table naming the manageable type, found {}: {}", where, document.size(), keys));
  }
  return detail::table_descriptor(document.begin().key(), document.begin().value(), source, document.begin().key());
}

} // namespace spmi
