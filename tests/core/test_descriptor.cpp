// SPDX-License-Identifier: MIT
// Descriptor files: one tree from TOML, YAML and JSON, and exact messages for every refusal.
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using spmi::DescriptorError;
using testing::AllOf;
using testing::HasSubstr;
using testing::StartsWith;
using testing::StrEq;
using testing::ThrowsMessage;

// The user guide's "cal" example in each format.
constexpr const char* k_cal_toml = R"([task]
id = "cal"
comment = "Prints calendar to stdout."

[task.backend]
type = "screen"

[task.wrapper]
type = "default"
command = "cal"
mixed_stdout = true
)";

constexpr const char* k_cal_yaml = R"(task:
  id: cal
  comment: Prints calendar to stdout.
  backend:
    type: screen
  wrapper:
    type: default
    command: cal
    mixed_stdout: true
)";

constexpr const char* k_cal_json = R"({
  "task": {
    "id": "cal",
    "comment": "Prints calendar to stdout.",
    "backend": {"type": "screen"},
    "wrapper": {"type": "default", "command": "cal", "mixed_stdout": true}
  }
}
)";

json
cal_body()
{
  return json{{"id", "cal"},
              {"comment", "Prints calendar to stdout."},
              {"backend", {{"type", "screen"}}},
              {"wrapper", {{"type", "default"}, {"command", "cal"}, {"mixed_stdout", true}}}};
}

class DescriptorTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-descriptor-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
  }

  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  // Writes `text` to <temp dir>/<name> and returns the path.
  fs::path write(const std::string& name, const std::string& text) const
  {
    const auto path = m_dir / name;
    std::ofstream out(path, std::ios::binary);
    out << text;
    return path;
  }

  fs::path m_dir;
};

// The same descriptor in TOML, YAML and JSON reads into the same type, id, comment and body.
TEST_F(DescriptorTest, SameDescriptorInEveryFormat)
{
  const std::pair<const char*, const char*> files[] = {
    {"cal.toml", k_cal_toml}, {"cal.yaml", k_cal_yaml}, {"cal.json", k_cal_json}};
  const char* formats[] = {"toml", "yaml", "json"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto path = write(files[i].first, files[i].second);
    const auto descriptor = spmi::read_descriptor(path);
    EXPECT_EQ(descriptor.type, "task") << path;
    EXPECT_EQ(descriptor.id, "cal") << path;
    EXPECT_EQ(descriptor.comment, "Prints calendar to stdout.") << path;
    EXPECT_EQ(descriptor.body, cal_body()) << path;
    EXPECT_EQ(descriptor.format, formats[i]) << path;
    EXPECT_EQ(descriptor.text, files[i].second) << path;
    EXPECT_EQ(descriptor.source, path);
  }
}

// ".yml" is YAML too, and the extension's case does not matter.
TEST_F(DescriptorTest, YmlAndUpperCaseExtensions)
{
  const auto yml = spmi::read_descriptor(write("cal.yml", k_cal_yaml));
  EXPECT_EQ(yml.format, "yaml");
  EXPECT_EQ(yml.body, cal_body());
  const auto upper = spmi::read_descriptor(write("cal.TOML", k_cal_toml));
  EXPECT_EQ(upper.format, "toml");
  EXPECT_EQ(upper.body, cal_body());
}

// A missing comment reads as "".
TEST_F(DescriptorTest, CommentIsOptional)
{
  const auto descriptor = spmi::read_descriptor(write("x.toml", "[task]\nid = \"x\"\n"));
  EXPECT_EQ(descriptor.comment, "");
}

