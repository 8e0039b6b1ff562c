// SPDX-License-Identifier: MIT
// The state store: layout, atomic all-or-nothing registration, run records, liveness and tail.
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/state.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::HasSubstr;
using testing::ThrowsMessage;

int
mode_of(const fs::path& path)
{
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 07777);
}

std::set<std::string>
entries_of(const fs::path& dir)
{
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename() != ".store.lock") {  // the store's lock file stays (StateStore::lock_store)
      names.insert(entry.path().filename().string());
    }
  }
  return names;
}

class StateTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
    m_root = m_dir / "state";
  }

  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  // A task descriptor with `id`, as if read from <temp dir>/<id>.toml.
  spmi::Descriptor descriptor(const std::string& id) const
  {
    const std::string text = "[task]\nid = \"" + id + "\"\ncomment = \"about " + id + "\"\n";
    auto result = spmi::make_descriptor(json{{"task", {{"id", id}, {"comment", "about " + id}}}}, m_dir / (id + ".toml"));
    result.format = "toml";
    result.text = text;
    return result;
  }

  void write_text(const fs::path& path, const std::string& text) const
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }

  // The directory of a manageable "m" in the store under m_root (made on first use), for tail_of().
  fs::path manageable_dir() const
  {
    fs::create_directories(m_root / "m");
    fs::permissions(m_root, fs::perms::owner_all);
    fs::permissions(m_root / "m", fs::perms::owner_all);
    return m_root / "m";
  }
  // The last `lines` lines of the file `name` of manageable_dir().
  std::vector<std::string> tail_of(const std::string& name, std::size_t lines) const
  {
    return spmi::StateStore(m_root).dir("m").tail(name, lines);
  }

  fs::path m_dir;
  fs::path m_root;
};

// ensure_root creates a missing root private to the user, and accepts an existing one.
TEST_F(StateTest, EnsureRootCreatesMode0700)
{
  const spmi::StateStore store(m_root);
  store.ensure_root();
  EXPECT_TRUE(fs::is_directory(m_root));
  EXPECT_EQ(mode_of(m_root), 0700);
  EXPECT_NO_THROW(store.ensure_root());
}

// ensure_root creates missing parents too.
TEST_F(StateTest, EnsureRootCreatesParents)
{
  const spmi::StateStore store(m_dir / "a" / "b" / "state");
  store.ensure_root();
  EXPECT_TRUE(fs::is_directory(store.root()));
  EXPECT_EQ(mode_of(store.root()), 0700);
}

// register_all lays out one directory per descriptor: metadata, descriptor copy, lock and stdin FIFO.
TEST_F(StateTest, RegisterAllCreatesLayout)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("one"), descriptor("two")});
  EXPECT_EQ(mode_of(m_root), 0700);
  for (const std::string id : {"one", "two"}) {
    ASSERT_TRUE(store.contains(id)) << id;
    const auto dir = store.dir(id);
    EXPECT_EQ(dir.path(), m_root / id);
    EXPECT_EQ(dir.id(), id);

    const auto meta = dir.read_meta();
    EXPECT_EQ(meta["type"], "task");
    EXPECT_EQ(meta["id"], id);
    EXPECT_EQ(meta["comment"], "about " + id);
    EXPECT_EQ(meta["format"], "toml");
    EXPECT_EQ(meta["source"], (m_dir / (id + ".toml")).string());
    EXPECT_EQ(meta["body"], (json{{"id", id}, {"comment", "about " + id}}));

    EXPECT_EQ(spmi::read_file(dir.path() / "descriptor.toml"), descriptor(id).text);
    // Three inodes per manageable: the lock file and the stdin FIFO come when first needed.
    EXPECT_FALSE(fs::exists(dir.path() / "lock"));
    EXPECT_FALSE(fs::exists(dir.stdin_path()));
    dir.lock();
    EXPECT_TRUE(fs::exists(dir.path() / "lock"));
    dir.make_stdin();
    dir.make_stdin();  // again: it exists, nothing to do

    struct stat st {};
    ASSERT_EQ(::lstat(dir.stdin_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
  }
  // Nothing staged is left behind.
  EXPECT_EQ(entries_of(m_root), (std::set<std::string>{"one", "two"}));
}

// An ID already registered makes the whole call fail and registers none of the others.
TEST_F(StateTest, RegisterAllIsAllOrNothing)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("old")});
  EXPECT_THAT([&] { store.register_all({descriptor("new"), descriptor("old")}); },
              ThrowsMessage<spmi::StateError>(HasSubstr("manageable 'old' is already loaded")));
  EXPECT_FALSE(store.contains("new"));
  EXPECT_FALSE(fs::exists(m_root / "new"));
  EXPECT_TRUE(store.contains("old"));
  EXPECT_EQ(entries_of(m_root), (std::set<std::string>{"old"}));
}

