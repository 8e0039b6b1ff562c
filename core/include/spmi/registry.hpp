// SPDX-License-Identifier: MIT
/// \file
/// Finds plugins by exported class name and loads them. The only place in spmi that loads a library.
#pragma once

#include <spmi/export.hpp>
#include <spmi/names.hpp>
#include <spmi/plugin.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

/// A class some plugin file exports.
struct SPMI_API PluginInfo
{
  std::string class_name;        ///< "ScreenBackend"
  PluginKind kind;               ///< backend
  std::string type;              ///< "screen"
  std::filesystem::path file;    ///< where it lives
  /// Files in later directories that export the same class; this one shadows them.
  std::vector<std::filesystem::path> shadowed;
  /// Another file in the same directory exports the class too: neither is used until one is removed.
  std::optional<std::filesystem::path> conflict;
};

/// A file in a plugin directory that was not accepted, and why.
struct SPMI_API RejectedPlugin
{
  /// the file refused
  std::filesystem::path file;
  /// why, e.g. "exports no spmi plugin (no 'spmi' section)" or an ABI stamp that does not match
  std::string reason;
};

/// Owns every loaded library for its whole life: create it before, and destroy it after, every object
/// it made. Never unloads a library earlier.
class SPMI_API PluginRegistry
{
public:
  /// Plugin directories, earlier first: each entry of $SPMI_PLUGIN_PATH, then the user's own
  /// (~/.local/lib/spmi/plugins, when $HOME is set), then the directory that belongs to this executable
  /// (\<bindir\>/../lib/spmi/plugins, in the build tree and when installed).
  static std::vector<std::filesystem::path> default_dirs();
  /// The user's own plugin directory, ~/.local/lib/spmi/plugins; nullopt without $HOME.
  static std::optional<std::filesystem::path> user_dir();

  /// Searches `dirs`, earlier first (see default_dirs()). Reads nothing until first used.
  explicit PluginRegistry(std::vector<std::filesystem::path> dirs);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  /// The plugin directories it searches, earlier first.
  const std::vector<std::filesystem::path>& dirs() const { return m_dirs; }
  /// Every class found (reading ELF files, running no plugin code). Scans on first use.
  const std::vector<PluginInfo>& plugins();
  /// Every file of the plugin directories that was refused, and why. Scans on first use.
  const std::vector<RejectedPlugin>& rejected();
  /// The plugin exporting the class for `type` of `kind`; nullopt when none does. A class two files of
  /// one directory export is found with `conflict` set (create_* refuses it, naming both files).
  std::optional<PluginInfo> find(PluginKind kind, const std::string& type);

  /// Creates the plugin object for `type`. `context.section` is the plugin's table and names the place
  /// in messages. Loads the plugin's library on first use and keeps it loaded.
  /// @return the object the plugin's factory made, never null.
  /// @throws DescriptorError for an unknown or malformed type (naming the class it looked for, what is
  /// installed and the closest name).
  /// @throws PluginError when two files of one directory export the class, the file fails to load, or
  /// the factory returns no object.
  /// @throws Error whatever spmi error the factory throws; any other exception becomes PluginError.
  ///
  /// The object returned is a proxy that forwards every call, its destruction included, to the
  /// plugin's object, guarded: an spmi::Error passes through unchanged, any other exception (`throw 42`)
  /// becomes a PluginError naming the plugin file, its class and the call, and a crash (SIGSEGV,
  /// SIGBUS, SIGILL, SIGFPE, SIGABRT) prints one line naming the same on stderr before the process
  /// dies of that signal (see docs/plugins.md).
  std::unique_ptr<Manageable> create_manageable(const std::string& type, const PluginContext& context);
  /// As create_manageable(), for a backend; messages name the `type` key of `context.section`.
  std::unique_ptr<Backend> create_backend(const std::string& type, const PluginContext& context);
  /// As create_manageable(), for a wrapper; messages name the `type` key of `context.section`.
  std::unique_ptr<Wrapper> create_wrapper(const std::string& type, const PluginContext& context);

private:
  struct Impl;
  void scan();
  void* resolve(PluginKind kind, const std::string& type, const PluginContext& context, PluginInfo& info);

  std::vector<std::filesystem::path> m_dirs;
  std::unique_ptr<Impl> m_impl;
};

} // namespace spmi