// In YAML a quoted "true" stays a string; plain true, numbers and null are typed.
TEST_F(DescriptorTest, YamlQuotedScalarsStayStrings)
{
  const auto descriptor = spmi::read_descriptor(write("q.yaml", R"(task:
  id: "123"
  comment: "true"
  single: 'false'
  flag: true
  count: 42
  ratio: 0.5
  nothing: ~
  word: yes
)"));
  EXPECT_EQ(descriptor.id, "123");
  EXPECT_EQ(descriptor.comment, "true");
  EXPECT_EQ(descriptor.body["comment"], json("true"));
  EXPECT_EQ(descriptor.body["single"], json("false"));
  EXPECT_EQ(descriptor.body["flag"], json(true));
  EXPECT_EQ(descriptor.body["count"], json(42));
  EXPECT_EQ(descriptor.body["ratio"], json(0.5));
  EXPECT_TRUE(descriptor.body["nothing"].is_null());
  EXPECT_EQ(descriptor.body["word"], json("yes"));  // YAML 1.2: only true/false are booleans
}

// An unknown extension is refused before the file is read.
TEST_F(DescriptorTest, UnknownExtension)
{
  const auto path = write("cal.txt", k_cal_toml);
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(
                StrEq(path.string() + ": unknown descriptor format '.txt'; name the file .toml, .yaml, .yml or .json")));
}

// A missing file is a DescriptorError naming it.
TEST_F(DescriptorTest, MissingFile)
{
  const auto path = m_dir / "absent.toml";
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": cannot read: No such file or directory")));
}

// A directory is not a descriptor.
TEST_F(DescriptorTest, DirectoryRefused)
{
  const auto path = m_dir / "dir.toml";
  fs::create_directory(path);
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": is a directory, not a descriptor file")));
}

// Exactly one top-level table; the message lists what was found.
TEST_F(DescriptorTest, TwoTopLevelTables)
{
  const auto path = write("two.toml", "[task]\nid = \"a\"\n[other]\nid = \"b\"\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(
                path.string() + ": expected one top-level table naming the manageable type, found 2: 'other', 'task'")));
}

// An empty document has no table at all.
TEST_F(DescriptorTest, EmptyDocument)
{
  const auto path = write("empty.json", "{}");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(
                StrEq(path.string() + ": expected one top-level table naming the manageable type, e.g. [task]")));
}

// The top-level key must be a type name and its value a table.
TEST_F(DescriptorTest, BadTypeOrBody)
{
  const auto upper = write("upper.json", R"({"Task": {"id": "x"}})");
  EXPECT_THAT([&] { spmi::read_descriptor(upper); },
              ThrowsMessage<DescriptorError>(StrEq(
                upper.string() + ": 'Task' is not a manageable type name; use lower-case letters, digits and '_', e.g. task")));
  const auto scalar = write("scalar.json", R"({"task": "x"})");
  EXPECT_THAT([&] { spmi::read_descriptor(scalar); },
              ThrowsMessage<DescriptorError>(StrEq(scalar.string() + ": task: expected a table, got a string")));
}

// The id is required.
TEST_F(DescriptorTest, MissingId)
{
  const auto path = write("noid.toml", "[task]\ncomment = \"no id\"\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": task: missing key 'id'")));
}

// An id that could escape the state directory is refused.
TEST_F(DescriptorTest, BadId)
{
  const auto path = write("bad.toml", "[task]\nid = \"../x\"\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(
                path.string() + ": task.id: '../x' is not a valid ID; use 1-64 letters, digits, '_', '.' or '-', "
                                "starting with a letter, digit or '_'")));
}

// The id must be a string, not a number.
TEST_F(DescriptorTest, NonStringId)
{
  const auto path = write("num.toml", "[task]\nid = 5\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": task.id: expected a string, got an integer")));
}

// A non-string comment is refused too.
TEST_F(DescriptorTest, NonStringComment)
{
  const auto path = write("comment.yaml", "task:\n  id: x\n  comment: [a, b]\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": task.comment: expected a string, got an array")));
}

// Invalid TOML names the file, line and column.
TEST_F(DescriptorTest, InvalidToml)
{
  const auto path = write("broken.toml", "[task\nid = \"x\"\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith(path.string() + ":1:"), HasSubstr(": invalid TOML: "))));
}

// Invalid YAML names the file, line and column.
TEST_F(DescriptorTest, InvalidYaml)
{
  const auto path = write("broken.yaml", "task:\n  id: [x\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith(path.string() + ":"), HasSubstr(": invalid YAML: "))));
}

// Invalid JSON names the file and the parser's position, without nlohmann's exception id.
TEST_F(DescriptorTest, InvalidJson)
{
  const auto path = write("broken.json", "{\"task\": }");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith(path.string() + ": invalid JSON: parse error at line 1,"),
                                                   testing::Not(HasSubstr("[json.exception")))));
}

// JSON nested 10000 deep is refused up front, without exhausting the stack.
TEST_F(DescriptorTest, DeepJsonRefused)
{
  const auto path = write("deep.json", "{\"task\": " + std::string(10000, '[') + std::string(10000, ']') + "}");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": nested more than 64 levels deep")));
}

