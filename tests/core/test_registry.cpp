// SPDX-License-Identifier: MIT
// The plugin registry against the fake plugins of tests/fixtures/plugins: finding, creating, rejecting.
#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/registry.hpp>

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using spmi::PluginKind;
using testing::AllOf;
using testing::HasSubstr;
using testing::StrEq;
using testing::ThrowsMessage;

const fs::path k_plugins = SPMI_TEST_PLUGIN_DIR;

// The rejection of `file`, or "" when it was not rejected.
std::string
reason_for(spmi::PluginRegistry& registry, const fs::path& file)
{
  for (const auto& rejected : registry.rejected()) {
    if (rejected.file == file) {
      return rejected.reason;
    }
  }
  return "";
}

class RegistryTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-registry-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
  }

  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  // A context whose table is `m_node`, named "fake.toml: task.backend" in messages.
  spmi::PluginContext context(spmi::PluginRegistry& registry) const
  {
    return spmi::PluginContext{spmi::Section(m_node, "fake.toml", "task.backend"), spmi::logger(), &registry};
  }

  fs::path m_dir;
  json m_node = json{{"type", "fake"}, {"label", "from the descriptor"}};
};

// plugins() lists each fake class with its kind, type and file; the good directory rejects nothing.
TEST_F(RegistryTest, ListsPlugins)
{
  spmi::PluginRegistry registry({k_plugins});
  EXPECT_EQ(registry.dirs(), std::vector<fs::path>{k_plugins});
  std::vector<std::string> names;
  for (const auto& plugin : registry.plugins()) {
    names.push_back(plugin.class_name);
    EXPECT_EQ(plugin.kind, PluginKind::backend);
    EXPECT_EQ(plugin.file.parent_path(), k_plugins);
  }
  EXPECT_THAT(names, testing::UnorderedElementsAre("FakeBackend", "StrictBackend", "ThrowsBackend"));
  EXPECT_TRUE(registry.rejected().empty());
}

// find() maps a type to the file exporting its class, and nothing for other kinds or types.
TEST_F(RegistryTest, Find)
{
  spmi::PluginRegistry registry({k_plugins});
  const auto fake = registry.find(PluginKind::backend, "fake");
  ASSERT_TRUE(fake.has_value());
  EXPECT_EQ(fake->class_name, "FakeBackend");
  EXPECT_EQ(fake->kind, PluginKind::backend);
  EXPECT_EQ(fake->type, "fake");
  EXPECT_EQ(fake->file, k_plugins / "spmi_test_fake.so");
  EXPECT_FALSE(registry.find(PluginKind::wrapper, "fake").has_value());
  EXPECT_FALSE(registry.find(PluginKind::backend, "screen").has_value());
}

// A working plugin is loaded and its factory receives the descriptor table.
TEST_F(RegistryTest, CreatesFakeBackend)
{
  spmi::PluginRegistry registry({k_plugins});
  auto backend = registry.create_backend("fake", context(registry));
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->type(), "fake");
  EXPECT_EQ(backend->launch(spmi::LaunchSpec{}).backend_id, "from the descriptor");
  // A second object comes from the library already loaded.
  EXPECT_EQ(registry.create_backend("fake", context(registry))->type(), "fake");
}

// A factory throwing std::runtime_error becomes a PluginError naming the file and the class.
TEST_F(RegistryTest, FactoryRuntimeErrorBecomesPluginError)
{
  spmi::PluginRegistry registry({k_plugins});
  EXPECT_THAT([&] { registry.create_backend("throws", context(registry)); },
              ThrowsMessage<spmi::PluginError>(HasSubstr(
                fmt::format("plugin {} (class ThrowsBackend) threw std::runtime_error in its factory: the fake "
                            "backend refuses to exist; ",
                            (k_plugins / "spmi_test_throws.so").string()))));
}

// A factory throwing spmi::DescriptorError passes it through unchanged.
TEST_F(RegistryTest, FactoryDescriptorErrorPassesThrough)
{
  spmi::PluginRegistry registry({k_plugins});
  EXPECT_THAT([&] { registry.create_backend("strict", context(registry)); },
              ThrowsMessage<spmi::DescriptorError>(StrEq("fake.toml: task.backend: missing key 'host'")));
  m_node["host"] = "h";
  EXPECT_THAT([&] { registry.create_backend("strict", context(registry)); },
              ThrowsMessage<spmi::DescriptorError>(StrEq("fake.toml: task.backend.host: no such host")));
}

