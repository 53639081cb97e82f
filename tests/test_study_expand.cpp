// Studies: parsing, validation (file:line errors), expansion into runs, ids, manifest and study.json.
#include "study/study.hpp"
#include "study/sweep.hpp"
#include "scenario/scenario.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim::testutil;
using namespace dmlsim::study;
namespace fs = std::filesystem;

namespace {

std::string scenario(const std::string& name) { return (source_dir() / "scenarios" / name).string(); }

// A study file in `dir` whose body follows a <study> line naming the WAN SSGD scenario.
fs::path write_study(const TempDir& dir, const std::string& body, const std::string& attributes = "") {
  const auto file = dir / "s.xml";
  write_text(file, "<?xml version=\"1.0\"?>\n<study name=\"t\" scenario=\"" + scenario("wan/ssgd.xml") + "\"" + attributes +
                       ">\n" + body + "</study>\n");
  return file;
}

void expect_error(const std::string& body, const std::string& message, const std::string& attributes = "") {
  TempDir dir;
  const auto file = write_study(dir, body, attributes);
  try {
    const auto study = load_study(file);
    check_runs(study, expand(study));
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const dmlsim::ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << "expected '" << message << "' in:\n" << e.what();
  }
}

}  // namespace

TEST(StudyExpand, CartesianProductWithSeedsInnermost) {
  TempDir dir;
  const auto file = write_study(dir,
                                "  <axis name=\"lat\" link=\"wan-*\" property=\"latency\" values=\"1ms 50ms\"/>\n"
                                "  <axis name=\"eta\" set=\"algorithm.eta\" values=\"0.05 0.1 0.2\"/>\n"
                                "  <fixed set=\"training.rounds\" value=\"20\"/>\n"
                                "  <fixed link=\"wan-*\" property=\"bandwidth\" value=\"10Gbps\"/>\n"
                                "  <seeds from=\"3\" to=\"4\"/>\n");
  const auto study = load_study(file);
  const auto runs = expand(study);
  ASSERT_EQ(runs.size(), 2u * 3u * 2u);
  EXPECT_EQ(runs[0].id, "lat-1ms_eta-0.05_seed-3");
  EXPECT_EQ(runs[1].id, "lat-1ms_eta-0.05_seed-4");
  EXPECT_EQ(runs[2].id, "lat-1ms_eta-0.1_seed-3");
  EXPECT_EQ(runs[11].id, "lat-50ms_eta-0.2_seed-4");
  EXPECT_EQ(runs[11].labels, (std::vector<std::string>{"50ms", "0.2"}));
  EXPECT_EQ(runs[11].seed, 4u);
  EXPECT_EQ(runs[11].scenario, fs::path(scenario("wan/ssgd.xml")));
  EXPECT_EQ(runs[11].sets, (std::vector<std::string>{"training.rounds=20", "algorithm.eta=0.2"}));
  EXPECT_EQ(runs[11].links, (std::vector<std::string>{"wan-*:bandwidth=10Gbps", "wan-*:latency=50ms"}));
  EXPECT_EQ(runs[11].run_args(),
            (std::vector<std::string>{scenario("wan/ssgd.xml"), "--set", "training.rounds=20", "--set", "algorithm.eta=0.2",
                                      "--link", "wan-*:bandwidth=10Gbps", "--link", "wan-*:latency=50ms", "--set",
                                      "scenario.seed=4"}));
  EXPECT_NO_THROW(check_runs(study, runs));
  EXPECT_EQ(study.output_dir, fs::path("results/studies/t"));

  // Same study, same ids, same order.
  const auto again = expand(load_study(file));
  ASSERT_EQ(again.size(), runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(again[i].id, runs[i].id);

  const auto manifest = manifest_csv(study, runs);
  EXPECT_EQ(manifest.substr(0, manifest.find('\n')), "run_id,lat,eta,seed,run_dir");
  EXPECT_NE(manifest.find("\nlat-50ms_eta-0.2_seed-4,50ms,0.2,4,runs/lat-50ms_eta-0.2_seed-4\n"), std::string::npos);

  const auto j = nlohmann::json::parse(study_json(study));
  EXPECT_EQ(j["name"], "t");
  EXPECT_EQ(j["seeds"], (std::vector<int>{3, 4}));
  EXPECT_EQ(j["axes"][0]["kind"], "link");
  EXPECT_EQ(j["axes"][0]["pattern"], "wan-*");
  EXPECT_EQ(j["axes"][0]["property"], "latency");
  EXPECT_DOUBLE_EQ(j["axes"][0]["numeric_values"][1].get<double>(), 0.05);
  EXPECT_EQ(j["axes"][1]["kind"], "set");
  EXPECT_EQ(j["axes"][1]["attribute"], "algorithm.eta");
  EXPECT_DOUBLE_EQ(j["axes"][1]["numeric_values"][2].get<double>(), 0.2);
}

TEST(StudyExpand, ScenarioAxisZipAndNonNumericValues) {
  TempDir dir;
  const auto file = dir / "z.xml";
  write_text(file, "<study name=\"z\" output=\"out/z\">\n"
                   "  <scenarios axis=\"algorithm\">\n"
                   "    <scenario label=\"ssgd\" file=\"" + scenario("seed/ssgd.xml") + "\"/>\n"
                   "    <scenario file=\"" + scenario("seed/ma.xml") + "\"/>\n"
                   "  </scenarios>\n"
                   "  <zip>\n"
                   "    <axis name=\"bw\" link=\"lan_*\" property=\"bandwidth\" values=\"1Gbps 10Gbps 100MBps\"/>\n"
                   "    <axis name=\"init\" set=\"model.init\" values=\"zeros uniform zeros\"/>\n"
                   "  </zip>\n"
                   "  <seeds values=\"7\"/>\n"
                   "</study>\n");
  const auto study = load_study(file);
  const auto runs = expand(study);
  ASSERT_EQ(runs.size(), 2u * 3u);
  EXPECT_EQ(runs[0].id, "algorithm-ssgd_bw-1Gbps_init-zeros_seed-7");
  EXPECT_EQ(runs[2].id, "algorithm-ssgd_bw-100MBps_init-zeros_seed-7");
  EXPECT_EQ(runs[3].id, "algorithm-ma_bw-1Gbps_init-zeros_seed-7");  // label defaults to the file stem
  EXPECT_EQ(runs[3].scenario, fs::path(scenario("seed/ma.xml")));
  EXPECT_EQ(runs[4].links, (std::vector<std::string>{"lan_*:bandwidth=10Gbps"}));
  EXPECT_EQ(runs[4].sets, (std::vector<std::string>{"model.init=uniform"}));
  EXPECT_EQ(study.output_dir, fs::path("out/z"));
  const auto j = nlohmann::json::parse(study_json(study));
  EXPECT_EQ(j["axes"][0]["kind"], "scenario");
  EXPECT_EQ(j["axes"][0]["values"], (std::vector<std::string>{"ssgd", "ma"}));
  EXPECT_DOUBLE_EQ(j["axes"][1]["numeric_values"][0].get<double>(), 1.25e8);
  EXPECT_DOUBLE_EQ(j["axes"][1]["numeric_values"][2].get<double>(), 1e8);
  EXPECT_TRUE(j["axes"][2]["numeric_values"].is_null());
  EXPECT_EQ(j["axes"][1]["zip_group"], j["axes"][2]["zip_group"]);
}

TEST(StudyExpand, FileValuedSetsAreRelativeToTheStudy) {
  const auto study = load_study(source_dir() / "scenarios/studies/ci-small.xml");
  EXPECT_EQ(expand(study).size(), 8u);
  TempDir dir;
  const auto file = write_study(dir, "  <axis name=\"platform\" set=\"platform.file\" values=\"p.xml\"/>\n  <seeds values=\"1\"/>\n");
  const auto runs = expand(load_study(file));
  EXPECT_EQ(runs[0].sets[0], "platform.file=" + (fs::absolute(dir.path()) / "p.xml").lexically_normal().string());
  EXPECT_EQ(runs[0].id, "platform-p.xml_seed-1");
  // Labels name the values in ids and tables; the runs still get the values.
  const auto labelled = write_study(dir, "  <axis name=\"platform\" set=\"platform.file\" values=\"p.xml q.xml\" labels=\"lan wan\"/>\n"
                                         "  <axis name=\"rtt\" link=\"wan-*\" property=\"latency\" values=\"1ms 100ms\" labels=\"near far\"/>\n"
                                         "  <seeds values=\"1\"/>\n");
  const auto labelled_study = load_study(labelled);
  const auto named = expand(labelled_study);
  ASSERT_EQ(named.size(), 4u);
  EXPECT_EQ(named[3].id, "platform-wan_rtt-far_seed-1");
  EXPECT_EQ(named[3].sets[0], "platform.file=" + (fs::absolute(dir.path()) / "q.xml").lexically_normal().string());
  EXPECT_EQ(named[3].links[0], "wan-*:latency=100ms");
  EXPECT_EQ(named[3].labels, (std::vector<std::string>{"wan", "far"}));
  EXPECT_EQ(*labelled_study.axes[1].numeric, (std::vector<double>{0.001, 0.1}));
  const auto json = nlohmann::json::parse(study_json(labelled_study));
  EXPECT_EQ(json["axes"][0]["values"], (std::vector<std::string>{"lan", "wan"}));
}

TEST(StudyExpand, ShippedStudies) {
  const auto latency = load_study(source_dir() / "scenarios/studies/latency-sweep.xml");
  const auto runs = expand(latency);
  EXPECT_EQ(runs.size(), 4u * 6u * 5u);
  EXPECT_EQ(runs.front().id, "algorithm-ssgd_wan-latency-0.05ms_seed-1");
  EXPECT_NO_THROW(check_runs(latency, runs));
  const auto seeds = load_study(source_dir() / "scenarios/studies/seed-replication.xml");
  EXPECT_EQ(expand(seeds).size(), 4u * 5u);
}

TEST(StudyExpand, ErrorsNameTheFileAndLine) {
  const std::string seeds = "  <seeds values=\"1\"/>\n";
  expect_error("  <axes/>\n" + seeds, "s.xml:3: unknown element <axes>");
  expect_error("  <axis name=\"a\" set=\"algorithm.eta\" values=\"0.1\" colour=\"red\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'colour': unknown attribute");
  expect_error("  <axis name=\"a\" set=\"algorithm.eta\" values=\"  \"/>\n" + seeds, "s.xml:3: <axis> attribute 'values': lists no value");
  expect_error("  <axis name=\"a\" set=\"algorithm.eta\" values=\"0.1 0.1\"/>\n" + seeds, "duplicate value '0.1'");
  expect_error("  <axis name=\"a\" set=\"algorithm.eta\" values=\"0.1 0.2\" labels=\"low\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'labels': gives 1 labels for 2 values");
  expect_error("  <axis name=\"a\" set=\"algorithm.eta\" values=\"0.1 0.2\" labels=\"x x\"/>\n" + seeds, "duplicate value 'x'");
  expect_error("  <axis name=\"a\" set=\"algorithm.eta\" values=\"0.1\"/>\n  <axis name=\"a\" set=\"algorithm.mu\" values=\"0.1\"/>\n" + seeds,
               "s.xml:4: duplicate axis name 'a'");
  expect_error("  <zip>\n    <axis name=\"a\" set=\"algorithm.eta\" values=\"0.1 0.2\"/>\n"
               "    <axis name=\"b\" set=\"algorithm.mu\" values=\"0.1\"/>\n  </zip>\n" + seeds,
               "s.xml:5: axes inside <zip> must have the same number of values: 'a' has 2, 'b' has 1");
  expect_error("  <axis name=\"a\" link=\"wan-*\" property=\"latency\" values=\"1ms soon\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'values': 'soon' does not start with a number");
  expect_error("  <axis name=\"a\" link=\"wan-*\" property=\"colour\" values=\"1ms\"/>\n" + seeds, "'colour' is not one of: latency, bandwidth");
  expect_error("  <axis name=\"a\" values=\"1\"/>\n" + seeds, "give exactly one of 'set'");
  expect_error("  <axis name=\"seed\" set=\"algorithm.eta\" values=\"1\"/>\n" + seeds, "'seed' is reserved");
  expect_error("  <axis name=\"a b\" set=\"algorithm.eta\" values=\"1\"/>\n" + seeds, "use only letters, digits");
  expect_error("  <axis name=\"a\" set=\"eta\" values=\"1\"/>\n" + seeds, "expected ELEMENT.ATTRIBUTE");
  expect_error("", "s.xml:2: missing required element <seeds>");
  expect_error("  <seeds from=\"5\" to=\"1\"/>\n", "s.xml:3: <seeds> attribute 'to': 1 is below from=5");
  expect_error("  <seeds values=\"1 x\"/>\n", "<seeds> attribute 'values'");
  expect_error("  <scenarios><scenario file=\"nowhere.xml\"/></scenarios>\n" + seeds, "s.xml:3: <scenario> attribute 'file': file");
  expect_error("  <fixed set=\"training.rounds\" value=\"20\"/>\n  <axis name=\"r\" set=\"training.rounds\" values=\"1 2\"/>\n" + seeds,
               "s.xml:3: 'training.rounds' is both fixed and an axis");
  // Algorithm attributes are checked against the registry where the study gives them.
  expect_error("  <axis name=\"eta\" set=\"algorithm.eta\" values=\"0.1 abc\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'values': algorithm.eta: 'abc' does not start with a number");
  expect_error("  <axis name=\"mu\" set=\"algorithm.mu\" values=\"0.5 1\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'values': algorithm.mu: 1 is out of range [0, 1)");
  expect_error("  <axis name=\"a\" set=\"algorithm.name\" values=\"ma sgd\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'values': algorithm.name: 'sgd' is not one of: ssgd, ma, bmuf, easgd");
  expect_error("  <axis name=\"a\" set=\"algorithm.etta\" values=\"1\"/>\n" + seeds,
               "s.xml:3: <axis> attribute 'values': algorithm.etta: no algorithm has an attribute 'etta' (known: name, eta");
  expect_error("  <fixed set=\"algorithm.tau\" value=\"0\"/>\n" + seeds,
               "s.xml:3: <fixed> attribute 'value': algorithm.tau: 0 is out of range [1, 1048576]");
  // The rest is checked against the base scenario before anything runs.
  expect_error("  <axis name=\"r\" set=\"training.rounds\" values=\"1 abc\"/>\n" + seeds,
               "s.xml:2: run r-abc_seed-1: " + scenario("wan/ssgd.xml") + ":");
  expect_error("  <axis name=\"x\" set=\"nothing.here\" values=\"1\"/>\n" + seeds, "there is no element <nothing>");
  expect_error("  <axis name=\"v\" set=\"algorithm.eta\" values=\"0.1 0.2\" labels=\"a/b a:b\"/>\n" + seeds,
               "two runs would share the id 'v-a-b_seed-1'");
  TempDir dir;
  write_text(dir / "bad.xml", "<study><seeds values=\"1\"/>");
  EXPECT_THROW(load_study(dir / "bad.xml"), dmlsim::ScenarioError);
  EXPECT_THROW(load_study(dir / "missing.xml"), dmlsim::ScenarioError);
}

TEST(StudyExpand, NoBaseScenarioOrTwo) {
  TempDir dir;
  write_text(dir / "n.xml", "<study>\n  <seeds values=\"1\"/>\n</study>\n");
  try {
    load_study(dir / "n.xml");
    ADD_FAILURE();
  } catch (const dmlsim::ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("n.xml:1: no base scenario"), std::string::npos) << e.what();
  }
}

