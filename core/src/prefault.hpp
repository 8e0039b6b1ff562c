// SPDX-License-Identifier: MIT
// prefault(): the pages of a large buffer that is about to be written whole, made present in one call
// (MADV_POPULATE_WRITE, Linux 5.14) instead of one page fault each. A page fault costs ~0.5 us on bare
// metal but 10-20 us in some virtual machines (measured on the benchmark's host: `spmi list` of 10,000
// manageables spent a third of its time in the faults of its 11 MB of views). Best effort: on an older
// kernel the pages fault in as before. Internal to the core.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace spmi::detail {

// Below this, the faults cost less than the call.
inline constexpr std::size_t k_prefault_min_bytes = 256 * 1024;

inline void
prefault(const void* data, std::size_t bytes)
{
  if (bytes < k_prefault_min_bytes) {
    return;
  }
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin) {
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
  }
}

} // namespace spmi::detail
