// SPDX-License-Identifier: MIT
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/names.hpp>
#include <spmi/state.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>

namespace spmi {

namespace {

using json = nlohmann::json;

// Deeper documents are refused before any recursive parser sees them.
constexpr int k_max_depth = 64;
// Nodes produced from one YAML document; bounds alias expansion ("billion laughs"). A descriptor has
// a few dozen.
constexpr std::size_t k_max_nodes = 10000;

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

// Bracket nesting depth outside of quoted strings; a cheap guard for flow-style YAML and JSON.
int
bracket_depth(std::string_view text)
{
  int depth = 0;
  int max_depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    // A quote opens a string only where a token starts (YAML's "today's" is plain text).
    const char before = i == 0 ? ' ' : text[i - 1];
    const bool token_start = before == ' ' || before == '\t' || before == '\n' || before == ':' || before == ',' ||
                             before == '[' || before == '{';
    if (c == '#' && (before == ' ' || before == '\t' || before == '\n')) {
      // A YAML or TOML comment: skip to the end of the line.
      while (i + 1 < text.size() && text[i + 1] != '\n') {
        ++i;
      }
    } else if ((c == '"' || c == '\'') && token_start) {
      quote = c;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

// Most block sequence entries ("- ") opened on one line: "- - - x" nests YAML sequences.
int
max_dashes_per_line(std::string_view text)
{
  int most = 0;
  int dashes = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      most = std::max(most, dashes);
      dashes = 0;
    } else if (text[i] == '-' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n') && i + 1 < text.size() &&
               (text[i + 1] == ' ' || text[i + 1] == '\n')) {
      ++dashes;
    }
  }
  return std::max(most, dashes);
}

// Most dots outside quoted strings on one line: dotted keys and [a.b.c] headers nest TOML tables,
// which no bracket counts. (A real descriptor has a handful.)
int
max_dots_per_line(std::string_view text)
{
  int most = 0;
  int dots = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      most = std::max(most, dots);
      dots = 0;
      quote = 0;
    } else if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') {
        ++i;
      }
    } else if (c == '.') {
      ++dots;
    }
  }
  return std::max(most, dots);
}

json
from_toml(const toml::node& node, int depth, const std::string& where)
{
  if (depth > k_max_depth) {
    throw DescriptorError(fmt::format("{}: nested more than {} levels deep", where, k_max_depth));
  }
  if (auto* table = node.as_table()) {
    json result = json::object();
    for (const auto& [key, value] : *table) {
      result[std::string(key.str())] = from_toml(value, depth + 1, where);
    }
    return result;
  }
  if (auto* array = node.as_array()) {
    json result = json::array();
    for (const auto& value : *array) {
      result.push_back(from_toml(value, depth + 1, where));
    }
    return result;
  }
  if (auto* value = node.as_string()) {
    return value->get();
  }
  if (auto* value = node.as_integer()) {
    return value->get();
  }
  if (auto* value = node.as_floating_point()) {
    return value->get();
  }
  if (auto* value = node.as_boolean()) {
    return value->get();
  }
  // Dates and times: keep their TOML text.
  std::ostringstream out;
  node.visit([&out](const auto& v) { out << v; });
  return out.str();
}

// A YAML 1.2 core-schema integer or float: [-+]?[0-9]+, or [-+]?(.digits | digits[.digits])[e[-+]digits].
bool
is_integer_text(std::string_view text)
{
  std::size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  return i < text.size() && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i), text.end(),
                                        [](char c) { return c >= '0' && c <= '9'; });
}

bool
is_float_text(std::string_view text)
{
  std::size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    return i - start;
  };
  std::size_t mantissa = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == text.size();
}

