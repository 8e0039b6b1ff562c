// SPDX-License-Identifier: MIT
// The controller's selection by pattern, and load/list with the real task, screen and default plugins.
#include <spmi/controller.hpp>
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/log.hpp>

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
using testing::AllOf;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::ThrowsMessage;

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

class ControllerTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-controller-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
    m_controller = std::make_unique<spmi::Controller>(spmi::StateStore(m_dir / "state"), m_registry, spmi::logger());
  }

  void TearDown() override
  {
    m_controller.reset();
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  fs::path write(const std::string& name, const std::string& text) const
  {
    const auto path = m_dir / name;
    std::ofstream out(path, std::ios::binary);
    out << text;
    return path;
  }

  // Registers bare task descriptors with these IDs straight into the store.
  void register_ids(const std::vector<std::string>& ids) const
  {
    std::vector<spmi::Descriptor> descriptors;
    for (const auto& id : ids) {
      auto descriptor = spmi::make_descriptor(json{{"task", {{"id", id}}}}, m_dir / (id + ".json"));
      descriptor.format = "json";
      descriptor.text = json{{"task", {{"id", id}}}}.dump();
      descriptors.push_back(std::move(descriptor));
    }
    m_controller->store().register_all(descriptors);
  }

  std::vector<std::string> select(const std::vector<std::string>& patterns, std::vector<std::string>& unmatched) const
  {
    return m_controller->select(patterns, unmatched);
  }

  fs::path m_dir;
  spmi::PluginRegistry m_registry{{SPMI_BUILD_PLUGIN_DIR}};
  std::unique_ptr<spmi::Controller> m_controller;
};

class ControllerSelectTest : public ControllerTest
{
protected:
  void SetUp() override
  {
    ControllerTest::SetUp();
    register_ids({"manageable_1", "manageable_2", "manageable_3", "other"});
  }
};

// A regex selects every ID it matches, sorted.
TEST_F(ControllerSelectTest, RegexSelects)
{
  std::vector<std::string> unmatched;
  EXPECT_THAT(select({"manageable_[1-3]"}, unmatched), ElementsAre("manageable_1", "manageable_2", "manageable_3"));
  EXPECT_TRUE(unmatched.empty());
}

// A pattern must match the whole ID: a prefix selects nothing and is reported unmatched.
TEST_F(ControllerSelectTest, WholeIdMatch)
{
  std::vector<std::string> unmatched;
  EXPECT_TRUE(select({"manageable"}, unmatched).empty());
  EXPECT_THAT(unmatched, ElementsAre("manageable"));
}

// Several patterns select the union, each ID once; only the patterns matching nothing are unmatched.
TEST_F(ControllerSelectTest, UnionWithoutDuplicates)
{
  std::vector<std::string> unmatched;
  EXPECT_THAT(select({"manageable_[12]", "manageable_1", "oth.*", "nope"}, unmatched),
              ElementsAre("manageable_1", "manageable_2", "other"));
  EXPECT_THAT(unmatched, ElementsAre("nope"));
}

// A plain ID selects exactly itself; ".*" selects everything.
TEST_F(ControllerSelectTest, PlainIdAndEverything)
{
  std::vector<std::string> unmatched;
  EXPECT_THAT(select({"other"}, unmatched), ElementsAre("other"));
  EXPECT_THAT(select({".*"}, unmatched), ElementsAre("manageable_1", "manageable_2", "manageable_3", "other"));
  EXPECT_TRUE(unmatched.empty());
}

// Plain IDs (no regex metacharacter) are looked up directly: the same result as a scan, each once,
// sorted; a directory without manageable.json is not a manageable.
TEST_F(ControllerSelectTest, PlainIdsLookedUpDirectly)
{
  fs::create_directory(m_controller->store().root() / "half");
  std::vector<std::string> unmatched;
  EXPECT_THAT(select({"other", "nope", "manageable_1", "other", "half"}, unmatched),
              ElementsAre("manageable_1", "other"));
  EXPECT_THAT(unmatched, ElementsAre("nope", "half"));
}

// An invalid regex is a UsageError naming the pattern.
TEST_F(ControllerSelectTest, InvalidRegex)
{
  std::vector<std::string> unmatched;
  EXPECT_THAT([&] { select({"manageable_1", "["}, unmatched); },
              ThrowsMessage<spmi::UsageError>(HasSubstr("invalid pattern '['")));
}

