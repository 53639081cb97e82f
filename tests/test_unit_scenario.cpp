#include "algorithms/registry.hpp"
#include "scenario/scenario.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace dmlsim;
using dmlsim::testutil::TempDir;
using dmlsim::testutil::write_text;

namespace {

// A minimal valid scenario; `extra` goes inside <scenario>, `algorithm` replaces the default.
std::string scenario_text(const std::string& algorithm = R"(<algorithm name="ma" eta="0.1" local-steps="3"/>)",
                          const std::string& extra = "") {
  return R"(<?xml version="1.0"?>
<scenario name="t" seed="5">
  <platform file="p.xml"/>
  <data file="d.csv" label="y"/>
  <workers count="2" placement="hosts" hosts="a, b"/>
  <server host="s"/>
  )" + algorithm + R"(
  <training rounds="10"/>
)" + extra + "</scenario>\n";
}

class ScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_ / "p.xml", "<platform version=\"4.1\"/>\n");
    write_text(dir_ / "d.csv", "x,y\n1,0\n2,1\n3,0\n4,1\n");
  }
  Scenario load(const std::string& text, const std::vector<Override>& overrides = {}) {
    write_text(dir_ / "s.xml", text);
    return load_scenario(dir_ / "s.xml", overrides);
  }
  // Loads and returns the error message ("" if none).
  std::string error_of(const std::string& text, const std::vector<Override>& overrides = {}) {
    try {
      load(text, overrides);
    } catch (const ScenarioError& e) {
      return e.what();
    }
    return "";
  }
  TempDir dir_;
};

}  // namespace

TEST_F(ScenarioTest, ReadsAValidScenarioWithDefaults) {
  const auto s = load(scenario_text());
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.seed, 5u);
  EXPECT_EQ(s.algorithm.name(), "ma");
  EXPECT_EQ(s.algorithm.integer("local-steps"), 3);
  EXPECT_EQ(s.workers.hosts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.network.model, "CM02");
  ASSERT_TRUE(s.network.profile) << "a scenario without <network> runs on the TCP-calibrated profile";
  EXPECT_EQ(s.network.profile->name, "linux-tcp");
  EXPECT_EQ(s.training.bytes_per_param, 8);
  EXPECT_EQ(s.batch.rule, BatchRule::Bernoulli);
  EXPECT_EQ(s.platform.file, (dir_ / "p.xml").lexically_normal());
  EXPECT_EQ(s.output_dir, std::filesystem::path("results/t"));
}

TEST_F(ScenarioTest, CommandLineOverridesWinAndCreateElements) {
  const auto s = load(scenario_text(), {parse_override("algorithm.local-steps=10"), parse_override("stop.max-time=2s"),
                                        parse_override("scenario.seed=9")});
  EXPECT_EQ(s.algorithm.integer("local-steps"), 10);
  EXPECT_EQ(s.stop.max_time.value(), 2.0);
  EXPECT_EQ(s.seed, 9u);
  EXPECT_THROW(parse_override("algorithm=3"), std::invalid_argument);
  EXPECT_THROW(parse_override(".x=3"), std::invalid_argument);
}