// An unknown type names the class looked for, the directories, a suggestion and what is installed.
TEST_F(RegistryTest, UnknownTypeListsInstalled)
{
  spmi::PluginRegistry registry({k_plugins});
  EXPECT_THAT([&] { registry.create_backend("fak", context(registry)); },
              ThrowsMessage<spmi::DescriptorError>(StrEq(
                "fake.toml: task.backend.type: unknown backend type 'fak': no plugin exports class FakBackend (searched " +
                k_plugins.string() + "); did you mean 'fake'?; installed backends: fake, strict, throws")));
  EXPECT_THAT([&] { registry.create_wrapper("default", context(registry)); },
              ThrowsMessage<spmi::DescriptorError>(
                AllOf(HasSubstr("unknown wrapper type 'default'"), HasSubstr("installed wrappers: none"))));
}

// A malformed type name is refused before any lookup.
TEST_F(RegistryTest, MalformedTypeName)
{
  spmi::PluginRegistry registry({k_plugins});
  EXPECT_THAT([&] { registry.create_backend("Fake", context(registry)); },
              ThrowsMessage<spmi::DescriptorError>(StrEq(
                "fake.toml: task.backend.type: 'Fake' is not a backend type name; use lower-case letters, digits and '_'")));
}

// A shared object built without the export macros is rejected for having no 'spmi' section.
TEST_F(RegistryTest, RejectsSharedObjectWithoutExports)
{
  spmi::PluginRegistry registry({k_plugins / "no_export"});
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_EQ(reason_for(registry, k_plugins / "no_export" / "spmi_test_no_export.so"),
            "exports no spmi plugin (no 'spmi' section)");
}

// A text file named .so is rejected without a crash.
TEST_F(RegistryTest, RejectsJunkFile)
{
  std::ofstream(m_dir / "junk.so") << "this is not an ELF file\n";
  std::ofstream(m_dir / "empty.so");
  std::ofstream(m_dir / "not_a_plugin.txt") << "ignored: not named .so\n";
  spmi::PluginRegistry registry({m_dir});
  EXPECT_TRUE(registry.plugins().empty());
  ASSERT_EQ(registry.rejected().size(), 2u);
  EXPECT_THAT(reason_for(registry, m_dir / "junk.so"), HasSubstr("not a loadable shared object"));
  EXPECT_THAT(reason_for(registry, m_dir / "empty.so"), HasSubstr("not a loadable shared object"));
}

