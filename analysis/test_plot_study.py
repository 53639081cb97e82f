#!/usr/bin/python3
"""Tests for study_results.py and plot_study.py, on hand-made results directories.
Run from any directory with
    /usr/bin/python3 analysis/test_plot_study.py
"""
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_study  # noqa: E402
import study_results as sr  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ["accuracy_vs_time.png", "time_breakdown.png", "tta_vs_latency.png"]
LATENCY = {"name": "wan-latency", "kind": "link", "pattern": "wan-*", "property": "latency",
           "values": ["1ms", "10ms"], "numeric_values": [0.001, 0.01]}
ALGORITHM = {"name": "algorithm", "kind": "scenario", "values": ["ssgd", "ma"]}


def reach_round(algo, seed, latency):
    """Round at which a run of the fixture first reaches accuracy 0.96 (None: never)."""
    if (algo, seed, latency) == ("ma", 3, "10ms"):
        return None
    return seed + (2 if algo == "ssgd" else 1)


def write_run(run_dir, algo, seed, dt, reach, summary=True):
    """9 rounds, one every dt simulated seconds; accuracy 0.5, then 0.96 from round reach."""
    os.makedirs(run_dir)
    lines = ["round,sim_time,test_accuracy,test_loss,train_loss,bytes_sent,messages_sent"]
    for r in range(9):
        acc = 0.9 if reach is None else (0.96 if r >= reach else 0.5)
        lines.append(f"{r},{r * dt},{acc},0.5,0.5,{r * 100},{r * 8}")
    with open(os.path.join(run_dir, "rounds.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if summary:
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            json.dump({"scenario_name": f"t-{algo}", "seed": seed, "algorithm": {"name": algo},
                       "network": {"model": "CM02"},
                       "result": {"final_accuracy": 0.96, "sim_time": 8 * dt, "rounds": 8},
                       "time_breakdown": {"mean_compute_time": 1.0, "mean_comm_time": 2.0 + seed,
                                          "mean_wait_time": 0.5, "comm_compute_ratio": 2.0 + seed,
                                          "workers": []}}, f)


def make_study(root, latency=True, missing=("ssgd-10ms-s3",), seeds=(1, 2, 3)):
    """ssgd and ma x (1ms, 10ms if latency) x seeds; a round takes 10 x latency."""
    axes = [ALGORITHM] + ([LATENCY] if latency else [])
    os.makedirs(root)
    rows = ["run_id,algorithm" + (",wan-latency" if latency else "") + ",seed,run_dir"]
    for algo in ALGORITHM["values"]:
        for lat in (LATENCY["values"] if latency else ["1ms"]):
            for seed in seeds:
                run_id = f"{algo}-{lat}-s{seed}" if latency else f"{algo}-s{seed}"
                rows.append(f"{run_id},{algo}" + (f",{lat}" if latency else "")
                            + f",{seed},runs/{run_id}")
                dt = 10 * float(lat[:-2]) / 1000
                write_run(os.path.join(root, "runs", run_id), algo, seed, dt,
                          reach_round(algo, seed, lat), summary=run_id not in missing)
    with open(os.path.join(root, "manifest.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(root, "study.json"), "w") as f:
        json.dump({"name": "fixture", "study_file": "studies/fixture.xml", "axes": axes,
                   "seeds": list(seeds)}, f)
    return root


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "study")

    def tearDown(self):
        self.tmp.cleanup()


class TimeToAccuracyTest(unittest.TestCase):
    curve = pd.DataFrame({"sim_time": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
                          "test_accuracy": [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]})

    def test_raw_first_evaluation_at_or_above(self):
        self.assertEqual(sr.time_to_accuracy(self.curve, 0.95), 1.0)
        self.assertEqual(sr.time_to_accuracy(self.curve, 1.0), 1.0)  # equality counts
        self.assertEqual(sr.time_to_accuracy(self.curve, 0.0), 0.0)  # round 0 counts
        self.assertIsNone(sr.time_to_accuracy(self.curve, 1.01))

    def test_breakdown_up_to_the_target(self):
        curve = self.curve.assign(mean_compute_time=[0.0, 0.25, 0.5, 0.75, 1.0, 1.25],
                                  mean_comm_time=[0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
        self.assertEqual(sr.breakdown_to_target(curve, 0.95), (0.25, 0.5, 0.25))
        self.assertEqual(sr.breakdown_to_target(curve, 0.95, alpha=0.5), (1.25, 2.5, 1.25))
        self.assertIsNone(sr.breakdown_to_target(curve, 1.01))
        self.assertIsNone(sr.breakdown_to_target(self.curve, 0.95))  # rounds.csv without the columns

    def test_ewma(self):
        # alpha 0.5: 0, 0.5, 0.75, 0.875, 0.9375, 0.96875
        self.assertEqual(sr.time_to_accuracy(self.curve, 0.75, alpha=0.5), 2.0)
        self.assertEqual(sr.time_to_accuracy(self.curve, 0.95, alpha=0.5), 5.0)
        self.assertIsNone(sr.time_to_accuracy(self.curve, 0.97, alpha=0.5))

    def test_parse_smoothing(self):
        self.assertIsNone(sr.parse_smoothing("raw"))
        self.assertEqual(sr.parse_smoothing("ewma"), 0.9)
        self.assertEqual(sr.parse_smoothing("ewma:0.8"), 0.8)
        for bad in ("ewma:1", "ewma:x", "smooth"):
            with self.assertRaises(ValueError):
                sr.parse_smoothing(bad)


class StudyResultsTest(TempDirTest):
    def test_load(self):
        study = sr.load_study(make_study(self.dir))
        runs = study.runs
        self.assertEqual(len(runs), 12)
        self.assertEqual(list(runs.columns[:5]),
                         ["run_id", "algorithm", "wan-latency", "seed", "run_dir"])
        self.assertEqual(study.missing, ["ssgd-10ms-s3"])
        self.assertEqual(runs["finished"].sum(), 11)
        self.assertEqual(runs.set_index("run_id").at["ma-1ms-s2", "comm_time"], 4.0)
        self.assertEqual(list(runs["wan-latency"].cat.categories), ["1ms", "10ms"])
        self.assertEqual(study.rounds("ma-1ms-s2")["test_accuracy"].iloc[3], 0.96)

    def test_axis_in_a_zip_may_repeat_values(self):
        make_study(self.dir)
        path = os.path.join(self.dir, "study.json")
        with open(path) as f:
            meta = json.load(f)
        axis = next(a for a in meta["axes"] if a["name"] == "wan-latency")
        axis["values"] = axis["values"] + axis["values"][:1]  # e.g. "ring ring star" in a zip
        with open(path, "w") as f:
            json.dump(meta, f)
        runs = sr.load_study(self.dir).runs
        self.assertEqual(list(runs["wan-latency"].cat.categories), ["1ms", "10ms"])

    def test_stats(self):
        runs = sr.add_tta(sr.load_study(make_study(self.dir)), 0.95)
        stats = sr.tta_stats(runs, ["algorithm", "wan-latency"]).set_index(
            ["algorithm", "wan-latency"])
        want = {  # total, finished, reached, median, min, max
            ("ssgd", "1ms"): (3, 3, 3, 0.04, 0.03, 0.05),
            ("ssgd", "10ms"): (3, 2, 2, 0.35, 0.3, 0.4),   # one run missing
            ("ma", "1ms"): (3, 3, 3, 0.03, 0.02, 0.04),
            ("ma", "10ms"): (3, 3, 2, 0.25, 0.2, 0.3),     # seed 3 never reaches
        }
        self.assertEqual(list(stats.index), list(want))  # study order
        for key, (total, finished, reached, med, lo, hi) in want.items():
            row = stats.loc[key]
            self.assertEqual((row["total"], row["finished"], row["reached"]),
                             (total, finished, reached), key)
            for col, value in (("median", med), ("min", lo), ("max", hi)):
                self.assertAlmostEqual(row[col], value, msg=f"{key} {col}")

    def test_stats_with_ewma_and_nothing_reached(self):
        runs = sr.add_tta(sr.load_study(make_study(self.dir)), 0.95, alpha=0.5)
        # step 0.5 -> 0.96 from round R: EWMA 0.73, 0.845, 0.9025, 0.93125, 0.945625, 0.9528...
        self.assertAlmostEqual(runs.set_index("run_id").at["ssgd-1ms-s1", "tta"], 0.08)
        stats = sr.tta_stats(runs.assign(tta=float("nan")), ["algorithm"])
        self.assertEqual(list(stats["reached"]), [0, 0])
        self.assertTrue(stats["median"].isna().all())

    def test_series_axes(self):
        study = sr.load_study(make_study(self.dir))
        self.assertEqual(sr.series_axes(study, "wan-latency"), [])  # algorithm is 1:1
        self.assertEqual(sr.series_axes(study), ["wan-latency"])

    def test_header_mismatch(self):
        make_study(self.dir)
        with open(os.path.join(self.dir, "manifest.csv"), "w") as f:
            f.write("run_id,seed,run_dir\n")
        with self.assertRaisesRegex(sr.StudyError, "manifest.csv: header"):
            sr.load_study(self.dir)


class PlotStudyTest(TempDirTest):
    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = plot_study.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def assert_figures(self, outdir):
        self.assertEqual(sorted(os.listdir(outdir)), FIGURES)
        for name in FIGURES:
            with open(os.path.join(outdir, name), "rb") as f:
                self.assertEqual(f.read(8), PNG, name)

    def test_latency_study(self):
        code, out, err = self.main(make_study(self.dir), "--smooth", "ewma:0.5")
        self.assertEqual(code, 0, err)
        outdir = os.path.join(self.dir, "figures")
        self.assert_figures(outdir)
        self.assertEqual(out.split(), [os.path.join(outdir, n) for n in
                                       ("accuracy_vs_time.png", "tta_vs_latency.png",
                                        "time_breakdown.png")])
        self.assertIn("ssgd-10ms-s3", err)
        self.assertIn("1 of 12 runs", err)

    def test_study_without_latency_axis(self):
        outdir = os.path.join(self.tmp.name, "out")
        code, _, err = self.main(make_study(self.dir, latency=False, missing=()), "-o", outdir)
        self.assertEqual(code, 0, err)
        self.assert_figures(outdir)

    def test_single_seed_and_extra_axis(self):
        make_study(self.dir, seeds=(1,), missing=())
        runs, series = plot_study.add_series(sr.load_study(self.dir),
                                             sr.load_study(self.dir).runs, None)
        self.assertEqual(series, ["ssgd, wan-latency=1ms", "ssgd, wan-latency=10ms",
                                  "ma, wan-latency=1ms", "ma, wan-latency=10ms"])
        self.assertEqual(list(runs.drop_duplicates("series")["style"]), ["-", "--", "-", "--"])
        self.assertEqual(set(runs.loc[runs["algo"] == "ma", "colour"]), {"C1"})
        code, _, err = self.main(self.dir, "--target", "0.99")  # nothing reaches 0.99
        self.assertEqual(code, 0, err)
        self.assert_figures(os.path.join(self.dir, "figures"))

    def test_missing_manifest(self):
        make_study(self.dir)
        os.remove(os.path.join(self.dir, "manifest.csv"))
        code, out, err = self.main(self.dir)
        self.assertEqual(code, 2)
        self.assertIn("manifest.csv", err)
        self.assertEqual(out, "")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "figures")))

    def test_no_finished_run(self):
        make_study(self.dir)
        for run in os.listdir(os.path.join(self.dir, "runs")):
            shutil.rmtree(os.path.join(self.dir, "runs", run))
        code, _, err = self.main(self.dir)
        self.assertEqual(code, 2)
        self.assertIn("no finished run", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "figures")))

    def test_only_one_axis_value(self):
        make_study(self.dir, missing=())
        outdir = os.path.join(self.tmp.name, "ma")
        code, _, err = self.main(self.dir, "--only", "algorithm=ma", "-o", outdir)
        self.assertEqual(code, 0, err)
        self.assert_figures(outdir)

    def test_bad_arguments(self):
        make_study(self.dir)
        for argv in (["--latency-axis", "nope"], ["--latency-axis", "algorithm"],
                     ["--smooth", "ewma:2"], ["--target", "0"], ["--only", "algorithm=nope"],
                     ["--only", "nope=ma"]):
            code, _, err = self.main(self.dir, *argv)
            self.assertEqual(code, 2, argv)
            self.assertTrue(err.startswith("plot_study: "), err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "figures")))


if __name__ == "__main__":
    unittest.main()
