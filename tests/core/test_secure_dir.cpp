// SPDX-License-Identifier: MIT
// StrictModes for the state (core/src/secure_dir*.cpp): the rules as pure functions of a stat (modes,
// owners, symlinks, FIFO type), then the store refusing what they refuse, leaving link targets alone.
#include <spmi/errors.hpp>
#include <spmi/text.hpp>
#include <spmi/unique_fd.hpp>
#include <spmi/state.hpp>

#include "../../core/src/secure_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using spmi::FileKind;
using testing::AllOf;
using testing::HasSubstr;
using testing::ThrowsMessage;

constexpr uid_t k_other = 4242;  // a uid that is neither root nor the test's user

struct stat
stat_of(mode_t mode, uid_t uid)
{
  struct stat st {};
  st.st_mode = mode;
  st.st_uid = uid;
  return st;
}

// The directory rules: a real directory of the user that only the user may write.
TEST(StrictModes, DirProblems)
{
  const uid_t me = ::geteuid();
  using spmi::strict::dir_problem;
  EXPECT_EQ(dir_problem("/tmp/x", stat_of(S_IFDIR | 0700, me), me, true), "");
  EXPECT_EQ(dir_problem("/tmp/x", stat_of(S_IFDIR | 0755, me), me, true), "");
  EXPECT_EQ(dir_problem("/tmp/x", stat_of(S_IFDIR | 0777, me), me, true),
            "/tmp/x is writable by group and others (mode 0777): only its owner may write it; fix: chmod go-w /tmp/x");
  EXPECT_THAT(dir_problem("/tmp/x", stat_of(S_IFDIR | 0720, me), me, false), HasSubstr("fix: chmod g-w /tmp/x"));
  EXPECT_THAT(dir_problem("/tmp/x", stat_of(S_IFDIR | 0702, me), me, false), HasSubstr("fix: chmod o-w /tmp/x"));
  const auto foreign = dir_problem("/tmp/x", stat_of(S_IFDIR | 0700, k_other), me, true);
  EXPECT_THAT(foreign, AllOf(HasSubstr("is owned by"), HasSubstr("(uid 4242), not by you"), HasSubstr("fix: chown "),
                             HasSubstr("or use a state directory of your own (SPMI_PATH)")));
  // Both at once: both fixes.
  EXPECT_THAT(dir_problem("/tmp/x", stat_of(S_IFDIR | 0777, k_other), me, true),
              AllOf(HasSubstr("chown "), HasSubstr(" && chmod go-w /tmp/x")));
  EXPECT_THAT(dir_problem("/s/web", stat_of(S_IFLNK | 0777, me), me, false),
              AllOf(HasSubstr("/s/web is a symbolic link"), HasSubstr("fix: rm /s/web")));
  EXPECT_THAT(dir_problem("/s", stat_of(S_IFLNK | 0777, me), me, true), HasSubstr("set SPMI_PATH"));
  EXPECT_THAT(dir_problem("/s/web", stat_of(S_IFREG | 0600, me), me, false), HasSubstr("is a regular file, not a directory"));
}

// Ancestors: root's or the user's, and writable by others only with the sticky bit (/tmp).
TEST(StrictModes, AncestorProblems)
{
  const uid_t me = ::geteuid();
  using spmi::strict::ancestor_problem;
  EXPECT_EQ(ancestor_problem("/tmp", "/tmp/s", stat_of(S_IFDIR | 01777, 0), me), "");
  EXPECT_EQ(ancestor_problem("/home", "/home/u/s", stat_of(S_IFDIR | 0755, 0), me), "");
  EXPECT_EQ(ancestor_problem("/home/u", "/home/u/s", stat_of(S_IFDIR | 0750, me), me), "");
  EXPECT_THAT(ancestor_problem("/tmp/x", "/tmp/x/s", stat_of(S_IFDIR | 0777, 0), me),
              AllOf(HasSubstr("/tmp/x, a parent directory of the state directory /tmp/x/s"),
                    HasSubstr("writable by group and others without the sticky bit (mode 0777)"),
                    HasSubstr("fix: chmod go-w /tmp/x")));
  EXPECT_THAT(ancestor_problem("/home/rt", "/home/rt/s", stat_of(S_IFDIR | 0755, k_other), me),
              AllOf(HasSubstr("is owned by"), HasSubstr("(uid 4242)"), HasSubstr("fix: chown ")));
}