// Flow-style YAML nested 10000 deep is refused the same way.
TEST_F(DescriptorTest, DeepYamlRefused)
{
  const auto path = write("deep.yaml", "task: " + std::string(10000, '[') + std::string(10000, ']') + "\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": nested more than 64 levels deep")));
}

// An apostrophe in a plain scalar does not let deep flow nesting past the guards (no crash).
TEST_F(DescriptorTest, DeepYamlAfterApostropheRefused)
{
  const auto path = write("deep.yaml", "task:\n  id: x\n  comment: today's calendar\n  deep: " +
                                           std::string(100000, '[') + std::string(100000, ']') + "\n");
  EXPECT_THAT([&] { spmi::read_descriptor(path); }, ThrowsMessage<DescriptorError>(StartsWith(path.string() + ":")));
}

// Block-style YAML nested deeper than 64 levels is refused while converting.
TEST_F(DescriptorTest, DeepBlockYamlRefused)
{
  std::string text = "task:\n  id: x\n";
  for (int level = 1; level <= 100; ++level) {
    text += std::string(2 * level, ' ') + "k:\n";
  }
  const auto path = write("block.yaml", text);
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(
                path.string() + ": document too large or too deeply nested (more than 10000 values or 64 levels)")));
}

// TOML arrays nested 10000 deep are refused (by the TOML parser's own limit) without a crash.
TEST_F(DescriptorTest, DeepTomlRefused)
{
  const auto path = write("deep.toml", "[task]\nid = \"x\"\nv = " + std::string(10000, '[') + std::string(10000, ']') + "\n");
  EXPECT_THROW(spmi::read_descriptor(path), DescriptorError);
}

// A YAML alias bomb ("billion laughs": 9 levels of 9 aliases) is refused quickly.
TEST_F(DescriptorTest, YamlAliasBombRefused)
{
  std::string text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 8; ++level) {
    const auto previous = "*a" + std::to_string(level - 1);
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 9; ++i) {
      text += (i ? ", " : "") + previous;
    }
    text += "]\n";
  }
  text += "task:\n  id: bomb\n  payload: *a8\n";
  const auto path = write("bomb.yaml", text);
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(
                path.string() + ": document too large or too deeply nested (more than 10000 values or 64 levels)")));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
}

// A file over 1 MiB is refused before it is read.
TEST_F(DescriptorTest, LargeFileRefused)
{
  const auto path = write("large.toml", "[task]\nid = \"x\"\ncomment = \"" + std::string(spmi::k_max_descriptor_size, 'a') + "\"\n");
  const auto size = fs::file_size(path);
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": file is " + std::to_string(size) +
                                                   " bytes; descriptors are limited to 1048576 bytes")));
}

// A NUL byte means the file is not text.
TEST_F(DescriptorTest, NulByteRefused)
{
  std::string text = "[task]\nid = \"x\"\n# ";
  text += '\0';
  text += "\n";
  const auto path = write("nul.toml", text);
  EXPECT_THAT([&] { spmi::read_descriptor(path); },
              ThrowsMessage<DescriptorError>(StrEq(path.string() + ": not a text file (contains a NUL byte)")));
}

// A YAML integer too large for 64 bits becomes a floating-point number (as JSON's parser does), not a
// stray std::out_of_range.
TEST_F(DescriptorTest, YamlHugeIntegerBecomesNumber)
{
  const auto path = write("huge.yaml", "task:\n  id: x\n  count: 9999999999999999999\n");
  const auto descriptor = spmi::read_descriptor(path);
  EXPECT_TRUE(descriptor.body.at("count").is_number_float());
}

