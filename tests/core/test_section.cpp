// SPDX-License-Identifier: MIT
// Section's typed accessors (core/src/section.cpp): the forms each accepts and the exact message of
// each refusal, "<file>: <table>.<key>: <what is wrong>; <what to do>".
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <limits>

namespace {

using json = nlohmann::json;
using spmi::DescriptorError;
using spmi::Section;
using testing::StrEq;
using testing::ThrowsMessage;
using namespace std::chrono_literals;

// Asserts that `call` throws a DescriptorError whose message is exactly `message`.
#define EXPECT_REFUSED(call, message) \
  EXPECT_THAT([&] { (void)(call); }, ThrowsMessage<DescriptorError>(StrEq(message)))

TEST(SectionInteger, AcceptsWholeNumbers)
{
  const json node{{"a", 3}, {"b", 3.0}, {"c", -2}, {"big", 9000000000LL}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_EQ(section.optional_integer("a", 1, 10), 3);
  EXPECT_EQ(section.optional_integer("b", 1, 10), 3);
  EXPECT_EQ(section.optional_integer("c", -5, 5), -2);
  EXPECT_EQ(section.optional_integer("big", 0), 9000000000LL);
  EXPECT_EQ(section.optional_integer("absent", 1, 10), std::nullopt);
  EXPECT_EQ(section.optional_integer("a", 3, 3), 3);  // bounds are inclusive
}

TEST(SectionInteger, Refusals)
{
  const json node{{"frac", 3.5}, {"low", 0}, {"high", 11}, {"text", "3"}, {"null", nullptr},
                  {"huge", 1e20}, {"u64", std::numeric_limits<std::uint64_t>::max()}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_REFUSED(section.optional_integer("frac", 1, 10),
                 "f.toml: task.wrapper.frac: 3.5 is not a whole number; use a whole number from 1 to 10");
  EXPECT_REFUSED(section.optional_integer("low", 1, 10),
                 "f.toml: task.wrapper.low: 0 is out of range; use a whole number from 1 to 10");
  EXPECT_REFUSED(section.optional_integer("high", 1, 10),
                 "f.toml: task.wrapper.high: 11 is out of range; use a whole number from 1 to 10");
  EXPECT_REFUSED(section.optional_integer("text", 1, 10),
                 "f.toml: task.wrapper.text: expected a whole number from 1 to 10, got a string");
  EXPECT_REFUSED(section.optional_integer("null", 1, 10),
                 "f.toml: task.wrapper.null: expected a whole number from 1 to 10, got null");
  EXPECT_REFUSED(section.optional_integer("low", 1),
                 "f.toml: task.wrapper.low: 0 is out of range; use a whole number, 1 or more");
  EXPECT_REFUSED(section.optional_integer("huge", 0),
                 "f.toml: task.wrapper.huge: 1e+20 is out of range; use a whole number, 0 or more");
  EXPECT_REFUSED(section.optional_integer("u64", 0),
                 "f.toml: task.wrapper.u64: 18446744073709551615 is out of range; use a whole number, 0 or more");
}

TEST(SectionSize, AcceptedForms)
{
  const json node{{"n", 4096}, {"f", 2048.0}, {"k", "4K"}, {"m", "10M"}, {"mib", "10MiB"}, {"g", "2G"},
                  {"t", "1T"}, {"b", "100B"}, {"digits", "1024"}, {"zero", 0}, {"zero_text", "0"}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_EQ(section.optional_size("n"), 4096u);
  EXPECT_EQ(section.optional_size("f"), 2048u);
  EXPECT_EQ(section.optional_size("k"), 4096u);
  EXPECT_EQ(section.optional_size("m"), 10u << 20);
  EXPECT_EQ(section.optional_size("mib"), 10u << 20);
  EXPECT_EQ(section.optional_size("g"), 2ull << 30);
  EXPECT_EQ(section.optional_size("t"), 1ull << 40);
  EXPECT_EQ(section.optional_size("b"), 100u);
  EXPECT_EQ(section.optional_size("digits", 1024), 1024u);
  EXPECT_EQ(section.optional_size("absent"), std::nullopt);
  // 0 is what the caller says it is, and refused when it says nothing.
  EXPECT_EQ(section.optional_size("zero", 1024, "no limit"), 0u);
  EXPECT_EQ(section.optional_size("zero_text", 1024, "no limit"), 0u);
  EXPECT_REFUSED(section.optional_size("zero"),
                 "f.toml: task.wrapper.zero: 0 is below the minimum, 1 byte; use at least 1 byte");
}

TEST(SectionSize, Refusals)
{
  const json node{{"x", "10X"}, {"neg", -5}, {"frac", 2048.5}, {"flag", true}, {"null", nullptr},
                  {"zero_k", "0K"}, {"spaced", "10 M"}, {"lower", "10m"}, {"mb", "10MB"}, {"mib", "10mib"},
                  {"decimal", "1.5G"}, {"half_k", "0.5K"}, {"odd", "1.3K"}};
  const Section section(node, "f.toml", "task.wrapper");
  const std::string use = "use a whole number of bytes, or a whole number with one of the units B, K, M, G, T, KiB, "
                          "MiB, GiB, TiB (powers of 1024, written so, no space), e.g. \"10M\" or \"512KiB\", or 0 "
                          "for no limit";
  auto size = [&](const char* key) { return section.optional_size(key, 1024, "no limit"); };
  EXPECT_REFUSED(size("x"), "f.toml: task.wrapper.x: '10X' is not a size; " + use);
  EXPECT_REFUSED(size("neg"), "f.toml: task.wrapper.neg: -5 is not a size; " + use);
  EXPECT_REFUSED(size("frac"), "f.toml: task.wrapper.frac: 2048.5 is not a size; " + use);
  EXPECT_REFUSED(size("flag"), "f.toml: task.wrapper.flag: true is not a size; " + use);
  EXPECT_REFUSED(size("null"), "f.toml: task.wrapper.null: null is not a size; " + use);
  EXPECT_REFUSED(size("zero_k"), "f.toml: task.wrapper.zero_k: '0K' is not a size; " + use);
  // What was probably meant, in the grammar.
  const auto meant = [&](const char* key, const char* value, const char* guess) {
    EXPECT_REFUSED(size(key), std::string("f.toml: task.wrapper.") + key + ": '" + value + "' is not a size; " + use +
                                "; did you mean '" + guess + "'?");
  };
  meant("spaced", "10 M", "10M");
  meant("lower", "10m", "10M");
  meant("mb", "10MB", "10M");
  meant("mib", "10mib", "10MiB");
  meant("decimal", "1.5G", "1536M");
  meant("half_k", "0.5K", "512");
  EXPECT_REFUSED(size("odd"), "f.toml: task.wrapper.odd: '1.3K' is not a size; " + use);
}

// A size below the key's minimum says the minimum, exactly.
TEST(SectionSize, BelowMinimum)
{
  const json node{{"small", 100}, {"small_text", "1K"}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_REFUSED(section.optional_size("small", 1024, "no limit"),
                 "f.toml: task.wrapper.small: 100 is below the minimum, 1KiB; use at least 1KiB, or 0 for no limit");
  EXPECT_REFUSED(section.optional_size("small_text", 64 << 10),
                 "f.toml: task.wrapper.small_text: '1K' is below the minimum, 64KiB; use at least 64KiB");
  EXPECT_REFUSED(section.optional_size("small", 1000),
                 "f.toml: task.wrapper.small: 100 is below the minimum, 1000 bytes; use at least 1000 bytes");
}

TEST(SectionDuration, AcceptedForms)
{
  const json node{{"int", 10}, {"frac", 0.5}, {"text", "10"}, {"ms", "500ms"}, {"s", "30s"}, {"m", "1.5m"},
                  {"h", "2h"}, {"d", "1d"}, {"spaced", "5 MS"}, {"min", "1m"}};
  const Section section(node, "f.toml", "task.wrapper");
  auto duration = [&](const char* key) { return section.optional_duration(key, 0ms, 24h); };
  EXPECT_EQ(duration("int"), 10s);
  EXPECT_EQ(duration("frac"), 500ms);
  EXPECT_EQ(duration("text"), 10s);
  EXPECT_EQ(duration("ms"), 500ms);
  EXPECT_EQ(duration("s"), 30s);
  EXPECT_EQ(duration("m"), 90s);
  EXPECT_EQ(duration("h"), 2h);
  EXPECT_EQ(duration("d"), 24h);
  EXPECT_EQ(duration("spaced"), 5ms);
  EXPECT_EQ(duration("min"), 60s);
  EXPECT_EQ(duration("absent"), std::nullopt);
}

TEST(SectionDuration, Refusals)
{
  const json node{{"neg", -1}, {"over", 86401}, {"over_text", "2d"}, {"tiny", 0.0004}, {"unit", "5x"},
                  {"sign", "-5s"}, {"empty", ""}, {"flag", true}, {"null", nullptr},
                  {"nan", std::numeric_limits<double>::quiet_NaN()}};
  const Section section(node, "f.toml", "task.wrapper");
  auto duration = [&](const char* key) { return section.optional_duration(key, 0ms, 24h); };
  EXPECT_REFUSED(duration("neg"), "f.toml: task.wrapper.neg: -1 is out of range; use 0 to 86400 seconds");
  EXPECT_REFUSED(duration("over"), "f.toml: task.wrapper.over: 86401 is out of range; use 0 to 86400 seconds");
  EXPECT_REFUSED(duration("over_text"),
                 "f.toml: task.wrapper.over_text: '2d' is out of range; use 0 to 86400 seconds");
  EXPECT_REFUSED(section.optional_duration("tiny", 1ms, 8760h),
                 "f.toml: task.wrapper.tiny: 0.0004 is out of range; use 0.001 to 31536000 seconds");
  const std::string use = "use a number of seconds, or a number with ms, s, m, h or d (\"500ms\", \"30s\", \"5m\")";
  EXPECT_REFUSED(duration("unit"), "f.toml: task.wrapper.unit: '5x' is not a duration; " + use);
  EXPECT_REFUSED(duration("sign"), "f.toml: task.wrapper.sign: '-5s' is not a duration; " + use);
  EXPECT_REFUSED(duration("empty"), "f.toml: task.wrapper.empty: '' is not a duration; " + use);
  EXPECT_REFUSED(duration("flag"),
                 "f.toml: task.wrapper.flag: expected a number of seconds or a string such as \"30s\", got a boolean");
  EXPECT_REFUSED(duration("null"),
                 "f.toml: task.wrapper.null: expected a number of seconds or a string such as \"30s\", got null");
  EXPECT_REFUSED(duration("nan"), "f.toml: task.wrapper.nan: expected a finite number, got nan");
}

// A duration that must be there: the same forms, and a missing key named.
TEST(SectionDuration, Required)
{
  const json node{{"deadline", "2m"}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_EQ(section.require_duration("deadline", 1ms, 24h), 120s);
  EXPECT_REFUSED(section.require_duration("limit", 1ms, 24h), "f.toml: task.wrapper: missing key 'limit'");
  EXPECT_REFUSED(section.require_duration("deadline", 1ms, 60s),
                 "f.toml: task.wrapper.deadline: '2m' is out of range; use 0.001 to 60 seconds");
}

TEST(SectionSignal, AcceptedForms)
{
  const json node{{"full", "SIGTERM"}, {"short", "TERM"}, {"lower", "term"}, {"number", 9}, {"text", "15"}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_EQ(section.optional_signal("full"), SIGTERM);
  EXPECT_EQ(section.optional_signal("short"), SIGTERM);
  EXPECT_EQ(section.optional_signal("lower"), SIGTERM);
  EXPECT_EQ(section.optional_signal("number"), SIGKILL);
  EXPECT_EQ(section.optional_signal("text"), SIGTERM);
  EXPECT_EQ(section.optional_signal("absent"), std::nullopt);
}

TEST(SectionSignal, Refusals)
{
  const json node{{"bogus", "SIGBOGUS"}, {"zero", 0}, {"big", 999}, {"list", json::array({"SIGINT"})}, {"frac", 1.5}};
  const Section section(node, "f.toml", "task.wrapper");
  EXPECT_REFUSED(section.optional_signal("bogus"),
                 "f.toml: task.wrapper.bogus: unknown signal 'SIGBOGUS'; use a name such as SIGINT or SIGTERM");
  EXPECT_REFUSED(section.optional_signal("zero"),
                 "f.toml: task.wrapper.zero: unknown signal '0'; use a name such as SIGINT or SIGTERM");
  EXPECT_REFUSED(section.optional_signal("big"),
                 "f.toml: task.wrapper.big: unknown signal '999'; use a name such as SIGINT or SIGTERM");
  EXPECT_REFUSED(section.optional_signal("list"),
                 "f.toml: task.wrapper.list: expected a signal name such as \"SIGTERM\" or a number, got an array");
  EXPECT_REFUSED(section.optional_signal("frac"),
                 "f.toml: task.wrapper.frac: expected a signal name such as \"SIGTERM\" or a number, got a number");
}

TEST(SectionPath, RelativeToTheDescriptorsDirectory)
{
  const json node{{"rel", "data/in"}, {"abs", "/srv/app"}, {"empty", ""}, {"number", 3}};
  const Section section(node, "/home/u/tasks/app.toml", "task.wrapper");
  EXPECT_EQ(section.optional_path("rel"), std::filesystem::path("/home/u/tasks/data/in"));
  EXPECT_EQ(section.optional_path("abs"), std::filesystem::path("/srv/app"));
  EXPECT_EQ(section.optional_path("absent"), std::nullopt);
  EXPECT_REFUSED(section.optional_path("empty"),
                 "/home/u/tasks/app.toml: task.wrapper.empty: empty path; give a path or leave the key out");
  EXPECT_REFUSED(section.optional_path("number"),
                 "/home/u/tasks/app.toml: task.wrapper.number: expected a string, got an integer");
}

TEST(SectionStringTable, ReadsInNameOrder)
{
  const json node{{"env", {{"B", "2"}, {"A", "1"}, {"EMPTY", ""}}}};
  const Section section(node, "f.toml", "task.wrapper");
  const std::vector<std::pair<std::string, std::string>> expected{{"A", "1"}, {"B", "2"}, {"EMPTY", ""}};
  EXPECT_EQ(section.string_table("env"), expected);
  EXPECT_TRUE(section.string_table("absent").empty());
}

TEST(SectionStringTable, Refusals)
{
  const json node{{"text", "A=1"}, {"number", {{"A", 1}}}, {"name", {{"1A", "x"}}}};
  const Section section(node, "f.toml", "task.wrapper");
  const spmi::NameRule rule{[](std::string_view name) { return !name.empty() && name[0] != '1'; },
                            "a valid variable name", "letters, digits and _, not starting with a digit"};
  EXPECT_REFUSED(section.string_table("text"),
                 "f.toml: task.wrapper.text: expected a table of strings (NAME = \"value\"), got a string");
  EXPECT_REFUSED(section.string_table("number"),
                 "f.toml: task.wrapper.number.A: expected a string, got an integer; quote it");
  EXPECT_REFUSED(section.string_table("name", rule),
                 "f.toml: task.wrapper.name.1A: '1A' is not a valid variable name; use letters, digits and _, not "
                 "starting with a digit");
  EXPECT_EQ(section.string_table("name").size(), 1u);  // no rule: any name
}

} // namespace
