// SPDX-License-Identifier: MIT
#include "elf_symbols.hpp"

#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace spmi::detail {

namespace {

// Refuses tables larger than this: no plugin has them, and a corrupt size must not allocate gigabytes.
constexpr std::uint64_t k_max_table = 64 * 1024 * 1024;

class ElfFile
{
public:
  explicit ElfFile(const std::filesystem::path& path) : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))
  {
    if (!m_fd) {
      throw std::runtime_error(fmt::format("cannot open: {}", std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(m_fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      throw std::runtime_error("not a regular file");
    }
    m_size = static_cast<std::uint64_t>(st.st_size);
  }

  // Reads `length` bytes at `offset`, refusing anything past the end of the file.
  void read(std::uint64_t offset, std::uint64_t length, void* out) const
  {
    if (offset > m_size || length > m_size - offset) {
      throw std::runtime_error("truncated or corrupt ELF file (a table lies past its end)");
    }
    auto* bytes = static_cast<char*>(out);
    while (length > 0) {
      const ssize_t n = ::pread(m_fd.get(), bytes, length, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        throw std::runtime_error("cannot read the ELF file");
      }
      bytes += n;
      offset += static_cast<std::uint64_t>(n);
      length -= static_cast<std::uint64_t>(n);
    }
  }

  std::vector<char> table(const Elf64_Shdr& section) const
  {
    if (section.sh_size > k_max_table) {
      throw std::runtime_error("corrupt ELF file (a table is implausibly large)");
    }
    std::vector<char> data(static_cast<std::size_t>(section.sh_size));
    read(section.sh_offset, section.sh_size, data.data());
    return data;
  }

private:
  UniqueFd m_fd;  // closed on every path, a throwing constructor's included
  std::uint64_t m_size = 0;
};

std::string_view
name_at(const std::vector<char>& strings, std::uint32_t offset)
{
  if (offset >= strings.size()) {
    throw std::runtime_error("corrupt ELF file (a name lies outside its string table)");
  }
  const char* begin = strings.data() + offset;
  const auto* end = static_cast<const char*>(std::memchr(begin, '\0', strings.size() - offset));
  if (!end) {
    throw std::runtime_error("corrupt ELF file (an unterminated name)");
  }
  return {begin, static_cast<std::size_t>(end - begin)};
}

} // namespace

std::vector<std::string>
section_symbols(const std::filesystem::path& path, std::string_view section_name)
{
  const ElfFile file(path);
  Elf64_Ehdr header{};
  file.read(0, sizeof(header), &header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    throw std::runtime_error("not an ELF file");
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw std::runtime_error("not a 64-bit little-endian ELF file");
  }
  if (header.e_type != ET_DYN) {
    throw std::runtime_error("not a shared object");
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 || header.e_shstrndx >= header.e_shnum) {
    throw std::runtime_error("corrupt ELF file (bad section header table)");
  }
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  file.read(header.e_shoff, sizeof(Elf64_Shdr) * sections.size(), sections.data());
  const auto section_names = file.table(sections[header.e_shstrndx]);

  std::size_t wanted = 0;
  const Elf64_Shdr* dynsym = nullptr;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].sh_type == SHT_DYNSYM) {
      dynsym = &sections[i];
    }
    if (wanted == 0 && name_at(section_names, sections[i].sh_name) == section_name) {
      wanted = i;
    }
  }
  std::vector<std::string> result;
  if (wanted == 0 || !dynsym) {
    return result;
  }
  if (dynsym->sh_link >= sections.size() || dynsym->sh_entsize != sizeof(Elf64_Sym)) {
    throw std::runtime_error("corrupt ELF file (bad dynamic symbol table)");
  }
  const auto strings = file.table(sections[dynsym->sh_link]);
  const auto raw = file.table(*dynsym);
  const std::size_t count = raw.size() / sizeof(Elf64_Sym);
  for (std::size_t i = 0; i < count; ++i) {
    Elf64_Sym symbol;
    std::memcpy(&symbol, raw.data() + i * sizeof(Elf64_Sym), sizeof(symbol));
    const auto bind = ELF64_ST_BIND(symbol.st_info);
    if (symbol.st_shndx != wanted || (bind != STB_GLOBAL && bind != STB_WEAK) ||
        ELF64_ST_VISIBILITY(symbol.st_other) != STV_DEFAULT) {
      continue;
    }
    if (auto name = name_at(strings, symbol.st_name); !name.empty()) {
      result.emplace_back(name);
    }
  }
  return result;
}

} // namespace spmi::detail