std::optional<json>
yaml_plain_scalar(const std::string& text)
{
  if (text == "true" || text == "True" || text == "TRUE") {
    return json(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return json(false);
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return json(nullptr);
  }
  if (text.size() < 40 && is_integer_text(text)) {
    try {
      return json(std::stoll(text));
    } catch (const std::out_of_range&) {
      return json(std::stod(text));  // as JSON does: too large for 64 bits becomes a double
    }
  }
  if (text.size() < 40 && is_float_text(text)) {
    return json(std::stod(text));
  }
  return std::nullopt;
}

std::string
child_path(const std::string& path, const std::string& key)
{
  return path.empty() ? key : path + "." + key;
}

json
from_yaml(const YAML::Node& node, int depth, std::size_t& nodes, const std::string& where, const std::string& path)
{
  if (++nodes > k_max_nodes || depth > k_max_depth) {
    throw DescriptorError(fmt::format(
      "{}: document too large or too deeply nested (more than {} values or {} levels)", where, k_max_nodes, k_max_depth));
  }
  switch (node.Type()) {
  case YAML::NodeType::Map: {
    json result = json::object();
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        throw DescriptorError(fmt::format("{}: line {}: keys must be plain strings", where, item.first.Mark().line + 1));
      }
      const auto& key = item.first.Scalar();
      if (result.contains(key)) {
        throw DescriptorError(fmt::format("{}: {}: duplicate key (line {}); give each key once", where,
                                          child_path(path, key), item.first.Mark().line + 1));
      }
      result[key] = from_yaml(item.second, depth + 1, nodes, where, child_path(path, key));
    }
    return result;
  }
  case YAML::NodeType::Sequence: {
    json result = json::array();
    for (const auto& item : node) {
      result.push_back(from_yaml(item, depth + 1, nodes, where, path + "[" + std::to_string(result.size()) + "]"));
    }
    return result;
  }
  case YAML::NodeType::Scalar: {
    // A quoted scalar has the tag "!" and stays a string.
    if (node.Tag() != "!") {
      try {
        if (auto value = yaml_plain_scalar(node.Scalar())) {
          return *value;
        }
      } catch (const std::out_of_range&) {
        throw DescriptorError(fmt::format("{}: {}: number '{}' is out of range (line {})", where, path, node.Scalar(),
                                          node.Mark().line + 1));
      }
    }
    return node.Scalar();
  }
  default:
    return nullptr;
  }
}

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

namespace {

json
parse_text(std::string_view text, std::string_view format, const std::string& where)
{
  if (text.find('\0') != std::string_view::npos) {
    throw DescriptorError(where + ": not a text file (contains a NUL byte)");
  }
  if (bracket_depth(text) > k_max_depth || (format == "toml" && max_dots_per_line(text) > k_max_depth) ||
      (format == "yaml" && max_dashes_per_line(text) > k_max_depth)) {
    throw DescriptorError(fmt::format("{}: nested more than {} levels deep", where, k_max_depth));
  }
  if (format == "toml") {
    try {
      return from_toml(toml::parse(text, where), 0, where);
    } catch (const toml::parse_error& e) {
      throw DescriptorError(fmt::format("{}:{}:{}: invalid TOML: {}",
                                        where, e.source().begin.line, e.source().begin.column, e.description()));
    }
  }
  if (format == "yaml") {
    try {
      std::size_t nodes = 0;
      return from_yaml(YAML::Load(std::string(text)), 0, nodes, where, "");
    } catch (const YAML::Exception& e) {
      throw DescriptorError(fmt::format("{}:{}:{}: invalid YAML: {}", where, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
  }
  if (format == "json") {
    // Keys seen in each open object, and the path to the value being parsed, for messages.
    std::vector<std::set<std::string>> seen;
    std::vector<std::string> keys;
    auto path = [&] {
      std::string result;
      for (const auto& key : keys) {
        result = child_path(result, key);
      }
      return result;
    };
    try {
      return json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > k_max_depth) {
          throw DescriptorError(fmt::format("{}: nested more than {} levels deep", where, k_max_depth));
        }
        switch (event) {
        case json::parse_event_t::object_start:
          seen.emplace_back();
          break;
        case json::parse_event_t::key: {
          const auto key = parsed.get<std::string>();
          keys.resize(static_cast<std::size_t>(std::max(depth - 1, 0)));
          keys.push_back(key);
          if (!seen.empty() && !seen.back().insert(key).second) {
            throw DescriptorError(fmt::format("{}: {}: duplicate key; give each key once", where, path()));
          }
          break;
        }
        case json::parse_event_t::object_end:
          if (!seen.empty()) {
            seen.pop_back();
          }
          break;
        default:
          break;
        }
        return true;
      });
    } catch (const json::out_of_range&) {
      throw DescriptorError(fmt::format("{}: {}: number out of range", where, path()));
    } catch (const json::exception& e) {
      // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
      const std::string what = e.what();
      const auto pos = what.find("] ");
      throw DescriptorError(fmt::format("{}: invalid JSON: {}", where, pos == std::string::npos ? what : what.substr(pos + 2)));
    }
  }
  throw DescriptorError(fmt::format("{}: unknown descriptor format '{}'", where, format));
}

} // namespace