// The same ID twice in one call is caught at rename time and rolled back completely.
TEST_F(StateTest, RegisterAllSameIdTwiceRollsBack)
{
  const spmi::StateStore store(m_root);
  EXPECT_THROW(store.register_all({descriptor("dup"), descriptor("dup")}), spmi::StateError);
  EXPECT_FALSE(store.contains("dup"));
  EXPECT_TRUE(entries_of(m_root).empty());
}

// ids() is sorted and skips dot-directories, files and names that are no IDs.
TEST_F(StateTest, IdsSortedIgnoringDotDirs)
{
  const spmi::StateStore store(m_root);
  EXPECT_TRUE(store.ids().empty());  // no root yet
  store.register_all({descriptor("charlie"), descriptor("alpha"), descriptor("bravo")});
  fs::create_directory(m_root / ".load-delta-1");
  fs::create_directory(m_root / ".clean-echo-1");
  fs::create_directory(m_root / "not an id");
  write_text(m_root / "a_file", "x");
  EXPECT_EQ(store.ids(), (std::vector<std::string>{"alpha", "bravo", "charlie"}));
}

// contains() needs manageable.json, and never accepts an unsafe ID.
TEST_F(StateTest, ContainsNeedsMetadata)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  fs::create_directory(m_root / "half");
  EXPECT_TRUE(store.contains("x"));
  EXPECT_FALSE(store.contains("half"));
  EXPECT_FALSE(store.contains("absent"));
  EXPECT_FALSE(store.contains("../state/x"));
}

// remove() deletes the directory and leaves nothing behind.
TEST_F(StateTest, Remove)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x"), descriptor("y")});
  store.remove("x");
  EXPECT_FALSE(store.contains("x"));
  EXPECT_EQ(entries_of(m_root), (std::set<std::string>{"y"}));
  EXPECT_THROW(store.remove("x"), spmi::SystemError);
}

// write_file_atomic replaces the file (mode 0600), synced or not, and leaves no temporary file.
TEST_F(StateTest, WriteFileAtomic)
{
  const auto path = m_dir / "file.json";
  spmi::write_file_atomic(path, "first");
  spmi::write_file_atomic(path, "second\n");
  EXPECT_EQ(spmi::read_file(path), "second\n");
  spmi::write_file_atomic(path, "unsynced\n", false);  // the caller syncs later
  EXPECT_EQ(spmi::read_file(path), "unsynced\n");
  EXPECT_EQ(mode_of(path), 0600);
  EXPECT_EQ(entries_of(m_dir), (std::set<std::string>{"file.json"}));
}

// write_file_atomic into a missing directory throws SystemError naming the file.
TEST_F(StateTest, WriteFileAtomicMissingDirectory)
{
  EXPECT_THAT([&] { spmi::write_file_atomic(m_dir / "absent" / "f", "x"); },
              ThrowsMessage<spmi::SystemError>(HasSubstr((m_dir / "absent").string())));
}

// read_file returns nullopt for a missing file, the bytes otherwise.
TEST_F(StateTest, ReadFile)
{
  EXPECT_EQ(spmi::read_file(m_dir / "absent"), std::nullopt);
  write_text(m_dir / "f", std::string("a\0b", 3));
  EXPECT_EQ(spmi::read_file(m_dir / "f"), std::string("a\0b", 3));
}