// A YAML float out of double's range is a DescriptorError, not a stray std::out_of_range.
TEST_F(DescriptorTest, YamlHugeFloatIsDescriptorError)
{
  const auto path = write("huge.yaml", "task:\n  id: x\n  ratio: 1e999\n");
  EXPECT_THROW(spmi::read_descriptor(path), DescriptorError);
}

// A JSON number out of double's range is a DescriptorError, not nlohmann's out_of_range.
TEST_F(DescriptorTest, JsonHugeNumberIsDescriptorError)
{
  const auto path = write("huge.json", R"({"task": {"id": "x", "ratio": 1e999}})");
  EXPECT_THROW(spmi::read_descriptor(path), DescriptorError);
}

// An escaped NUL (TOML/JSON "\u0000", YAML "\0") in any string or key is refused, naming the file and
// the key path: /bin/sh, paths and environment entries would stop at it.
TEST(ParseDocument, EscapedNulRefusedWithKeyPath)
{
  const std::string why = "contains a NUL character";
  EXPECT_THAT([] { spmi::parse_document("[task]\nid = \"x\"\n[task.wrapper]\ncommand = \"ls\\u0000rm\"\n", "toml", "a.toml"); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith("a.toml: task.wrapper.command: "), HasSubstr(why))));
  EXPECT_THAT([] { spmi::parse_document("task:\n  id: x\n  env: [\"a\", \"b\\0c\"]\n", "yaml", "b.yaml"); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith("b.yaml: task.env[1]: "), HasSubstr(why))));
  EXPECT_THAT([] { spmi::parse_document(R"({"task": {"id": "x", "comment": "a\u0000b"}})", "json", "c.json"); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith("c.json: task.comment: "), HasSubstr(why))));
  EXPECT_THAT([] { spmi::parse_document(R"({"task": {"env": {"A\u0000\u001b": "1"}}})", "json", "d.json"); },
              ThrowsMessage<DescriptorError>(AllOf(StartsWith("d.json: task.env: a key 'A\\x00\\x1b': "), HasSubstr(why))));
  EXPECT_NO_THROW(spmi::parse_document(R"({"task": {"id": "x", "comment": "a\u0001b"}})", "json", "e.json"));
}

// YAML lets bytes that are not UTF-8 through; they are refused by key path, not left to fail later.
TEST(ParseDocument, InvalidUtf8Refused)
{
  EXPECT_THAT([] { spmi::parse_document("task:\n  id: x\n  comment: \"a\x9b\"\n", "yaml", "f.yaml"); },
              ThrowsMessage<DescriptorError>(StrEq("f.yaml: task.comment: not valid UTF-8 text; save the file as UTF-8")));
}

// parse_document refuses an unknown format by name.
TEST(ParseDocument, UnknownFormat)
{
  EXPECT_THAT([] { spmi::parse_document("{}", "xml", "here"); },
              ThrowsMessage<DescriptorError>(StrEq("here: unknown descriptor format 'xml'")));
}

// make_descriptor fills type, id and comment from an already parsed tree.
TEST(MakeDescriptor, FromTree)
{
  const auto descriptor = spmi::make_descriptor(json{{"task", cal_body()}}, "cal.json");
  EXPECT_EQ(descriptor.type, "task");
  EXPECT_EQ(descriptor.id, "cal");
  EXPECT_EQ(descriptor.comment, "Prints calendar to stdout.");
  EXPECT_EQ(descriptor.source, fs::path("cal.json"));
}

// Section::require_string names file, table and key when the key is missing.
TEST(Section, RequireStringMissingKey)
{
  const json node{{"type", "default"}};
  const spmi::Section section(node, "cal.toml", "task.wrapper");
  EXPECT_THAT([&] { section.require_string("command"); },
              ThrowsMessage<DescriptorError>(StrEq("cal.toml: task.wrapper: missing key 'command'")));
}