// Patterns are RE2: a pattern that backtracks exponentially in std::regex ('(a|a)*b' on a 28-character
// ID took 12 s) matches in linear time, and still only the whole ID.
TEST_F(ControllerSelectTest, LinearTimeOnHostilePattern)
{
  register_ids({std::string(28, 'a'), std::string(27, 'a') + "b"});
  std::vector<std::string> unmatched;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(select({"(a|a)*b", "(a*)*c"}, unmatched), ElementsAre(std::string(27, 'a') + "b"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_THAT(unmatched, ElementsAre("(a*)*c"));
  unmatched.clear();
  EXPECT_TRUE(select({"a{3}"}, unmatched).empty());  // a substring match is no match
}

// What RE2 can't do in linear time is a UsageError that says so.
TEST_F(ControllerSelectTest, UnsupportedSyntaxNamed)
{
  std::vector<std::string> unmatched;
  EXPECT_THAT([&] { select({"(a)\\1"}, unmatched); },
              ThrowsMessage<spmi::UsageError>(
                AllOf(HasSubstr("invalid pattern '(a)\\1'"), HasSubstr("backreferences"), HasSubstr("RE2"))));
  EXPECT_THAT([&] { select({"(?!x).*"}, unmatched); },
              ThrowsMessage<spmi::UsageError>(AllOf(HasSubstr("invalid pattern '(?!x).*'"), HasSubstr("lookahead"))));
}

// load of a valid TOML descriptor registers it under its ID.
TEST_F(ControllerTest, LoadRegisters)
{
  const auto path = write("cal.toml", k_cal_toml);
  EXPECT_THAT(m_controller->load({path}), ElementsAre("cal"));
  const auto& store = m_controller->store();
  ASSERT_TRUE(store.contains("cal"));
  const auto meta = store.dir("cal").read_meta();
  EXPECT_EQ(meta["type"], "task");
  EXPECT_EQ(meta["body"]["wrapper"]["command"], "cal");
  EXPECT_EQ(spmi::read_file(store.dir("cal").path() / "descriptor.toml"), std::string(k_cal_toml));
}

// A typo in one backend type refuses the whole load with a suggestion, and registers nothing.
TEST_F(ControllerTest, LoadIsAllOrNothing)
{
  std::string bad = k_cal_toml;
  bad.replace(bad.find("\"cal\""), 5, "\"bad\"");
  bad.replace(bad.find("\"screen\""), 8, "\"scren\"");
  const auto good_path = write("cal.toml", k_cal_toml);
  const auto bad_path = write("bad.toml", bad);
  EXPECT_THAT([&] { m_controller->load({good_path, bad_path}); },
              ThrowsMessage<spmi::DescriptorError>(AllOf(HasSubstr(bad_path.string() + ": task.backend.type: "),
                                                         HasSubstr("unknown backend type 'scren'"),
                                                         HasSubstr("did you mean 'screen'?"),
                                                         HasSubstr("nothing was loaded"))));
  EXPECT_TRUE(m_controller->store().ids().empty());
  EXPECT_FALSE(m_controller->store().contains("cal"));
}

// Every bad file is reported, not only the first.
TEST_F(ControllerTest, LoadReportsEveryBadFile)
{
  const auto a = write("a.toml", "[task]\nid = \"a\"\n");
  const auto b = write("b.json", "{");
  EXPECT_THAT([&] { m_controller->load({a, b}); },
              ThrowsMessage<spmi::DescriptorError>(AllOf(HasSubstr(a.string() + ": task: missing table 'backend'"),
                                                         HasSubstr(b.string() + ": invalid JSON"),
                                                         HasSubstr("nothing was loaded: 2 of 2 descriptors are invalid"))));
  EXPECT_TRUE(m_controller->store().ids().empty());
}

// The same ID twice in one load is refused, and nothing is registered.
TEST_F(ControllerTest, LoadSameIdTwice)
{
  const auto first = write("cal.toml", k_cal_toml);
  const auto second = write("cal2.toml", k_cal_toml);
  EXPECT_THAT([&] { m_controller->load({first, second}); },
              ThrowsMessage<spmi::DescriptorError>(AllOf(HasSubstr(second.string() + ": task.id: 'cal' is also the ID in"),
                                                         HasSubstr("IDs must be unique"))));
  EXPECT_TRUE(m_controller->store().ids().empty());
}

// Loading an ID that is already loaded is a StateError.
TEST_F(ControllerTest, LoadAlreadyLoaded)
{
  const auto path = write("cal.toml", k_cal_toml);
  m_controller->load({path});
  EXPECT_THAT([&] { m_controller->load({path}); },
              ThrowsMessage<spmi::StateError>(HasSubstr("manageable 'cal' is already loaded")));
}

// list() shows each manageable's type and comment, inactive after load.
TEST_F(ControllerTest, ListShowsCommentAndInactive)
{
  m_controller->load({write("cal.toml", k_cal_toml)});
  const auto list = m_controller->list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "cal");
  EXPECT_EQ(list[0].type, "task");
  EXPECT_EQ(list[0].comment, "Prints calendar to stdout.");
  EXPECT_FALSE(list[0].active());
  EXPECT_EQ(list[0].state, spmi::State::inactive);
  EXPECT_EQ(list[0].problem, "");
  EXPECT_FALSE(m_controller->is_active("cal"));
}

// list() reports a manageable whose metadata is corrupt instead of failing.
TEST_F(ControllerTest, ListReportsCorruptMetadata)
{
  m_controller->load({write("cal.toml", k_cal_toml)});
  std::ofstream(m_controller->store().dir("cal").meta_path()) << "{";
  const auto list = m_controller->list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_THAT(list[0].problem, HasSubstr("corrupt state file"));
}

// status of a loaded, never started manageable shows the plugin's fields and no run.
TEST_F(ControllerTest, StatusOfInactive)
{
  m_controller->load({write("cal.toml", k_cal_toml)});
  const auto status = m_controller->status("cal", 5);
  EXPECT_EQ(status.view.id, "cal");
  EXPECT_EQ(status.view.state, spmi::State::inactive);
  EXPECT_EQ(status.pid, std::nullopt);
  EXPECT_TRUE(status.output.empty());
  ASSERT_EQ(status.fields.size(), 5u);
  EXPECT_EQ(status.fields[0].value, "screen");
  EXPECT_EQ(status.fields[1].value, "-");
  EXPECT_EQ(status.fields[2].value, "default");
  EXPECT_EQ(status.fields[3].value, "cal");
  EXPECT_EQ(status.fields[4].key, "Restart policy");  // the run protocol's own line
  EXPECT_EQ(status.fields[4].value, "never");
}

// stop, kill of an inactive manageable and any command on an unknown ID are StateErrors; clean removes.
TEST_F(ControllerTest, RefusalsAndClean)
{
  m_controller->load({write("cal.toml", k_cal_toml)});
  EXPECT_THAT([&] { m_controller->stop("cal"); }, ThrowsMessage<spmi::StateError>(HasSubstr("is inactive")));
  EXPECT_THAT([&] { m_controller->kill("cal"); }, ThrowsMessage<spmi::StateError>(HasSubstr("is inactive")));
  EXPECT_THAT([&] { m_controller->start("ghost"); },
              ThrowsMessage<spmi::StateError>(HasSubstr("no manageable 'ghost' is loaded")));
  m_controller->clean("cal");
  EXPECT_TRUE(m_controller->store().ids().empty());
  EXPECT_THROW(m_controller->clean("cal"), spmi::StateError);
}

} // namespace