// A truncated ELF file is rejected without a crash.
TEST_F(RegistryTest, RejectsTruncatedElf)
{
  std::ifstream in(k_plugins / "spmi_test_fake.so", std::ios::binary);
  std::string head(200, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::ofstream(m_dir / "truncated.so", std::ios::binary) << head;
  spmi::PluginRegistry registry({m_dir});
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_NE(reason_for(registry, m_dir / "truncated.so"), "");
}

// A plugin stamped with another plugin ABI is rejected with advice to rebuild it.
TEST_F(RegistryTest, RejectsWrongAbiStamp)
{
  spmi::PluginRegistry registry({k_plugins / "old_abi"});
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_FALSE(registry.find(PluginKind::backend, "old").has_value());
  EXPECT_THAT(reason_for(registry, k_plugins / "old_abi" / "spmi_test_old_abi.so"),
              AllOf(HasSubstr("was built for plugin ABI 0 with C++ library ABI libstdcxx_cxx11"),
                    HasSubstr(fmt::format("this spmi needs plugin ABI {} with C++ library ABI libstdcxx_cxx11",
                                          SPMI_PLUGIN_ABI_VERSION)),
                    HasSubstr("rebuild the plugin")));
}

// An exported name that is no plugin class name is rejected, naming it.
TEST_F(RegistryTest, RejectsBadClassName)
{
  spmi::PluginRegistry registry({k_plugins / "bad_name"});
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_THAT(reason_for(registry, k_plugins / "bad_name" / "spmi_test_bad_name.so"),
              HasSubstr("exports 'Helper', which is not a ...Manageable, ...Backend or ...Wrapper class name"));
}

// The same class in two directories: the first directory wins and lists the other file as shadowed;
// the shadowed file is not rejected (it is fine, just hidden).
TEST_F(RegistryTest, ShadowingFirstDirectoryWins)
{
  spmi::PluginRegistry registry({k_plugins, k_plugins / "shadow"});
  const auto found = registry.find(PluginKind::backend, "fake");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->file, k_plugins / "spmi_test_fake.so");
  EXPECT_THAT(found->shadowed, testing::ElementsAre(k_plugins / "shadow" / "spmi_test_fake_shadow.so"));
  EXPECT_FALSE(found->conflict.has_value());
  EXPECT_EQ(reason_for(registry, k_plugins / "shadow" / "spmi_test_fake_shadow.so"), "");
  EXPECT_EQ(registry.create_backend("fake", context(registry))->type(), "fake");

  spmi::PluginRegistry reversed({k_plugins / "shadow", k_plugins});
  EXPECT_EQ(reversed.find(PluginKind::backend, "fake")->file, k_plugins / "shadow" / "spmi_test_fake_shadow.so");
  EXPECT_THAT(reversed.find(PluginKind::backend, "fake")->shadowed, testing::ElementsAre(k_plugins / "spmi_test_fake.so"));
}

// Two files of one directory exporting the same class: using it is an error naming both files.
TEST_F(RegistryTest, SameClassTwiceInOneDirectoryIsAnError)
{
  spmi::PluginRegistry registry({k_plugins / "duplicate"});
  const auto found = registry.find(PluginKind::backend, "fake");
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->conflict.has_value());
  try {
    registry.create_backend("fake", context(registry));
    FAIL() << "expected PluginError";
  } catch (const spmi::PluginError& e) {
    EXPECT_THAT(e.what(), HasSubstr("exported by two files in " + (k_plugins / "duplicate").string()));
    EXPECT_THAT(e.what(), HasSubstr("spmi_test_dup_a.so and spmi_test_dup_b.so"));
    EXPECT_THAT(e.what(), HasSubstr("remove or rename one"));
  }
}

// Discovery reads the files only: no code of a plugin runs until its class is created.
TEST_F(RegistryTest, DiscoveryRunsNoPluginCode)
{
  const auto marker = m_dir / "loud.marker";
  ::setenv("SPMI_TEST_LOUD_MARKER", marker.c_str(), 1);
  spmi::PluginRegistry registry({k_plugins / "loud"});
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_TRUE(registry.find(PluginKind::backend, "loud").has_value());
  EXPECT_FALSE(fs::exists(marker)) << "scanning ran the plugin's static constructor";
  EXPECT_EQ(registry.create_backend("loud", context(registry))->type(), "loud");
  EXPECT_TRUE(fs::exists(marker));
  ::unsetenv("SPMI_TEST_LOUD_MARKER");
}

// Broken files next to good ones do not hide the good ones; missing directories are skipped.
TEST_F(RegistryTest, GoodPluginsSurviveBadNeighbours)
{
  std::ofstream(m_dir / "junk.so") << "junk";
  spmi::PluginRegistry registry({m_dir / "absent", m_dir, k_plugins / "old_abi", k_plugins});
  EXPECT_EQ(registry.plugins().size(), 3u);
  EXPECT_EQ(registry.rejected().size(), 2u);
  EXPECT_EQ(registry.create_backend("fake", context(registry))->type(), "fake");
}

