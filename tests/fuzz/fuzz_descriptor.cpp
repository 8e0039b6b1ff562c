// SPDX-License-Identifier: MIT
// Fuzzes descriptor parsing: any input must give a Descriptor or a DescriptorError, never another
// exception, a crash, a hang or a memory blow-up. The first byte picks the format.
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0 || size > spmi::k_max_descriptor_size) {
    return 0;
  }
  // 't', 'y', 'j' name a format (so seeds read well); other bytes pick one by value.
  static constexpr std::string_view k_formats[] = {"toml", "yaml", "json"};
  const auto format = data[0] == 't' ? k_formats[0]
                      : data[0] == 'y' ? k_formats[1]
                      : data[0] == 'j' ? k_formats[2]
                                       : k_formats[data[0] % 3];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const auto document = spmi::parse_document(text, format, "fuzz");
    spmi::make_descriptor(document, "fuzz");
  } catch (const spmi::DescriptorError&) {
    // the expected refusal
  }
  return 0;
}