namespace {

// Strict loading: every unknown key of every table is an error, nothing is loaded; without it, a warning.
TEST_F(ControllerTest, StrictLoadRefusesUnknownKeys)
{
  std::string typo = k_cal_toml;
  typo.replace(typo.find("mixed_stdout"), 12, "restrat = \"always\"\nmixed_stdout");
  typo.replace(typo.find("comment"), 7, "colour = 1\ncomment");
  const auto path = write("cal.toml", typo);
  m_controller->set_strict(true);
  EXPECT_THAT([&] { m_controller->load({path}); },
              ThrowsMessage<spmi::DescriptorError>(
                AllOf(HasSubstr(path.string() + ": task.colour: unknown key 'colour' (refused: strict loading); remove it"),
                      HasSubstr(path.string() + ": task.wrapper.restrat: unknown key 'restrat' (refused: strict "
                                                "loading); did you mean 'restart'?"),
                      HasSubstr("nothing was loaded: 1 of 1 descriptor is invalid"))));
  EXPECT_TRUE(m_controller->store().ids().empty());
  m_controller->set_strict(false);
  EXPECT_THAT(m_controller->load({path}), ElementsAre("cal"));
}

// SPMI_STRICT: which values are strict, which are not, and the rest refused.
TEST_F(ControllerTest, StrictFromEnvironment)
{
  for (const char* on : {"1", "true", "YES", "On"}) {
    ::setenv("SPMI_STRICT", on, 1);
    EXPECT_TRUE(m_controller->strict()) << on;
  }
  for (const char* off : {"", "0", "false", "No", "OFF"}) {
    ::setenv("SPMI_STRICT", off, 1);
    EXPECT_FALSE(m_controller->strict()) << off;
  }
  ::setenv("SPMI_STRICT", "maybe", 1);
  EXPECT_THAT([&] { (void)m_controller->strict(); },
              ThrowsMessage<spmi::UsageError>(HasSubstr("SPMI_STRICT='maybe' is not understood")));
  m_controller->set_strict(true);  // the setting wins over the environment
  EXPECT_TRUE(m_controller->strict());
  ::unsetenv("SPMI_STRICT");
}

// A glob where a regex is expected: the regex meant, when invalid, and for unmatched ones that it matches.
TEST_F(ControllerSelectTest, GlobsGetTheRegexMeant)
{
  std::vector<std::string> unmatched;
  EXPECT_THAT([&] { select({"*"}, unmatched); },
              ThrowsMessage<spmi::UsageError>(AllOf(HasSubstr("not globs"), HasSubstr("did you mean '.*'?"))));
  EXPECT_EQ(m_controller->meant_pattern("manageable*"), "manageable.*");
  EXPECT_EQ(m_controller->meant_pattern("manageable_?"), "manageable_.");
  EXPECT_EQ(m_controller->meant_pattern("zzz*"), std::nullopt);  // the regex would match nothing either
  EXPECT_EQ(m_controller->meant_pattern("other"), std::nullopt);  // no glob
}

// A command that takes one ID: an ID near a loaded one, or a pattern and what it matches.
TEST_F(ControllerSelectTest, RequireLoadedSaysWhatToDo)
{
  EXPECT_NO_THROW(m_controller->require_loaded("other", "logs"));
  EXPECT_THAT([&] { m_controller->require_loaded("othr", "logs"); },
              ThrowsMessage<spmi::StateError>(HasSubstr("no manageable 'othr' is loaded; did you mean 'other'?")));
  EXPECT_THAT([&] { m_controller->require_loaded("manageable_.*", "logs"); },
              ThrowsMessage<spmi::StateError>(HasSubstr(
                "'manageable_.*' is a pattern; `spmi logs` takes one ID: the pattern matches 'manageable_1', "
                "'manageable_2' and 'manageable_3'; run `spmi logs manageable_1` (or another of them)")));
  EXPECT_THAT([&] { m_controller->require_loaded("x.*", "connect"); },
              ThrowsMessage<spmi::StateError>(HasSubstr("no manageable 'x.*' is loaded (see `spmi list`); `spmi connect` takes one ID, not a pattern")));
}

// wait(): never-started ones have ended, counted as 1; the exit status is the first failure's code.
TEST_F(ControllerSelectTest, WaitOnNeverStarted)
{
  const auto outcome = m_controller->wait({"manageable_1", "other"}, std::chrono::milliseconds(0));
  ASSERT_EQ(outcome.ended.size(), 2u);
  EXPECT_EQ(outcome.ended[0].id, "manageable_1");
  EXPECT_EQ(outcome.ended[0].code, 1);
  EXPECT_EQ(outcome.ended[0].note, "it never ran (it was never started)");
  EXPECT_FALSE(outcome.timed_out());
  EXPECT_EQ(outcome.exit_status(), 1);
}

TEST(WaitOutcome, ExitStatus)
{
  spmi::WaitOutcome outcome;
  EXPECT_EQ(outcome.exit_status(), 0);
  outcome.ended = {{"a", spmi::State::inactive, spmi::ExitView{0, {}, {}, ""}, 0, ""},
                   {"b", spmi::State::failed, spmi::ExitView{3, {}, {}, ""}, 3, ""},
                   {"c", spmi::State::inactive, spmi::ExitView{137, 9, {}, ""}, 137, ""}};
  EXPECT_EQ(outcome.exit_status(), 3);
  outcome.running = {"d"};
  EXPECT_EQ(outcome.exit_status(), spmi::WaitOutcome::k_timeout);
}

} // namespace