// default_dirs() puts $SPMI_PLUGIN_PATH entries first, skipping empty ones.
TEST(RegistryDirs, DefaultDirsHonourPluginPath)
{
  const char* saved_path = std::getenv("SPMI_PLUGIN_PATH");
  const std::string saved = saved_path ? saved_path : "";
  const char* saved_home_env = std::getenv("HOME");
  const std::string saved_home = saved_home_env ? saved_home_env : "";
  ::setenv("SPMI_PLUGIN_PATH", "/one::/two", 1);
  ::setenv("HOME", "/home/someone", 1);
  auto dirs = spmi::PluginRegistry::default_dirs();
  ASSERT_EQ(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], fs::path("/one"));
  EXPECT_EQ(dirs[1], fs::path("/two"));
  EXPECT_EQ(dirs[2], fs::path("/home/someone/.local/lib/spmi/plugins"));
  EXPECT_EQ(dirs[3].filename(), "plugins");
  ::unsetenv("HOME");  // no home, no user directory
  dirs = spmi::PluginRegistry::default_dirs();
  ASSERT_EQ(dirs.size(), 3u);
  EXPECT_EQ(dirs[2].filename(), "plugins");
  if (saved_home_env) {
    ::setenv("HOME", saved_home.c_str(), 1);
  }
  if (saved_path) {
    ::setenv("SPMI_PLUGIN_PATH", saved.c_str(), 1);
  } else {
    ::unsetenv("SPMI_PLUGIN_PATH");
  }
}

} // namespace

namespace {

class RegistryTrustTest : public RegistryTest
{
protected:
  // A copy of the working fake plugin in its own directory (mode 0755), returned by path.
  fs::path copy_fake()
  {
    const auto dir = m_dir / "trusted";
    fs::create_directory(dir);
    fs::permissions(dir, fs::perms(0755));
    fs::copy_file(k_plugins / "spmi_test_fake.so", dir / "spmi_test_fake.so");
    fs::permissions(dir / "spmi_test_fake.so", fs::perms(0755));
    return dir / "spmi_test_fake.so";
  }
};

// A plugin file and directory that only we (or root) can change are trusted.
TEST_F(RegistryTrustTest, AcceptsPrivatePlugin)
{
  const auto file = copy_fake();
  spmi::PluginRegistry registry({file.parent_path()});
  EXPECT_TRUE(registry.find(PluginKind::backend, "fake").has_value());
  EXPECT_EQ(reason_for(registry, file), "");
}

// A plugin file writable by other users is refused, naming the file and the fix.
TEST_F(RegistryTrustTest, RefusesWorldWritableFile)
{
  const auto file = copy_fake();
  fs::permissions(file, fs::perms(0666));
  spmi::PluginRegistry registry({file.parent_path()});
  EXPECT_FALSE(registry.find(PluginKind::backend, "fake").has_value());
  EXPECT_EQ(reason_for(registry, file), "plugin file " + file.string() +
                                          " is writable by other users; refusing to load code from it (chmod go-w " +
                                          file.string() + ")");
}

// Every plugin in a directory writable by other users is refused.
TEST_F(RegistryTrustTest, RefusesGroupWritableDirectory)
{
  const auto file = copy_fake();
  fs::permissions(file.parent_path(), fs::perms(0775));
  spmi::PluginRegistry registry({file.parent_path()});
  EXPECT_FALSE(registry.find(PluginKind::backend, "fake").has_value());
  EXPECT_THAT(reason_for(registry, file), HasSubstr("plugin directory " + file.parent_path().string() +
                                                    " is writable by other users"));
}

// A plugin owned by another user (neither us nor root) is refused.
TEST_F(RegistryTrustTest, RefusesForeignOwner)
{
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a file to another user";
  }
  const auto file = copy_fake();
  ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);  // nobody
  spmi::PluginRegistry registry({file.parent_path()});
  EXPECT_FALSE(registry.find(PluginKind::backend, "fake").has_value());
  EXPECT_THAT(reason_for(registry, file), HasSubstr("is owned by uid 65534, not by you or root"));
}

} // namespace

namespace {

// A stripped plugin (no .symtab, as distributions ship them) is still found through .dynsym.
TEST_F(RegistryTrustTest, FindsStrippedPlugin)
{
  const auto file = copy_fake();
  const auto stripped = spmi::process::run_capture({"strip", file.string()}, std::chrono::seconds(10));
  ASSERT_EQ(stripped.status.code, 0) << stripped.err;
  spmi::PluginRegistry registry({file.parent_path()});
  EXPECT_TRUE(registry.find(PluginKind::backend, "fake").has_value());
  EXPECT_EQ(reason_for(registry, file), "");
}

} // namespace