// to_epoch and from_epoch keep milliseconds.
TEST(Epoch, RoundTripMilliseconds)
{
  const auto t = spmi::from_epoch(1700000000.123);
  EXPECT_DOUBLE_EQ(spmi::to_epoch(t), 1700000000.123);
  EXPECT_EQ(spmi::from_epoch(spmi::to_epoch(t)), t);
}

// A full RunRecord survives write_run/read_run.
TEST_F(StateTest, RunRecordRoundTrip)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  EXPECT_EQ(dir.read_run(), std::nullopt);

  spmi::RunRecord run;
  run.token = "123-456";
  run.wrapper_pid = 4242;
  run.pid = 4243;
  run.started_at = spmi::from_epoch(1700000000.125);
  run.finished_at = spmi::from_epoch(1700000010.5);
  run.exit_signal = 15;
  run.error = "something";
  run.end_reason = "exceeded max_memory (70M > 60M)";
  run.restarts = 3;
  run.next_attempt = spmi::from_epoch(1700000012.25);
  run.failed = true;
  run.facts["DeadlineWrapper"] = {{"timeouts", 2}, {"timed_out", true}};
  dir.write_run(run);

  const auto read = dir.read_run();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->token, run.token);
  EXPECT_EQ(read->wrapper_pid, run.wrapper_pid);
  EXPECT_EQ(read->pid, run.pid);
  EXPECT_EQ(read->started_at, run.started_at);
  EXPECT_EQ(read->finished_at, run.finished_at);
  EXPECT_EQ(read->exit_code, std::nullopt);
  EXPECT_EQ(read->exit_signal, 15);
  EXPECT_EQ(read->error, "something");
  EXPECT_EQ(read->end_reason, run.end_reason);
  EXPECT_EQ(read->restarts, 3);
  EXPECT_EQ(read->next_attempt, run.next_attempt);
  EXPECT_TRUE(read->failed);
  EXPECT_EQ(read->facts, run.facts);
}

// Plugin facts: absent in older records (an empty object then), and never anything but an object.
TEST_F(StateTest, RunRecordFactsOfOlderAndOddRecords)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  dir.write_file("run.json", R"({"token": "t", "pid": 7, "started_at": 1.0})");
  EXPECT_EQ(dir.read_run()->facts, nlohmann::json::object());
  dir.write_file("run.json", R"({"token": "t", "pid": 7, "started_at": 1.0, "facts": [1, 2]})");
  EXPECT_EQ(dir.read_run()->facts, nlohmann::json::object());
}

// A RunRecord of a task still running keeps its absent fields absent.
TEST_F(StateTest, RunRecordRunningRoundTrip)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  spmi::RunRecord run;
  run.token = "t";
  run.pid = 7;
  run.started_at = spmi::from_epoch(1.0);
  dir.write_run(run);
  const auto read = dir.read_run();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->finished_at, std::nullopt);
  EXPECT_EQ(read->exit_code, std::nullopt);
  EXPECT_EQ(read->exit_signal, std::nullopt);
  EXPECT_EQ(read->error, "");
  run.exit_code = 0;
  run.finished_at = spmi::from_epoch(2.0);
  dir.write_run(run);
  EXPECT_EQ(dir.read_run()->exit_code, 0);
}

// A LaunchRecord survives write_launch/read_launch.
TEST_F(StateTest, LaunchRecordRoundTrip)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  EXPECT_EQ(dir.read_launch(), std::nullopt);
  dir.write_launch(spmi::LaunchRecord{"tok", "slurm", "31337", spmi::from_epoch(1700000000.001), true,
                                      "/some/where", "down", "stop"});
  const auto read = dir.read_launch();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->token, "tok");
  EXPECT_EQ(read->backend_type, "slurm");
  EXPECT_EQ(read->backend_id, "31337");
  EXPECT_TRUE(read->queued);
  EXPECT_EQ(read->launched_at, spmi::from_epoch(1700000000.001));
  EXPECT_EQ(read->cwd, "/some/where");
  EXPECT_EQ(read->wanted, "down");
  EXPECT_EQ(read->ended_by, "stop");
  EXPECT_TRUE(read->backend_settings.is_null());
}

