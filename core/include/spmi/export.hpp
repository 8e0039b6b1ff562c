// SPDX-License-Identifier: MIT
/// \file
/// Visibility and plugin ABI macros shared by the core, the CLI and every plugin.
#pragma once

// Pulls in the standard library configuration (_GLIBCXX_USE_CXX11_ABI, _LIBCPP_VERSION).
#include <version>

/// Marks a type or function that crosses the core/plugin boundary. Everything else is hidden.
#define SPMI_API __attribute__((visibility("default")))

/// Bump when an interface in include/spmi changes in a way that breaks built plugins.
#define SPMI_PLUGIN_ABI_VERSION 7

/// @cond INTERNAL
#if defined(_LIBCPP_VERSION)
#define SPMI_STDLIB_TAG libcxx
#elif defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define SPMI_STDLIB_TAG libstdcxx_cxx11
#else
#define SPMI_STDLIB_TAG libstdcxx_old
#endif

#define SPMI_CONCAT_IMPL(a, b, c, d) a##b##c##d
#define SPMI_CONCAT(a, b, c, d) SPMI_CONCAT_IMPL(a, b, c, d)
/// @endcond

/// The ABI stamp is a symbol *name*, so the registry can read it from the ELF file without running any
/// code of the plugin: spmi_abi_\<version\>_\<stdlib\>.
#define SPMI_ABI_STAMP_SYMBOL SPMI_CONCAT(spmi_abi_, SPMI_PLUGIN_ABI_VERSION, _, SPMI_STDLIB_TAG)
/// @cond INTERNAL
#define SPMI_STRINGIFY_IMPL(x) #x
#define SPMI_STRINGIFY(x) SPMI_STRINGIFY_IMPL(x)
/// @endcond
/// SPMI_ABI_STAMP_SYMBOL as a string literal, the stamp the registry expects of every plugin file.
#define SPMI_ABI_STAMP SPMI_STRINGIFY(SPMI_ABI_STAMP_SYMBOL)

/// The ELF section (at most 8 bytes) that holds every exported plugin alias.
#define SPMI_PLUGIN_SECTION spmi