TEST_F(ScenarioTest, EachClassOfBadInputNamesFileLineAndAttribute) {
  const std::string file = (dir_ / "s.xml").string();
  EXPECT_EQ(error_of("<scenario><platform></scenario>"),
            file + ":1: malformed XML: Start-end tags mismatch");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma" eta="0.1" bogus="1"/>)")),
            file + ":7: <algorithm> attribute 'bogus': unknown attribute (ma takes: eta, local-steps)");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma"/>)")), file + ":7: <algorithm> attribute 'eta': is required");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma" eta="fast"/>)")),
            file + ":7: <algorithm> attribute 'eta': 'fast' does not start with a number");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma" eta="0.1" local-steps="0"/>)")),
            file + ":7: <algorithm> attribute 'local-steps': 0 is out of range [1, 1048576]");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="sgd" eta="0.1"/>)")),
            file + ":7: <algorithm> attribute 'name': 'sgd' is not one of: " + fmt::format("{}", fmt::join(algorithm_names(), ", ")));
  EXPECT_EQ(algorithm_names().front(), "ssgd");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma" eta="0.1"/>)", "<wibble/>\n")),
            file + ":9: unknown element <wibble> (known: platform, network, data, model, workers, server, topology, algorithm, "
                   "batch, training, compression, stop, report, output, energy, background, failures)");
  EXPECT_EQ(error_of(R"(<scenario><platform file="p.xml"/></scenario>)"),
            file + ":1: missing required element <data>");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma" eta="0.1"/>)", "<stop max-time=\"5 years\"/>\n")),
            file + ":9: <stop> attribute 'max-time': unknown time unit ' years' in '5 years' (known: ps, ns, us, ms, s, "
                   "m, h, d, w)");
  EXPECT_EQ(error_of(scenario_text(R"(<algorithm name="ma" eta="0.1"/>)"), {parse_override("algorithm.mu=-1")}),
            file + ":7: <algorithm> attribute 'mu' (set on the command line: --set algorithm.mu): -1 is out of "
                   "range [0, 1)");
  EXPECT_EQ(error_of(scenario_text(), {parse_override("nothing.x=1")}),
            file + ":2: --set nothing.x=1: there is no element <nothing> in a scenario");
}

TEST_F(ScenarioTest, MissingFilesAreReportedWithTheirPath) {
  auto text = scenario_text();
  text.replace(text.find("d.csv"), 5, "missing.csv");
  const std::string file = (dir_ / "s.xml").string();
  EXPECT_EQ(error_of(text), file + ":4: <data> attribute 'file': file '" + (dir_ / "missing.csv").string() +
                                "' does not exist");
  EXPECT_EQ(error_of(scenario_text()).empty(), true);
  try {
    load_scenario(dir_ / "nope.xml");
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_EQ(std::string(e.what()), (dir_ / "nope.xml").string() + ": cannot read the scenario file");
  }
}

TEST_F(ScenarioTest, WorkerCountMustMatchHostList) {
  auto text = scenario_text();
  text.replace(text.find("count=\"2\""), 9, "count=\"3\"");
  EXPECT_NE(error_of(text).find("'count': is 3 but 'hosts' lists 2 hosts"), std::string::npos);
}

TEST_F(ScenarioTest, ModelDataAndPartitionAttributes) {
  const auto s = load(scenario_text(), {parse_override("model.type=mlp"), parse_override("model.hidden=64,32"),
                                        parse_override("workers.partition=dirichlet"),
                                        parse_override("workers.dirichlet-alpha=0.3"), parse_override("data.storage=float32"),
                                        parse_override("training.eval-rows=100")});
  EXPECT_EQ(s.model.hidden, (std::vector<long>{64, 32}));
  EXPECT_EQ(s.model.init.rule, InitRule::Glorot);  // the MLP's default
  EXPECT_EQ(s.workers.partition.scheme, PartitionScheme::Dirichlet);
  EXPECT_DOUBLE_EQ(s.workers.partition.dirichlet_alpha, 0.3);
  EXPECT_TRUE(s.data.float32);
  EXPECT_EQ(s.training.eval_rows, 100);
  EXPECT_NE(error_of(scenario_text(), {parse_override("model.type=mlp")}).find("'hidden': is required"), std::string::npos);
  EXPECT_NE(error_of(scenario_text(), {parse_override("model.type=mlp"), parse_override("model.hidden=64,x")})
                .find("'x' is not a layer size"),
            std::string::npos);
  EXPECT_NE(error_of(scenario_text(), {parse_override("model.sim-parameters=1e6")})
                .find("a model profile needs both"),
            std::string::npos);
  EXPECT_NE(error_of(scenario_text(), {parse_override("data.format=idx")}).find("IDX data needs"), std::string::npos);
}

TEST_F(ScenarioTest, AttributesTheAlgorithmIgnoresAreNoted) {
  const auto s = load(scenario_text(R"(<algorithm name="ma" eta="0.1" mu="0.5"/>)"));
  ASSERT_EQ(s.notes.size(), 1u);
  EXPECT_NE(s.notes[0].find("'mu' is ignored by ma"), std::string::npos);
}