// The backend's settings at launch survive the round trip, as the table they were; a record of an older
// version has none (null: the backend is then made from its type alone), and one that is no table is a
// corrupt record, never settings.
TEST_F(StateTest, LaunchRecordKeepsBackendSettings)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  spmi::LaunchRecord launch{"tok", "tmux", "4242", spmi::from_epoch(1700000000.0), false, "/w", "up", ""};
  launch.backend_settings = {{"type", "tmux"}, {"socket", "other"}, {"options", {"--a", "--b"}}};
  dir.write_launch(launch);
  const auto read = dir.read_launch();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->backend_settings, launch.backend_settings);
  EXPECT_EQ(read->backend_settings.at("socket"), "other");

  write_text(dir.launch_path(), R"({"token": "old", "backend_type": "screen", "backend_id": "7"})");
  const auto old = dir.read_launch();
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->backend_type, "screen");
  EXPECT_TRUE(old->backend_settings.is_null());

  write_text(dir.launch_path(), R"({"token": "t", "backend_type": "tmux", "backend_settings": "socket=x"})");
  EXPECT_THAT([&] { dir.read_launch(); },
              ThrowsMessage<spmi::StateError>(testing::AllOf(HasSubstr(dir.launch_path().string()),
                                                             HasSubstr("backend_settings"))));
}

// A corrupt run.json is a StateError naming the file.
TEST_F(StateTest, CorruptRunRecord)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  write_text(dir.run_path(), "{not json");
  EXPECT_THAT([&] { dir.read_run(); },
              ThrowsMessage<spmi::StateError>(testing::AllOf(HasSubstr(dir.run_path().string()), HasSubstr("corrupt"))));
  write_text(dir.run_path(), R"({"token": "t", "pid": "not a number"})");
  EXPECT_THAT([&] { dir.read_run(); }, ThrowsMessage<spmi::StateError>(HasSubstr(dir.run_path().string())));
}

// read_meta of an unregistered or corrupt manageable is a StateError.
TEST_F(StateTest, ReadMetaErrors)
{
  const spmi::StateStore store(m_root);
  EXPECT_THAT([&] { store.dir("ghost").read_meta(); },
              ThrowsMessage<spmi::StateError>(HasSubstr("manageable 'ghost' is not loaded")));
  store.register_all({descriptor("x")});
  write_text(store.dir("x").meta_path(), "[");
  EXPECT_THAT([&] { store.dir("x").read_meta(); },
              ThrowsMessage<spmi::StateError>(HasSubstr(store.dir("x").meta_path().string())));
}

// The command lock is exclusive while a DirLock lives and free once it is gone.
TEST_F(StateTest, DirLockIsExclusive)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  const int other = ::open((dir.path() / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(other, 0);
  {
    const auto lock = dir.lock();
    EXPECT_GE(lock.fd(), 0);
    EXPECT_NE(::flock(other, LOCK_EX | LOCK_NB), 0);
  }
  EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0);
  ::close(other);
}

// try_lock takes a free lock, returns an empty one at once while another open file holds it (a
// command in another process), and locks again once that one is released.
TEST_F(StateTest, TryLockDoesNotWait)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  {
    const auto lock = dir.try_lock();
    EXPECT_GE(lock.fd(), 0);
  }
  const int other = ::open((dir.path() / "lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(other, 0);
  ASSERT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(dir.try_lock().fd(), -1);
  ::close(other);
  const auto lock = dir.try_lock();
  EXPECT_GE(lock.fd(), 0);
  store.remove("x");
  EXPECT_THROW(dir.try_lock(), spmi::StateError);
}

// Locking a manageable that was cleaned is a StateError, not a new lock file.
TEST_F(StateTest, LockOfRemovedManageable)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  store.remove("x");
  EXPECT_THROW(dir.lock(), spmi::StateError);
  EXPECT_FALSE(fs::exists(dir.path()));
}