// Files: a regular file (or FIFO, for stdin) of the user, writable by no one else; never a link.
TEST(StrictModes, FileProblems)
{
  const uid_t me = ::geteuid();
  using spmi::strict::file_problem;
  EXPECT_EQ(file_problem("/s/web/stdout", stat_of(S_IFREG | 0600, me), me, FileKind::regular), "");
  EXPECT_EQ(file_problem("/s/web/stdin", stat_of(S_IFIFO | 0600, me), me, FileKind::fifo), "");
  EXPECT_THAT(file_problem("/s/web/stdout", stat_of(S_IFLNK | 0777, me), me, FileKind::regular),
              AllOf(HasSubstr("/s/web/stdout is a symbolic link"), HasSubstr("fix: rm /s/web/stdout")));
  EXPECT_THAT(file_problem("/s/web/stdout", stat_of(S_IFIFO | 0600, me), me, FileKind::regular),
              HasSubstr("is a FIFO, not a regular file"));
  EXPECT_THAT(file_problem("/s/web/stdin", stat_of(S_IFREG | 0600, me), me, FileKind::fifo),
              HasSubstr("is a regular file, not a FIFO"));
  EXPECT_THAT(file_problem("/s/web/run.json", stat_of(S_IFREG | 0644, k_other), me, FileKind::regular),
              AllOf(HasSubstr("(uid 4242), not by you"), HasSubstr("fix: chown ")));
  EXPECT_THAT(file_problem("/s/web/run.json", stat_of(S_IFREG | 0666, me), me, FileKind::regular),
              HasSubstr("chmod go-w"));
}

TEST(StrictModes, ShellWordQuotesWhatNeedsIt)
{
  EXPECT_EQ(spmi::shell_word("/tmp/x"), "/tmp/x");
  EXPECT_EQ(spmi::shell_word("/tmp/a b'c"), "'/tmp/a b'\\''c'");
}

class SecureStoreTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-strict-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
    m_root = m_dir / "state";
    fs::create_directories(m_root / "web");
    fs::permissions(m_root, fs::perms::owner_all);
    fs::permissions(m_root / "web", fs::perms::owner_all);
    write(m_root / "web" / "manageable.json", "{\"type\":\"task\",\"id\":\"web\"}\n");
    write(m_dir / "secret", "secret\n");
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  static void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
  static std::string read(const fs::path& path)
  {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path m_dir;
  fs::path m_root;
};

TEST_F(SecureStoreTest, AcceptsAPrivateStore)
{
  const spmi::StateStore store(m_root);
  EXPECT_EQ(store.ids(), std::vector<std::string>{"web"});
  EXPECT_EQ(store.ids(), std::vector<std::string>{"web"});  // the shared descriptor is read from its start again
  const auto dir = store.dir("web");
  EXPECT_EQ(dir.read_meta()["id"], "web");
  EXPECT_NO_THROW(dir.check_entries());
  write(m_root / "web" / "run.json", "{\"token\":\"t\"}\n");
  fs::create_symlink("/nonexistent", m_root / "web" / "stdout");
  EXPECT_THROW(dir.check_entries(), spmi::StateError);  // a second scan sees all entries too
}

TEST_F(SecureStoreTest, RefusesAWritableRootWithTheChmodFix)
{
  fs::permissions(m_root, fs::perms(0777));
  const spmi::StateStore store(m_root);
  EXPECT_THAT([&] { store.ids(); },
              ThrowsMessage<spmi::StateError>(HasSubstr("(mode 0777): only its owner may write it; fix: chmod go-w " +
                                                        m_root.string())));
  EXPECT_THROW(store.contains("web"), spmi::StateError);
}

TEST_F(SecureStoreTest, RefusesARootThatIsASymlink)
{
  fs::create_directory_symlink(m_root, m_dir / "link");
  const spmi::StateStore store(m_dir / "link");
  EXPECT_THAT([&] { store.ids(); }, ThrowsMessage<spmi::StateError>(HasSubstr("is a symbolic link")));
}

// A parent another user could write without the sticky bit could swap the state directory.
TEST_F(SecureStoreTest, RefusesAWritableParentWithoutTheStickyBit)
{
  fs::permissions(m_dir, fs::perms(0777));
  const spmi::StateStore store(m_root);
  EXPECT_THAT([&] { store.ids(); },
              ThrowsMessage<spmi::StateError>(AllOf(HasSubstr(m_dir.string() + ", a parent directory of the state"),
                                                    HasSubstr("chmod go-w"))));
  fs::permissions(m_dir, fs::perms(01777));  // sticky, as /tmp: fine
  EXPECT_EQ(spmi::StateStore(m_root).ids(), std::vector<std::string>{"web"});
}

TEST_F(SecureStoreTest, RefusesAManageableDirectoryThatIsASymlinkOrWritable)
{
  fs::create_directories(m_dir / "elsewhere");
  write(m_dir / "elsewhere" / "manageable.json", "{}\n");
  fs::create_directory_symlink(m_dir / "elsewhere", m_root / "evil");
  const spmi::StateStore store(m_root);
  EXPECT_EQ(store.ids(), (std::vector<std::string>{"evil", "web"}));  // listed, so it is reported
  EXPECT_TRUE(store.contains("evil"));
  EXPECT_THAT([&] { store.dir("evil").read_meta(); },
              ThrowsMessage<spmi::StateError>(HasSubstr((m_root / "evil").string() + " is a symbolic link")));
  EXPECT_THROW(store.dir("evil").lock(), spmi::StateError);
  EXPECT_FALSE(fs::exists(m_dir / "elsewhere" / "lock"));
  fs::permissions(m_root / "web", fs::perms(0770));
  EXPECT_THAT([&] { store.dir("web").read_meta(); }, ThrowsMessage<spmi::StateError>(HasSubstr("chmod g-w")));
}

