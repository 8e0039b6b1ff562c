// SPDX-License-Identifier: MIT
// The size grammar (core/src/size.cpp): exactly a whole number, with an optional unit B, K, M, G, T,
// KiB, MiB, GiB or TiB (powers of 1024) written so; the guesses for what else was meant.
#include <spmi/descriptor.hpp>

#include "../../core/src/descriptor_detail.hpp"

#include <gtest/gtest.h>

namespace {

using spmi::parse_size;

TEST(ParseSize, AcceptedForms)
{
  EXPECT_EQ(parse_size("1024"), 1024u);
  EXPECT_EQ(parse_size("100B"), 100u);
  EXPECT_EQ(parse_size("4K"), 4096u);
  EXPECT_EQ(parse_size("10M"), 10u << 20);
  EXPECT_EQ(parse_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_size("1T"), 1ull << 40);
  EXPECT_EQ(parse_size("1KiB"), 1024u);
  EXPECT_EQ(parse_size("10MiB"), 10u << 20);
  EXPECT_EQ(parse_size("3GiB"), 3ull << 30);
  EXPECT_EQ(parse_size("2TiB"), 2ull << 40);
  EXPECT_EQ(parse_size("16777215T"), 16777215ull << 40);  // the largest in T
}

TEST(ParseSize, RefusedForms)
{
  for (const char* text : {"", "0", "0K", "M", "-5", "+5", " 10M", "10M ", "10 M", "1.5M", "10MX", "10m", "10k",
                           "10MB", "10KB", "10mib", "10Mib", "10b", "10iB", "1e6", "0x10",
                           "99999999999999999999999", "17179869184G", "16777216T"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  }
}

TEST(FormatSize, LargestExactUnit)
{
  using spmi::detail::format_size;
  EXPECT_EQ(format_size(1), "1 byte");
  EXPECT_EQ(format_size(1000), "1000 bytes");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(64 << 10), "64KiB");
  EXPECT_EQ(format_size(1536ull << 20), "1536MiB");
  EXPECT_EQ(format_size(2ull << 40), "2TiB");
}

TEST(SizeMeant, Guesses)
{
  using spmi::detail::size_meant;
  EXPECT_EQ(size_meant("10m"), "10M");
  EXPECT_EQ(size_meant("10 M"), "10M");
  EXPECT_EQ(size_meant("10MB"), "10M");
  EXPECT_EQ(size_meant("10mb"), "10M");
  EXPECT_EQ(size_meant("10kib"), "10KiB");
  EXPECT_EQ(size_meant("10b"), "10");
  EXPECT_EQ(size_meant("1.5G"), "1536M");
  EXPECT_EQ(size_meant("1.5GiB"), "1536MiB");
  EXPECT_EQ(size_meant("0.5K"), "512");
  EXPECT_EQ(size_meant("1.3K"), std::nullopt);  // not a whole number of bytes
  EXPECT_EQ(size_meant("10X"), std::nullopt);
  EXPECT_EQ(size_meant("lots"), std::nullopt);
  EXPECT_EQ(size_meant("1.2.3M"), std::nullopt);
}

} // namespace
