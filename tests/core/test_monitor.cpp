// SPDX-License-Identifier: MIT
// `spmi top`'s arithmetic and order (core/src/monitor.cpp): CPU% over an interval, sorting by column.
#include <spmi/monitor.hpp>

#include <gtest/gtest.h>

namespace {

using namespace spmi;

MonitorRow
row(const std::string& id, State state, std::optional<double> cpu, std::uint64_t memory = 0, int restarts = 0,
    std::optional<long> uptime = std::nullopt)
{
  MonitorRow r;
  r.view.id = id;
  r.view.state = state;
  r.view.restarts = restarts;
  r.cpu_percent = cpu;
  if (memory > 0) {
    r.view.resources = process::TreeUsage{1, 0, 0, memory};
  }
  if (uptime) {
    r.uptime = std::chrono::seconds(*uptime);
  }
  return r;
}

std::vector<std::string>
ids(const std::vector<MonitorRow>& rows)
{
  std::vector<std::string> result;
  for (const auto& r : rows) {
    result.push_back(r.view.id);
  }
  return result;
}

TEST(IntervalCpu, GrowthOverWallTime)
{
  // One CPU busy for the whole 2 s: 100%; half a second of CPU in 2 s: 25%; two CPUs busy: 200%.
  EXPECT_DOUBLE_EQ(*interval_cpu_percent(10.0, 12.0, 2.0), 100.0);
  EXPECT_DOUBLE_EQ(*interval_cpu_percent(10.0, 10.5, 2.0), 25.0);
  EXPECT_DOUBLE_EQ(*interval_cpu_percent(1.0, 5.0, 2.0), 200.0);
  EXPECT_DOUBLE_EQ(*interval_cpu_percent(3.0, 3.0, 2.0), 0.0);  // idle: 0, not "since start"
}

TEST(IntervalCpu, UnknownWhenItCannotBeTold)
{
  EXPECT_FALSE(interval_cpu_percent(5.0, 4.0, 2.0));   // the counter went down: processes ended
  EXPECT_FALSE(interval_cpu_percent(1.0, 2.0, 0.0));   // no time passed
  EXPECT_FALSE(interval_cpu_percent(1.0, 2.0, -1.0));
  EXPECT_FALSE(interval_cpu_percent(-1.0, 2.0, 1.0));  // no earlier sample
}

TEST(SortRows, CpuHighestFirstAndRowsWithoutAFigureLast)
{
  std::vector<MonitorRow> rows{row("idle", State::active, 0.0), row("off", State::inactive, std::nullopt),
                               row("burner", State::active, 99.5), row("web", State::active, 3.0)};
  sort_rows(rows, SortKey::cpu);
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"burner", "web", "idle", "off"}));
  sort_rows(rows, SortKey::cpu, true);  // inverted: lowest first, still the ones without a figure last
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"idle", "web", "burner", "off"}));
}

TEST(SortRows, IdStateMemoryRestartsUptime)
{
  std::vector<MonitorRow> rows{row("b", State::inactive, std::nullopt, 0, 0), row("c", State::active, 1.0, 100, 2, 50),
                               row("a", State::failed, std::nullopt, 0, 5), row("d", State::active, 1.0, 300, 0, 10)};
  sort_rows(rows, SortKey::id);
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"a", "b", "c", "d"}));
  sort_rows(rows, SortKey::id, true);
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"d", "c", "b", "a"}));
  sort_rows(rows, SortKey::state);  // running first, inactive last, ties by ID
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"c", "d", "a", "b"}));
  sort_rows(rows, SortKey::memory);
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"d", "c", "a", "b"}));
  sort_rows(rows, SortKey::restarts);
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"a", "c", "b", "d"}));
  sort_rows(rows, SortKey::uptime);
  EXPECT_EQ(ids(rows), (std::vector<std::string>{"c", "d", "a", "b"}));
}

TEST(SortKeyWord, ColumnNames)
{
  EXPECT_STREQ(sort_key_word(SortKey::cpu), "CPU%");
  EXPECT_STREQ(sort_key_word(SortKey::memory), "MEM");
  EXPECT_STREQ(sort_key_word(SortKey::id), "ID");
}

} // namespace