// Planted links: refused by name, their targets neither read, written nor created.
TEST_F(SecureStoreTest, RefusesPlantedSymlinksAndLeavesTheirTargets)
{
  const auto web = m_root / "web";
  fs::create_symlink(m_dir / "secret", web / "stdout");
  fs::create_symlink(m_dir / "made-by-lock", web / "lock");
  fs::create_symlink(m_dir / "made-by-alive", web / "alive");
  const auto dir = spmi::StateStore(m_root).dir("web");
  EXPECT_THAT([&] { dir.tail("stdout", 5); },
              ThrowsMessage<spmi::StateError>(HasSubstr((web / "stdout").string() + " is a symbolic link")));
  EXPECT_THROW(dir.append("stdout", "owned\n"), spmi::StateError);
  EXPECT_THAT([&] { dir.lock(); }, ThrowsMessage<spmi::StateError>(HasSubstr((web / "lock").string())));
  EXPECT_THROW(dir.is_active(), spmi::StateError);
  EXPECT_THROW(dir.hold_alive_lock(), spmi::StateError);
  EXPECT_THROW(dir.check_entries(), spmi::StateError);
  EXPECT_EQ(read(m_dir / "secret"), "secret\n");
  EXPECT_FALSE(fs::exists(m_dir / "made-by-lock"));
  EXPECT_FALSE(fs::exists(m_dir / "made-by-alive"));
  // Cleaning removes the links, never what they point to.
  spmi::StateStore(m_root).remove("web");
  EXPECT_FALSE(fs::exists(web));
  EXPECT_EQ(read(m_dir / "secret"), "secret\n");
}

// stdin must be a FIFO, and a FIFO where a regular file belongs is refused without blocking.
TEST_F(SecureStoreTest, ChecksTheFifoType)
{
  const auto dir = spmi::StateStore(m_root).dir("web");
  write(m_root / "web" / "stdin", "");
  EXPECT_THAT([&] { dir.make_stdin(); }, ThrowsMessage<spmi::StateError>(HasSubstr("is a regular file, not a FIFO")));
  fs::remove(m_root / "web" / "stdin");
  dir.make_stdin();
  const int fd = dir.open_file("stdin", O_RDWR, 0, FileKind::fifo);
  EXPECT_GE(fd, 0);
  ::close(fd);
  EXPECT_THAT([&] { dir.open_file("stdin", O_RDONLY); },
              ThrowsMessage<spmi::StateError>(HasSubstr("is a FIFO, not a regular file")));
}

TEST_F(SecureStoreTest, RefusesFilesAndDirectoriesOfAnotherUser)
{
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a file away";
  }
  const auto dir = spmi::StateStore(m_root).dir("web");
  write(m_root / "web" / "run.json", "{}\n");
  ASSERT_EQ(::chown((m_root / "web" / "run.json").c_str(), k_other, k_other), 0);
  EXPECT_THAT([&] { dir.read_run(); },
              ThrowsMessage<spmi::StateError>(AllOf(HasSubstr("run.json is owned by"), HasSubstr("fix: chown root"))));
  EXPECT_THROW(dir.check_entries(), spmi::StateError);
  ASSERT_EQ(::chown((m_root / "web").c_str(), k_other, k_other), 0);
  EXPECT_THAT([&] { spmi::StateStore(m_root).dir("web").read_meta(); },
              ThrowsMessage<spmi::StateError>(HasSubstr("(uid 4242), not by you (root); fix: chown root")));
}

// `clean` against a command that opened the directory before it was renamed away and creates its lock
// there while the tree is emptied (as a racing `start` does): the directory still goes, and clean
// does not report a failure.
TEST_F(SecureStoreTest, RemovesATreeThatGrowsWhileItIsEmptied)
{
  const auto web = m_root / "web";
  for (int i = 0; i < 3000; ++i) {
    write(web / ("f" + std::to_string(i)), "");
  }
  const spmi::UniqueFd held(::open(web.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const spmi::UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  ASSERT_GE(held.get(), 0);
  ASSERT_GE(::inotify_add_watch(watch.get(), web.c_str(), IN_DELETE), 0);
  std::atomic<bool> done{false};
  int made = 0;
  std::thread late([&] {
    alignas(inotify_event) char buffer[4096];
    pollfd ready{watch.get(), POLLIN, 0};
    // On each of the first deletions, a new file, as a late `lock` is.
    while (!done && made < 20) {
      if (::poll(&ready, 1, 10) == 1 && ::read(watch.get(), buffer, sizeof buffer) > 0) {
        const int fd = ::openat(held.get(), ("lock" + std::to_string(made++)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
          ::close(fd);
        }
      }
    }
  });
  EXPECT_NO_THROW(spmi::StateStore(m_root).remove("web"));
  done = true;
  late.join();
  EXPECT_FALSE(fs::exists(web));
  EXPECT_GT(made, 0);
}

} // namespace
