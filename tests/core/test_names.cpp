// SPDX-License-Identifier: MIT
// Type names <-> exported class names (the suggestions are in test_suggest.cpp).
#include <spmi/names.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using spmi::PluginKind;

// Each kind's suffix is appended to the PascalCase type name.
TEST(ClassNameFor, MapsTheGuidesTypes)
{
  EXPECT_EQ(spmi::class_name_for("task", PluginKind::manageable), "TaskManageable");
  EXPECT_EQ(spmi::class_name_for("screen", PluginKind::backend), "ScreenBackend");
  EXPECT_EQ(spmi::class_name_for("default", PluginKind::wrapper), "DefaultWrapper");
}

// Every '_' starts a new capitalised word.
TEST(ClassNameFor, CapitalisesEveryWord)
{
  EXPECT_EQ(spmi::class_name_for("some_manageable_realisation", PluginKind::manageable),
            "SomeManageableRealisationManageable");
  EXPECT_EQ(spmi::class_name_for("http2_proxy", PluginKind::backend), "Http2ProxyBackend");
}

// kind_suffix and kind_name spell each kind.
TEST(Kind, SuffixAndName)
{
  EXPECT_EQ(spmi::kind_suffix(PluginKind::manageable), "Manageable");
  EXPECT_EQ(spmi::kind_suffix(PluginKind::backend), "Backend");
  EXPECT_EQ(spmi::kind_suffix(PluginKind::wrapper), "Wrapper");
  EXPECT_EQ(spmi::kind_name(PluginKind::manageable), "manageable");
  EXPECT_EQ(spmi::kind_name(PluginKind::backend), "backend");
  EXPECT_EQ(spmi::kind_name(PluginKind::wrapper), "wrapper");
}

// parse_class_name inverts class_name_for for every kind.
TEST(ParseClassName, RoundTrips)
{
  const std::vector<std::string> types{"task", "screen", "default", "some_manageable_realisation", "http2_proxy", "a"};
  for (auto kind : {PluginKind::manageable, PluginKind::backend, PluginKind::wrapper}) {
    for (const auto& type : types) {
      const auto name = spmi::class_name_for(type, kind);
      const auto parsed = spmi::parse_class_name(name);
      ASSERT_TRUE(parsed.has_value()) << name;
      EXPECT_EQ(parsed->kind, kind) << name;
      EXPECT_EQ(parsed->type, type) << name;
    }
  }
}

// The suffix decides the kind even when another suffix word appears inside the name.
TEST(ParseClassName, SuffixDecidesKind)
{
  const auto parsed = spmi::parse_class_name("SomeManageableRealisationManageable");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->kind, PluginKind::manageable);
  EXPECT_EQ(parsed->type, "some_manageable_realisation");

  const auto backend = spmi::parse_class_name("WrapperBackend");
  ASSERT_TRUE(backend.has_value());
  EXPECT_EQ(backend->kind, PluginKind::backend);
  EXPECT_EQ(backend->type, "wrapper");
}

// Names without a kind suffix, or with nothing before it, are not plugin classes.
TEST(ParseClassName, RefusesNamesWithoutSuffix)
{
  EXPECT_FALSE(spmi::parse_class_name("Screen").has_value());
  EXPECT_FALSE(spmi::parse_class_name("ScreenBackends").has_value());
  EXPECT_FALSE(spmi::parse_class_name("Backend").has_value());
  EXPECT_FALSE(spmi::parse_class_name("").has_value());
  EXPECT_FALSE(spmi::parse_class_name("spmi_abi_1_libstdcxx_cxx11").has_value());
}

// A name must be PascalCase: upper-case start, letters and digits only.
TEST(ParseClassName, RefusesLowerCaseStartAndOddCharacters)
{
  EXPECT_FALSE(spmi::parse_class_name("screenBackend").has_value());
  EXPECT_FALSE(spmi::parse_class_name("1ScreenBackend").has_value());
  EXPECT_FALSE(spmi::parse_class_name("Screen_Backend").has_value());
  EXPECT_FALSE(spmi::parse_class_name("Scr-eenBackend").has_value());
}

// An acronym is not PascalCase: "HTTPBackend" names no type (it would be the odd type "h_t_t_p").
TEST(ParseClassName, RefusesAcronyms)
{
  EXPECT_FALSE(spmi::parse_class_name("HTTPBackend").has_value());
  EXPECT_FALSE(spmi::parse_class_name("ABWrapper").has_value());
}

// Distinct valid type names map to distinct class names: a word after '_' must start with a letter,
// so "foo_2" (which would be Foo2Backend, like "foo2") is refused.
TEST(ClassNameFor, DistinctTypesDistinctClasses)
{
  EXPECT_FALSE(spmi::is_valid_type_name("foo_2"));
  EXPECT_TRUE(spmi::is_valid_type_name("foo2"));
  EXPECT_TRUE(spmi::is_valid_type_name("foo_b2"));
  const auto parsed = spmi::parse_class_name(spmi::class_name_for("foo_b2", PluginKind::backend));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->type, "foo_b2");
}

// Type names are [a-z][a-z0-9]*(_[a-z][a-z0-9]*)*, at most 64 characters.
TEST(IsValidTypeName, AcceptsAndRefuses)
{
  for (const char* good : {"task", "screen", "some_thing", "a", "http2", "a1_b2_c3"}) {
    EXPECT_TRUE(spmi::is_valid_type_name(good)) << good;
  }
  for (const char* bad : {"", "Task", "1task", "_task", "task_", "some__thing", "some-thing", "some thing", "tâche"}) {
    EXPECT_FALSE(spmi::is_valid_type_name(bad)) << bad;
  }
  EXPECT_TRUE(spmi::is_valid_type_name(std::string(64, 'a')));
  EXPECT_FALSE(spmi::is_valid_type_name(std::string(65, 'a')));
}

} // namespace