json
parse_document(std::string_view text, std::string_view format, const std::string& where)
{
  auto document = parse_text(text, format, where);
  refuse_bad_text(document, where, "");
  return document;
}

Descriptor
read_descriptor(const std::filesystem::path& path)
{
  const std::string where = path.string();
  const auto format = format_for(path);
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
  auto descriptor = make_descriptor(parse_document(*text, format, where), path);
  descriptor.format = format;
  descriptor.text = std::move(*text);
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
  Descriptor descriptor;
  descriptor.source = source;
  descriptor.type = document.begin().key();
  descriptor.body = document.begin().value();
  if (!is_valid_type_name(descriptor.type)) {
    throw DescriptorError(fmt::format(
      "{}: '{}' is not a manageable type name; use lower-case letters, digits and '_', e.g. task", where, descriptor.type));
  }
  if (!descriptor.body.is_object()) {
    throw DescriptorError(fmt::format("{}: {}: expected a table, got {}", where, descriptor.type, type_name_of(descriptor.body)));
  }
  Section section(descriptor.body, where, descriptor.type);
  descriptor.id = section.require_string("id");
  if (!is_valid_id(descriptor.id)) {
    throw DescriptorError(fmt::format(
      "{}: '{}' is not a valid ID; use 1-64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_'",
      section.where("id"), descriptor.id));
  }
  descriptor.comment = section.optional_string("comment").value_or("");
  return descriptor;
}

bool
is_valid_id(std::string_view id)
{
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

Section::Section(const json& node, std::string file, std::string path)
  : m_node(node), m_file(std::move(file)), m_path(std::move(path))
{
}

std::string
Section::where() const
{
  return m_file + ": " + m_path;
}

std::string
Section::where(std::string_view key) const
{
  return fmt::format("{}: {}.{}", m_file, m_path, key);
}

bool
Section::has(std::string_view key) const
{
  return m_node.is_object() && m_node.contains(key);
}

std::string
Section::require_string(std::string_view key, bool allow_empty) const
{
  if (!has(key)) {
    throw DescriptorError(fmt::format("{}: missing key '{}'", where(), key));
  }
  auto value = optional_string(key);
  if (!allow_empty && value->empty()) {
    throw DescriptorError(where(key) + ": must not be empty");
  }
  return *value;
}

std::optional<std::string>
Section::optional_string(std::string_view key) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_string()) {
    throw DescriptorError(fmt::format("{}: expected a string, got {}", where(key), type_name_of(value)));
  }
  return value.get<std::string>();
}

bool
Section::optional_bool(std::string_view key, bool fallback) const
{
  if (!has(key)) {
    return fallback;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_boolean()) {
    throw DescriptorError(fmt::format("{}: expected true or false, got {}", where(key), type_name_of(value)));
  }
  return value.get<bool>();
}

std::optional<double>
Section::optional_number(std::string_view key) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_number()) {
    throw DescriptorError(fmt::format("{}: expected a number, got {}", where(key), type_name_of(value)));
  }
  if (!std::isfinite(value.get<double>())) {
    throw DescriptorError(fmt::format("{}: expected a finite number, got {}", where(key), value.get<double>()));
  }
  return value.get<double>();
}

Section
Section::require_table(std::string_view key) const
{
  if (!has(key)) {
    throw DescriptorError(fmt::format("{}: missing table '{}'", where(), key));
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_object()) {
    throw DescriptorError(fmt::format("{}: expected a table, got {}", where(key), type_name_of(value)));
  }
  return Section(value, m_file, m_path + "." + std::string(key));
}

std::vector<std::string>
Section::unknown_keys(std::initializer_list<std::string_view> known) const
{
  std::vector<std::string> result;
  for (const auto& item : m_node.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      result.push_back(item.key());
    }
  }
  return result;
}

} // namespace spmi
