// SPDX-License-Identifier: MIT
// A descriptor's matrix (core/src/matrix.cpp) and files of several manageables (descriptor_set.cpp):
// combinations, exclude, include, the bound, substitution with shell quoting, the shapes of a file.
#include "../../core/src/matrix.hpp"

#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/text.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using json = nlohmann::json;
using spmi::DescriptorError;
using spmi::Section;
using spmi::matrix::Combination;
using testing::HasSubstr;
using testing::ThrowsMessage;

std::vector<Combination>
combinations(const json& node, std::size_t limit = 10000)
{
  return spmi::matrix::combinations(Section(node, "s.toml", "task.matrix"), limit);
}

std::vector<std::string>
described(const std::vector<Combination>& all)
{
  std::vector<std::string> out;
  for (const auto& c : all) {
    out.push_back(spmi::matrix::describe(c));
  }
  return out;
}

TEST(Matrix, ProductInNameOrderLastFastest)
{
  const auto all = combinations(json::parse(R"({"seed": [1, 2], "lr": [0.1, "x"], "on": [true]})"));
  EXPECT_THAT(described(all), testing::ElementsAre("lr=0.1, on=true, seed=1", "lr=0.1, on=true, seed=2",
                                                   "lr=x, on=true, seed=1", "lr=x, on=true, seed=2"));
}

TEST(Matrix, ExcludeRemovesMatchingIncludeAddsNew)
{
  const auto all = combinations(json::parse(
    R"({"lr": [1, 2], "seed": [1, 2], "exclude": [{"lr": 2}], "include": [{"lr": 3, "seed": 1}, {"lr": 1, "seed": 1}]})"));
  EXPECT_THAT(described(all), testing::ElementsAre("lr=1, seed=1", "lr=1, seed=2", "lr=3, seed=1"));
}

TEST(Matrix, IncludeAloneMakesItsEntries)
{
  const auto all = combinations(json::parse(R"({"include": [{"n": 1, "w": "a b"}, {"n": 2, "w": ""}]})"));
  EXPECT_THAT(described(all), testing::ElementsAre("n=1, w=a b", "n=2, w="));
}

TEST(Matrix, Refusals)
{
  const auto refused = [](const char* text, const char* message) {
    EXPECT_THAT([&] { combinations(json::parse(text)); }, ThrowsMessage<DescriptorError>(HasSubstr(message))) << text;
  };
  refused(R"({"lr": []})", "s.toml: task.matrix.lr: expected a non-empty array of values");
  refused(R"({"lr": [[1]]})", "s.toml: task.matrix.lr[0]: expected a string, number or boolean, got an array");
  refused(R"({"1x": [1]})", "'1x' is not a matrix name");
  refused(R"({"lr": [1], "LR": [2]})", "'LR' and 'lr' would both be $SPMI_MATRIX_LR");
  refused(R"({"lr": [1], "exclude": [{"seed": 1}]})", "task.matrix.exclude[0].seed: 'seed' is not a name of this matrix");
  refused(R"({"lr": [1], "include": [{"lr": 2, "seed": 1}]})", "'seed' is not a name of this matrix");
  refused(R"({"lr": [1], "seed": [1], "include": [{"lr": 2}]})",
          "task.matrix.include[0]: gives lr; each include must give a value for each of lr, seed");
  refused(R"({"lr": [1], "exclude": [{"lr": 1}]})", "makes no combination");
  refused(R"([1])", "s.toml: task.matrix: expected a table");
}

