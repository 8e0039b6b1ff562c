// SPDX-License-Identifier: MIT
/// \file
/// Text that others wrote (descriptors, task output, file contents), handled safely: escaped before it
/// reaches a terminal, and the last lines of a file found in time linear in what is read.
#pragma once

#include <spmi/export.hpp>

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace spmi {

/// `text` with every control character written as a C-style escape, so it cannot move the cursor,
/// forge lines or send terminal commands: `\n`, `\r`, `\t`, other C0 bytes and DEL as `\xNN` (ESC is
/// `\x1b`), the C1 controls U+0080-U+009F as `\u0080`-`\u009f`, and every byte that is not part of valid
/// UTF-8 (a lone 0x9b, the 8-bit CSI) as `\xNN`. Valid UTF-8 text and backslashes are kept as they are.
/// The C0 characters in `keep` (e.g. "\n\t" for a multi-line message) pass through unchanged.
SPMI_API std::string escape_control(std::string_view text, std::string_view keep = {});

/// `text` as one word for /bin/sh: as it is when it is only letters, digits and the characters
/// _@%+=:,./- (and not empty), else in single quotes, a single quote in it closed, escaped and opened
/// again, so no character of it is special to the shell: "a; rm -rf /" becomes "'a; rm -rf /'", the
/// empty text "''".
SPMI_API std::string shell_word(std::string_view text);

/// True when `text` is valid UTF-8: no stray continuation byte, overlong form, UTF-16 surrogate or
/// sequence cut short, nothing beyond U+10FFFF.
SPMI_API bool is_valid_utf8(std::string_view text);

/// The offset in the open file `fd`, which is `size` bytes long, where its last `lines` lines begin, as
/// `tail -n` counts them: a newline ends a line, so a final newline does not start an empty one, and
/// text without any newline is one line however long it is (the start of the file). Reads backwards
/// from `size` in 64 KiB blocks with pread: time linear in the bytes read, constant memory.
/// `lines` 0 gives `size`. @throws SystemError when the file can't be read.
SPMI_API off_t tail_offset(int fd, off_t size, std::size_t lines);

} // namespace spmi
