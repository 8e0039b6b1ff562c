// SPDX-License-Identifier: MIT
#include <spmi/errors.hpp>
#include <spmi/text.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace spmi {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

void
append_hex(std::string& out, const char* prefix, unsigned value, int digits)
{
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out += k_hex[(value >> shift) & 0xf];
  }
}

// Length of the valid UTF-8 sequence starting at text[i] (1-4), or 0 when the byte there does not start
// one (a stray continuation byte, an overlong form, a surrogate, beyond U+10FFFF, or cut short).
std::size_t
utf8_length(std::string_view text, std::size_t i)
{
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    low = b0 == 0xe0 ? 0xa0 : 0x80;   // no overlong forms
    high = b0 == 0xed ? 0x9f : 0xbf;  // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    low = b0 == 0xf0 ? 0x90 : 0x80;
    high = b0 == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) {
      return 0;
    }
  }
  return length;
}

} // namespace

std::string
shell_word(std::string_view text)
{
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  });
  if (plain) {
    return std::string(text);
  }
  std::string quoted = "'";
  for (const char c : text) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::string
escape_control(std::string_view text, std::string_view keep)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f) {
      out += c;
      ++i;
      continue;
    }
    if (b < 0x20 && keep.find(c) != std::string_view::npos) {
      out += c;
      ++i;
      continue;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      ++i;
      continue;
    }
    if (b < 0x80) {  // the other C0 controls and DEL
      append_hex(out, "\\x", b, 2);
      ++i;
      continue;
    }
    const std::size_t length = utf8_length(text, i);
    if (length == 0) {
      append_hex(out, "\\x", b, 2);
      ++i;
    } else if (length == 2 && b == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      append_hex(out, "\\u", static_cast<unsigned char>(text[i + 1]), 4);  // C1: U+0080-U+009F
      i += 2;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

bool
is_valid_utf8(std::string_view text)
{
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = utf8_length(text, i);
    if (length == 0) {
      return false;
    }
    i += length;
  }
  return true;
}

off_t
tail_offset(int fd, off_t size, std::size_t lines)
{
  if (lines == 0 || size <= 0) {
    return std::max<off_t>(size, 0);
  }
  constexpr off_t k_block = 64 * 1024;
  char buffer[k_block];
  std::size_t seen = 0;
  off_t end = size;  // buffer covers [end - chunk, end)
  while (end > 0) {
    const off_t chunk = std::min(end, k_block);
    const off_t begin = end - chunk;
    for (off_t done = 0; done < chunk;) {
      const ssize_t n = ::pread(fd, buffer + done, static_cast<std::size_t>(chunk - done), begin + done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        throw_errno("read (task output)");
      }
      if (n == 0) {
        throw SystemError("read (task output): the file was truncated while being read; try again");
      }
      done += n;
    }
    // Newlines from the end of this block; the one that ends the file ends the last line.
    std::size_t left = static_cast<std::size_t>(chunk);
    while (left > 0) {
      const void* found = ::memrchr(buffer, '\n', left);
      if (found == nullptr) {
        break;
      }
      left = static_cast<std::size_t>(static_cast<const char*>(found) - buffer);
      const off_t at = begin + static_cast<off_t>(left);
      if (at != size - 1 && ++seen == lines) {
        return at + 1;
      }
    }
    end = begin;
  }
  return 0;
}

} // namespace spmi