TEST(Matrix, BoundedBeforeExpanding)
{
  json node{{"a", json::array()}, {"b", json::array()}, {"c", json::array()}};
  for (int i = 0; i < 1000; ++i) {
    node["a"].push_back(i);
    node["b"].push_back(i);
    node["c"].push_back(i);
  }
  EXPECT_THAT([&] { combinations(node); },
              ThrowsMessage<DescriptorError>(HasSubstr("makes more than 10000 combinations (a: 1000 × b: 1000 × c: "
                                                       "1000); at most 10000 manageables per file")));
  node["c"] = json::array({1});
  node["b"] = json::array({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  EXPECT_EQ(combinations(node).size(), 10000u);
}

TEST(Matrix, SubstituteQuotesForTheShell)
{
  const Combination values{{"lr", "0.1"}, {"w", "a; rm -rf /"}, {"q", "it's"}, {"e", ""}};
  using spmi::matrix::substitute;
  EXPECT_EQ(substitute("run --lr {lr} {w} {q} {e}", values, true), "run --lr 0.1 'a; rm -rf /' 'it'\\''s' ''");
  EXPECT_EQ(substitute("sim-{lr}-{w}", values, false), "sim-0.1-a; rm -rf /");
  EXPECT_EQ(substitute("awk '{print $1}' ${lr} {x} {lr", values, true), "awk '{print $1}' ${lr} {x} {lr");
  EXPECT_EQ(substitute("{{lr}}", values, true), "{0.1}");
  EXPECT_EQ(spmi::shell_word("plain/path-1.0,a=b:c@d%e+f"), "plain/path-1.0,a=b:c@d%e+f");
}

TEST(Matrix, InstantiateIdAndCommentAsTheyAre)
{
  const auto body = json::parse(R"({"id": "s-{w}", "comment": "w {w}", "matrix": {"w": ["a b"]},
                                    "wrapper": {"command": "echo {w}", "env": {"W": "{w}"}}, "n": 3})");
  const auto out = spmi::matrix::instantiate(body, Combination{{"w", "a b"}});
  EXPECT_EQ(out, json::parse(R"({"id": "s-a b", "comment": "w a b", "wrapper": {"command": "echo 'a b'",
                                 "env": {"W": "'a b'"}}, "n": 3})"));
  EXPECT_EQ(spmi::matrix::variable("lr_2"), "SPMI_MATRIX_LR_2");
}

json
task(const std::string& id)
{
  return json{{"id", id}, {"backend", {{"type", "local"}}}};
}

TEST(DescriptorSet, Shapes)
{
  const auto ids = [](const json& document) {
    std::vector<std::string> out;
    for (const auto& d : spmi::make_descriptors(document, "f.yaml", "yaml", "text")) {
      out.push_back(d.id + "@" + d.table());
    }
    return out;
  };
  EXPECT_THAT(ids(json{{"task", task("a")}}), testing::ElementsAre("a@task"));
  EXPECT_THAT(ids(json{{"task", json::array({task("a"), task("b")})}}), testing::ElementsAre("a@task[0]", "b@task[1]"));
  EXPECT_THAT(ids(json::array({json{{"task", task("a")}}, json{{"task", task("b")}}})),
              testing::ElementsAre("a@[0].task", "b@[1].task"));
  auto swept = task("s-{n}");
  swept["matrix"] = json{{"n", {1, 2}}};
  EXPECT_THAT(ids(json{{"task", json::array({task("a"), swept})}}),
              testing::ElementsAre("a@task[0]", "s-1@task[1][n=1]", "s-2@task[1][n=2]"));
  const auto one = spmi::make_descriptors(json{{"task", task("a")}}, "f.yaml", "yaml", "text");
  EXPECT_EQ(one[0].text, "text");  // a file of one: its own text, as read_descriptor() gives
  EXPECT_TRUE(one[0].matrix.is_null());
  const auto two = spmi::make_descriptors(json{{"task", swept}}, "f.yaml", "yaml", "text");
  EXPECT_EQ(two[1].format, "json");
  EXPECT_EQ(json::parse(two[1].text)["task"]["id"], "s-2");
  EXPECT_EQ(two[1].matrix, json({{"n", "2"}}));
}

TEST(DescriptorSet, Refusals)
{
  const auto refused = [](const json& document, const char* message) {
    EXPECT_THAT([&] { spmi::make_descriptors(document, "f.json", "json", ""); },
                ThrowsMessage<DescriptorError>(HasSubstr(message)))
      << document.dump();
  };
  refused(json{{"task", json::array()}}, "f.json: the list of manageables is empty");
  refused(json::array(), "f.json: the list of manageables is empty");
  refused(json{{"task", json::array({task("a"), "x"})}}, "f.json: task[1]: expected a table, got a string");
  refused(json{{"task", json::array({"x"})}}, "f.json: task: expected a table, got an array");
  refused(json::array({json{{"task", task("a")}, {"other", task("b")}}}), "f.json: [0]: expected a table with one key");
  refused(json{{"task", json::array({task("a"), task("a")})}}, "f.json: task[1].id: 'a' is also the ID of task[0]");
  refused(json{{"task", json::array({task("a"), task("b c")})}}, "f.json: task[1].id: 'b c' is not a valid ID");
  auto big = task("b-{n}");
  big["matrix"] = json{{"n", json::array()}};
  for (int i = 0; i < 6000; ++i) {
    big["matrix"]["n"].push_back(i);
  }
  refused(json{{"task", json::array({big, big})}}, "f.json: task[1].matrix: makes more than 4000 combinations");
}

} // namespace
