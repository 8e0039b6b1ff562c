// SPDX-License-Identifier: MIT
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/registry.hpp>
#include <spmi/suggest.hpp>

#include <fmt/format.h>

#include "elf_symbols.hpp"
#include "plugin_guard.hpp"
#include "trust.hpp"

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

namespace spmi {

namespace fs = std::filesystem;

struct PluginRegistry::Impl
{
  bool scanned = false;
  std::vector<PluginInfo> plugins;
  std::vector<RejectedPlugin> rejected;
  std::map<fs::path, boost::dll::shared_library> libraries;  // loaded, never unloaded early
};

namespace {

std::vector<fs::path>
plugin_files(const fs::path& dir)
{
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".so" && it->is_regular_file(ec)) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "spmi_abi_1_libstdcxx_cxx11" -> "plugin ABI 1 with libstdcxx_cxx11".
std::string
describe_stamp(const std::string& stamp)
{
  const std::string_view rest = std::string_view(stamp).substr(std::string_view("spmi_abi_").size());
  const auto underscore = rest.find('_');
  if (underscore == std::string_view::npos) {
    return stamp;
  }
  return fmt::format("plugin ABI {} with C++ library ABI {}", rest.substr(0, underscore), rest.substr(underscore + 1));
}

// The ID a manageable's table names, for messages about its plugin's code; for a backend or wrapper, the
// manageable whose factory makes it ("" when none does).
std::string
manageable_id(PluginKind kind, const PluginContext& context)
{
  const auto& node = context.section.node();
  if (kind != PluginKind::manageable || !node.is_object()) {
    return detail::enclosing_manageable();  // a manageable's factory making its backend or wrapper
  }
  const auto id = node.find("id");
  return id != node.end() && id->is_string() ? id->get<std::string>() : "";
}

// Calls the factory that `alias` (a `const void*` variable holding its address) names, guarded.
template<typename Factory>
auto
make(void* alias, const detail::PluginOrigin& origin, const PluginContext& context)
{
  auto* factory = reinterpret_cast<Factory*>(const_cast<void*>(*static_cast<const void**>(alias)));
  auto object = detail::guarded_call(origin, "its factory", [&] { return factory(context); });
  if (!object) {
    throw PluginError(fmt::format("plugin {} (class {}): its factory returned no object; this is a bug in the plugin: "
                                  "update it, or report it to its author",
                                  origin.file, origin.class_name));
  }
  return object;
}

} // namespace

std::vector<fs::path>
PluginRegistry::default_dirs()
{
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("SPMI_PLUGIN_PATH"); env && *env) {
    std::string_view rest = env;
    while (true) {
      const auto colon = rest.find(':');
      if (auto entry = rest.substr(0, colon); !entry.empty()) {
        dirs.emplace_back(entry);
      }
      if (colon == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(colon + 1);
    }
  }
  if (auto user = user_dir()) {
    dirs.push_back(std::move(*user));
  }
  try {
    dirs.push_back((process::self_exe().parent_path() / SPMI_PLUGIN_DIR_FROM_BIN).lexically_normal());
  } catch (const Error&) {
    // Without /proc only $SPMI_PLUGIN_PATH is searched.
  }
  return dirs;
}

std::optional<fs::path>
PluginRegistry::user_dir()
{
  const char* home = std::getenv("HOME");
  if (!home || *home != '/') {
    return std::nullopt;
  }
  return fs::path(home) / ".local/lib/spmi/plugins";
}

PluginRegistry::PluginRegistry(std::vector<fs::path> dirs) : m_dirs(std::move(dirs)), m_impl(std::make_unique<Impl>()) {}

PluginRegistry::~PluginRegistry() = default;

const std::vector<PluginInfo>&
PluginRegistry::plugins()
{
  scan();
  return m_impl->plugins;
}

const std::vector<RejectedPlugin>&
PluginRegistry::rejected()
{
  scan();
  return m_impl->rejected;
}

void
PluginRegistry::scan()
{
  if (m_impl->scanned) {
    return;
  }
  m_impl->scanned = true;
  const std::string stamp = SPMI_ABI_STAMP;
  for (const auto& dir : m_dirs) {
    const auto files = plugin_files(dir);
    if (files.empty()) {
      continue;
    }
    if (auto reason = distrust_code(dir, "plugin directory")) {
      for (const auto& file : files) {
        m_impl->rejected.push_back({file, *reason});
      }
      continue;
    }
    for (const auto& file : files) {
      if (auto reason = distrust_code(file, "plugin file")) {
        m_impl->rejected.push_back({file, *reason});
        continue;
      }
      std::vector<std::string> symbols;
      try {
        symbols = detail::section_symbols(file, "spmi");
      } catch (const std::exception& e) {
        m_impl->rejected.push_back({file, fmt::format("not a loadable shared object ({})", e.what())});
        continue;
      }
      if (symbols.empty()) {
        m_impl->rejected.push_back({file, "exports no spmi plugin (no 'spmi' section)"});
        continue;
      }
      const auto stamp_it = std::find_if(symbols.begin(), symbols.end(),
                                         [](const std::string& s) { return s.rfind("spmi_abi_", 0) == 0; });
      if (stamp_it == symbols.end()) {
        m_impl->rejected.push_back({file, "has no spmi ABI stamp; build it with the SPMI_EXPORT_* macros"});
        continue;
      }
      if (*stamp_it != stamp) {
        m_impl->rejected.push_back({file, fmt::format("was built for {}, but this spmi needs {}; rebuild the plugin "
                                                      "against this spmi's SDK",
                                                      describe_stamp(*stamp_it), describe_stamp(stamp))});
        continue;
      }
      for (const auto& symbol : symbols) {
        if (symbol.rfind("spmi_abi_", 0) == 0) {
          continue;
        }
        auto parsed = parse_class_name(symbol);
        if (!parsed) {
          m_impl->rejected.push_back(
            {file, fmt::format("exports '{}', which is not a ...Manageable, ...Backend or ...Wrapper class name", symbol)});
          continue;
        }
        auto earlier = std::find_if(m_impl->plugins.begin(), m_impl->plugins.end(),
                                    [&](const PluginInfo& p) { return p.class_name == symbol; });
        if (earlier == m_impl->plugins.end()) {
          m_impl->plugins.push_back({symbol, parsed->kind, parsed->type, file, {}, std::nullopt});
        } else if (earlier->file.parent_path() == file.parent_path()) {
          // Which one the user meant is not ours to guess (file names sort arbitrarily).
          if (!earlier->conflict) {
            earlier->conflict = file;
          }
        } else {
          earlier->shadowed.push_back(file);
        }
      }
    }
  }
}

std::optional<PluginInfo>
PluginRegistry::find(PluginKind kind, const std::string& type)
{
  scan();
  const auto name = class_name_for(type, kind);
  for (const auto& plugin : m_impl->plugins) {
    if (plugin.class_name == name) {
      return plugin;
    }
  }
  return std::nullopt;
}

void*
PluginRegistry::resolve(PluginKind kind, const std::string& type, const PluginContext& context, PluginInfo& info)
{
  const std::string where = kind == PluginKind::manageable ? context.section.where() : context.section.where("type");
  if (!is_valid_type_name(type)) {
    throw DescriptorError(fmt::format("{}: '{}' is not a {} type name; use lower-case letters, digits and '_'",
                                      where, type, kind_name(kind)));
  }
  auto found = find(kind, type);
  if (!found) {
    std::vector<std::string> installed;
    for (const auto& plugin : m_impl->plugins) {
      if (plugin.kind == kind) {
        installed.push_back(plugin.type);
      }
    }
    std::string dirs;
    for (const auto& dir : m_dirs) {
      dirs += (dirs.empty() ? "" : ":") + dir.string();
    }
    std::string hint;
    if (auto suggestion = closest_match(type, installed)) {
      hint = fmt::format("; did you mean '{}'?", *suggestion);
    }
    if (const auto refused = m_impl->rejected.size(); refused > 0) {
      hint += fmt::format(" ({} plugin file{} refused: see `spmi plugins`)", refused, refused == 1 ? " was" : "s were");
    }
    throw DescriptorError(fmt::format("{}: unknown {} type '{}': no plugin exports class {} (searched {}){}; installed {}s: {}",
                                      where, kind_name(kind), type, class_name_for(type, kind), dirs, hint,
                                      kind_name(kind), installed.empty() ? "none" : fmt::format("{}", fmt::join(installed, ", "))));
  }
  if (found->conflict) {
    throw PluginError(fmt::format("{}: {} {} is exported by two files in {}: {} and {}; remove or rename one of "
                                  "them (see `spmi plugins`)",
                                  where, kind_name(kind), found->class_name, found->file.parent_path().string(),
                                  found->file.filename().string(), found->conflict->filename().string()));
  }
  auto library = m_impl->libraries.find(found->file);
  if (library == m_impl->libraries.end()) {
    try {
      library = m_impl->libraries
                  .emplace(found->file, boost::dll::shared_library(found->file, boost::dll::load_mode::rtld_now))
                  .first;
      // Kept mapped until the process exits (Boost.DLL 1.74 has no flag for it): unmapping a plugin at
      // exit cost each `spmi status` ~0.1 ms per plugin on the benchmark's host, for nothing.
      // Only a saving: where it fails, the plugin is unmapped at exit as before, and the error is cleared
      // so that no later dlerror() reports it.
      if (::dlopen(found->file.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
        ::dlerror();
      }
    } catch (const std::exception& e) {
      throw PluginError(fmt::format("cannot load plugin {} for {} '{}': {}", found->file.string(), kind_name(kind), type,
                                    e.what()));
    }
  }
  info = *found;
  try {
    return &library->second.get<void*>(found->class_name);
  } catch (const std::exception& e) {
    throw PluginError(fmt::format("plugin {} lists {} but does not export it: {}", found->file.string(),
                                  found->class_name, e.what()));
  }
}

// Every object is handed out behind its proxy, so every later call into it is guarded too.
std::unique_ptr<Manageable>
PluginRegistry::create_manageable(const std::string& type, const PluginContext& context)
{
  PluginInfo info;
  void* alias = resolve(PluginKind::manageable, type, context, info);
  detail::PluginOrigin origin{info.file.string(), info.class_name, manageable_id(info.kind, context)};
  auto object = make<ManageableFactory>(alias, origin, context);
  return detail::guard_manageable(std::move(object), std::move(origin));
}

std::unique_ptr<Backend>
PluginRegistry::create_backend(const std::string& type, const PluginContext& context)
{
  PluginInfo info;
  void* alias = resolve(PluginKind::backend, type, context, info);
  detail::PluginOrigin origin{info.file.string(), info.class_name, manageable_id(info.kind, context)};
  auto object = make<BackendFactory>(alias, origin, context);
  return detail::guard_backend(std::move(object), std::move(origin));
}

std::unique_ptr<Wrapper>
PluginRegistry::create_wrapper(const std::string& type, const PluginContext& context)
{
  PluginInfo info;
  void* alias = resolve(PluginKind::wrapper, type, context, info);
  detail::PluginOrigin origin{info.file.string(), info.class_name, manageable_id(info.kind, context)};
  auto object = make<WrapperFactory>(alias, origin, context);
  return detail::guard_wrapper(std::move(object), std::move(origin));
}

} // namespace spmi
