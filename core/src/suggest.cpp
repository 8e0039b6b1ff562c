// SPDX-License-Identifier: MIT
// "Did you mean ...?": edit distance with adjacent swaps, and which candidate is close enough.
#include <spmi/suggest.hpp>

#include <algorithm>

namespace spmi {

std::size_t
edit_distance(std::string_view a, std::string_view b)
{
  // Three rows of the optimal-string-alignment table: the one before the previous, for swaps.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    previous[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, row);
  }
  return previous[b.size()];
}

std::optional<std::string>
closest_match(std::string_view word, const std::vector<std::string_view>& candidates)
{
  // A word that begins a candidate is what completion would have given ("stat" -> "status", though
  // "start" is one edit away): preferred to any mere typo.
  const auto prefix_of = [&](std::string_view candidate) {
    return word.size() >= 3 && candidate.size() > word.size() && candidate.size() <= 2 * word.size() &&
           candidate.substr(0, word.size()) == word;
  };
  const std::size_t limit = std::min<std::size_t>(2, std::max<std::size_t>(1, word.size() / 3));
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  bool best_prefix = false;
  for (const auto candidate : candidates) {
    if (candidate == word) {
      continue;
    }
    const bool prefix = prefix_of(candidate);
    const auto distance = edit_distance(word, candidate);
    if (!prefix && distance > limit) {
      continue;
    }
    if (!best || (prefix && !best_prefix) || (prefix == best_prefix && distance < best_distance)) {
      best = std::string(candidate);
      best_distance = distance;
      best_prefix = prefix;
    }
  }
  return best;
}

std::optional<std::string>
closest_match(std::string_view word, const std::vector<std::string>& candidates)
{
  return closest_match(word, std::vector<std::string_view>(candidates.begin(), candidates.end()));
}

} // namespace spmi