// is_active is false without a wrapper, true while another process holds the alive lock, false after it dies.
TEST_F(StateTest, IsActiveFollowsAliveLock)
{
  const spmi::StateStore store(m_root);
  store.register_all({descriptor("x")});
  const auto dir = store.dir("x");
  EXPECT_FALSE(dir.is_active());

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    const char ok = dir.hold_alive_lock() ? '1' : '0';
    [[maybe_unused]] auto n = ::write(ready[1], &ok, 1);
    while (true) {
      ::pause();
    }
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(ok, '1');
  EXPECT_TRUE(dir.is_active());
  EXPECT_FALSE(dir.hold_alive_lock());  // a second wrapper is refused
  EXPECT_TRUE(dir.is_active());

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(dir.is_active());
}

// tail returns the last lines of a file that ends with a newline.
TEST_F(StateTest, TailLastLines)
{
  write_text(manageable_dir() / "out", "one\ntwo\n\nfour\nfive\n");
  EXPECT_EQ(tail_of("out", 2), (std::vector<std::string>{"four", "five"}));
  EXPECT_EQ(tail_of("out", 3), (std::vector<std::string>{"", "four", "five"}));
  EXPECT_EQ(tail_of("out", 100),
            (std::vector<std::string>{"one", "two", "", "four", "five"}));
  EXPECT_TRUE(tail_of("out", 0).empty());
}

// tail keeps a last line that has no trailing newline.
TEST_F(StateTest, TailWithoutTrailingNewline)
{
  write_text(manageable_dir() / "out", "one\ntwo\nthree");
  EXPECT_EQ(tail_of("out", 2), (std::vector<std::string>{"two", "three"}));
  write_text(manageable_dir() / "single", "only");
  EXPECT_EQ(tail_of("single", 5), (std::vector<std::string>{"only"}));
}

// tail of a missing or empty file is empty.
TEST_F(StateTest, TailMissingOrEmptyFile)
{
  manageable_dir();
  EXPECT_TRUE(tail_of("absent", 10).empty());
  write_text(manageable_dir() / "empty", "");
  EXPECT_TRUE(tail_of("empty", 10).empty());
}

// tail of a file over its 64 KiB window returns only whole lines, ending with the last one.
TEST_F(StateTest, TailLargeFileWholeLines)
{
  std::string text;
  for (int i = 0; i < 10000; ++i) {
    text += "line " + std::to_string(10000 + i) + "\n";  // 11 bytes each
  }
  write_text(manageable_dir() / "big", text);
  const auto last = tail_of("big", 2);
  EXPECT_EQ(last, (std::vector<std::string>{"line 19998", "line 19999"}));
  const auto all = tail_of("big", 100000);
  ASSERT_FALSE(all.empty());
  EXPECT_LT(all.size(), 10000u);
  for (const auto& line : all) {
    ASSERT_EQ(line.size(), 10u) << line;
    ASSERT_EQ(line.rfind("line ", 0), 0u) << line;
  }
  EXPECT_EQ(all.back(), "line 19999");
}

// default_root is $SPMI_PATH, else ~/.spmi.
TEST(StateStore, DefaultRoot)
{
  const char* saved_path = std::getenv("SPMI_PATH");
  const std::string saved = saved_path ? saved_path : "";
  ::setenv("SPMI_PATH", "/somewhere/state", 1);
  EXPECT_EQ(spmi::StateStore::default_root(), fs::path("/somewhere/state"));
  ::unsetenv("SPMI_PATH");
  if (const char* home = std::getenv("HOME"); home && *home) {
    EXPECT_EQ(spmi::StateStore::default_root(), fs::path(home) / ".spmi");
  }
  if (saved_path) {
    ::setenv("SPMI_PATH", saved.c_str(), 1);
  }
}

} // namespace
