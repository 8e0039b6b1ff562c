// SPDX-License-Identifier: MIT
#include <spmi/suggest.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

// edit_distance counts insertions, deletions, substitutions and adjacent swaps as one edit each.
TEST(EditDistance, DamerauLevenshtein)
{
  EXPECT_EQ(spmi::edit_distance("", ""), 0u);
  EXPECT_EQ(spmi::edit_distance("screen", "screen"), 0u);
  EXPECT_EQ(spmi::edit_distance("", "abc"), 3u);
  EXPECT_EQ(spmi::edit_distance("abc", ""), 3u);
  EXPECT_EQ(spmi::edit_distance("scren", "screen"), 1u);
  EXPECT_EQ(spmi::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(spmi::edit_distance("sitting", "kitten"), 3u);
  EXPECT_EQ(spmi::edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(spmi::edit_distance("restrat", "restart"), 1u);  // a swap is one edit
  EXPECT_EQ(spmi::edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(spmi::edit_distance("ca", "abc"), 3u);  // optimal string alignment: no edit of a swapped pair
}

// A likely typo gets the closest candidate.
TEST(ClosestMatch, SuggestsTypo)
{
  const std::vector<std::string> candidates{"default", "screen", "tmux"};
  EXPECT_EQ(spmi::closest_match("scren", candidates), "screen");
  EXPECT_EQ(spmi::closest_match("tmx", candidates), "tmux");
  EXPECT_EQ(spmi::closest_match("defualt", candidates), "default");
  const std::vector<std::string> keys{"command", "restart", "restart_delay", "stop_signal", "cwd"};
  EXPECT_EQ(spmi::closest_match("restrat", keys), "restart");
  EXPECT_EQ(spmi::closest_match("comand", keys), "command");
  EXPECT_EQ(spmi::closest_match("stop_sginal", keys), "stop_signal");
  EXPECT_EQ(spmi::closest_match("cdw", keys), "cwd");
}

// A word that begins a candidate (completion's guess) wins over a one-edit typo: "stat" is "status".
TEST(ClosestMatch, PrefersPrefix)
{
  const std::vector<std::string> commands{"start", "status", "stop", "list"};
  EXPECT_EQ(spmi::closest_match("stat", commands), "status");
  EXPECT_EQ(spmi::closest_match("stats", commands), "status");
  EXPECT_EQ(spmi::closest_match("stp", commands), "stop");
  EXPECT_EQ(spmi::closest_match("lsit", commands), "list");
  // Too short a prefix, or a candidate more than twice as long, is no prefix match.
  EXPECT_EQ(spmi::closest_match("max", std::vector<std::string>{"max_output_size"}), std::nullopt);
}

// Words far from every candidate, the word itself, or no candidates at all, get no suggestion; at most
// two edits and a third of the word.
TEST(ClosestMatch, NothingForFarWords)
{
  const std::vector<std::string> candidates{"default", "screen", "tmux"};
  EXPECT_EQ(spmi::closest_match("kubernetes", candidates), std::nullopt);
  EXPECT_EQ(spmi::closest_match("xyz", candidates), std::nullopt);
  EXPECT_EQ(spmi::closest_match("screen", std::vector<std::string>{}), std::nullopt);
  EXPECT_EQ(spmi::closest_match("screen", candidates), std::nullopt);
  EXPECT_EQ(spmi::closest_match("ab", std::vector<std::string>{"xy"}), std::nullopt);
  EXPECT_EQ(spmi::closest_match("restarts_max", std::vector<std::string>{"max_restarts"}), std::nullopt);
  EXPECT_EQ(spmi::closest_match("abcdefghijkl", std::vector<std::string>{"abcdefghixyz"}), std::nullopt);
}