// Section::require_string names the type it got instead of a string.
TEST(Section, RequireStringWrongType)
{
  const json node{{"command", true}};
  const spmi::Section section(node, "cal.toml", "task.wrapper");
  EXPECT_THAT([&] { section.require_string("command"); },
              ThrowsMessage<DescriptorError>(StrEq("cal.toml: task.wrapper.command: expected a string, got a boolean")));
}

// An empty required string is refused unless allowed.
TEST(Section, RequireStringEmpty)
{
  const json node{{"command", ""}};
  const spmi::Section section(node, "cal.toml", "task.wrapper");
  EXPECT_THAT([&] { section.require_string("command"); },
              ThrowsMessage<DescriptorError>(StrEq("cal.toml: task.wrapper.command: must not be empty")));
  EXPECT_EQ(section.require_string("command", true), "");
}

// optional_bool returns the fallback when absent and refuses a string.
TEST(Section, OptionalBool)
{
  const json node{{"mixed_stdout", "true"}, {"flag", false}};
  const spmi::Section section(node, "cal.toml", "task.wrapper");
  EXPECT_TRUE(section.optional_bool("absent", true));
  EXPECT_FALSE(section.optional_bool("flag", true));
  EXPECT_THAT([&] { section.optional_bool("mixed_stdout", false); },
              ThrowsMessage<DescriptorError>(
                StrEq("cal.toml: task.wrapper.mixed_stdout: expected true or false, got a string")));
}

// optional_number accepts integers and floats and refuses strings.
TEST(Section, OptionalNumber)
{
  const json node{{"a", 3}, {"b", 2.5}, {"c", "10"}};
  const spmi::Section section(node, "f.json", "task");
  EXPECT_EQ(section.optional_number("a"), 3.0);
  EXPECT_EQ(section.optional_number("b"), 2.5);
  EXPECT_EQ(section.optional_number("absent"), std::nullopt);
  EXPECT_THAT([&] { section.optional_number("c"); },
              ThrowsMessage<DescriptorError>(StrEq("f.json: task.c: expected a number, got a string")));
}

// require_table descends and extends the path used in messages.
TEST(Section, RequireTable)
{
  const json node = cal_body();
  const spmi::Section task(node, "cal.toml", "task");
  const auto wrapper = task.require_table("wrapper");
  EXPECT_EQ(wrapper.where(), "cal.toml: task.wrapper");
  EXPECT_EQ(wrapper.where("command"), "cal.toml: task.wrapper.command");
  EXPECT_EQ(wrapper.require_string("command"), "cal");
  EXPECT_THAT([&] { task.require_table("missing"); },
              ThrowsMessage<DescriptorError>(StrEq("cal.toml: task: missing table 'missing'")));
  EXPECT_THAT([&] { task.require_table("id"); },
              ThrowsMessage<DescriptorError>(StrEq("cal.toml: task.id: expected a table, got a string")));
}

// unknown_keys lists the keys not in the known set.
TEST(Section, UnknownKeys)
{
  const json node{{"type", "x"}, {"colour", "red"}, {"size", 1}};
  const spmi::Section section(node, "f.json", "task.backend");
  EXPECT_THAT(section.unknown_keys({"type"}), testing::UnorderedElementsAre("colour", "size"));
  EXPECT_TRUE(section.unknown_keys({"type", "colour", "size"}).empty());
}

// IDs are 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'.
TEST(IsValidId, AcceptsAndRefuses)
{
  for (const char* good : {"a.b-c_1", "cal", "_x", "9", "Manageable_1"}) {
    EXPECT_TRUE(spmi::is_valid_id(good)) << good;
  }
  for (const char* bad : {"", ".", "..", ".hidden", "-x", "a/b", "../x", "a b", "a\nb", "é"}) {
    EXPECT_FALSE(spmi::is_valid_id(bad)) << bad;
  }
  EXPECT_TRUE(spmi::is_valid_id(std::string(64, 'a')));
  EXPECT_FALSE(spmi::is_valid_id(std::string(65, 'a')));
}

} // namespace