TEST(StudyExpand, ShellCommandsAreSelfContainedAndQuoted) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  dmlsim::study::Run run;
  run.id = "x_seed-1";
  run.scenario = "/abs/s.xml";
  run.seed = 1;
  run.links = {"wan-*:latency=50ms"};
  const auto command = run_command_line("/abs/dmlsim", run, "/abs/res");
  EXPECT_EQ(command, "(mkdir -p '/abs/res/runs' && '/abs/dmlsim' run "
                     "'/abs/s.xml' --link 'wan-*:latency=50ms' --set 'scenario.seed=1' --out '/abs/res/runs/x_seed-1' -q "
                     "> '/abs/res/runs/.x_seed-1.log' 2>&1; rc=$?; mkdir -p '/abs/res/runs/x_seed-1' && "
                     "mv -f '/abs/res/runs/.x_seed-1.log' '/abs/res/runs/x_seed-1/run.log'; if [ $rc -ne 0 ]; then "
                     "echo \"exit code $rc\" > '/abs/res/runs/x_seed-1/error.txt'; tail -n 5 '/abs/res/runs/x_seed-1/run.log' "
                     ">> '/abs/res/runs/x_seed-1/error.txt'; fi; exit $rc)");
}

TEST(StudyExpand, CsvFieldsRoundTrip) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(split_csv_line("a,\"b,c\",\"d \"\"e\"\"\","), (std::vector<std::string>{"a", "b,c", "d \"e\"", ""}));
  EXPECT_EQ(sanitize("50ms"), "50ms");
  EXPECT_EQ(sanitize("a b/c*"), "a-b-c-");
}

TEST(StudyExpand, RunIdsLongerThanADirectoryNameAreRejectedBeforeWriting) {
  const std::string label(300, 'x');
  expect_error("  <axis name=\"eta\" set=\"algorithm.eta\" values=\"0.1\" labels=\"" + label + "\"/>\n  <seeds values=\"1\"/>\n",
               "characters, more than the 200 a run directory name may have");
}

TEST(StudyExpand, UnitlessLinkValuesAreRejected) {
  expect_error("  <axis name=\"lat\" link=\"wan-*\" property=\"latency\" values=\"10 50\"/>\n  <seeds values=\"1\"/>\n",
               "'10' has no unit: a time needs one, e.g. 50ms");
  expect_error("  <axis name=\"bw\" link=\"wan-*\" property=\"bandwidth\" values=\"0Bps\"/>\n  <seeds values=\"1\"/>\n",
               "a bandwidth must be positive");
  expect_error("  <axis name=\"lat\" link=\"wan-*\" property=\"latency\" values=\"0s\"/>\n  <seeds values=\"1\"/>\n",
               "a latency must be positive");
}
