#!/usr/bin/python3
"""Tests for plot_run.py.  Run from /work/main with either
    /usr/bin/python3 -m unittest analysis/test_plot_run.py
    /usr/bin/python3 analysis/test_plot_run.py
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_run  # noqa: E402

CSV = """round,sim_time,test_accuracy,test_loss,train_loss,bytes_sent,messages_sent
0,0.0,0.10,2.30,2.31,0,0
1,1.5,0.50,1.20,1.25,4096,8
2,3.0,0.70,0.80,0.85,8192,16
"""


class EwmaTest(unittest.TestCase):
    def test_hand_computed(self):
        got = plot_run.ewma([0.1, 0.5, 0.7], 0.9)
        # s0 = 0.1; s1 = 0.9*0.1 + 0.1*0.5 = 0.14; s2 = 0.9*0.14 + 0.1*0.7 = 0.196
        for g, want in zip(got, [0.1, 0.14, 0.196]):
            self.assertAlmostEqual(g, want)
        self.assertEqual(plot_run.ewma([1.0, 3.0], 0.5), [1.0, 2.0])
        self.assertEqual(plot_run.ewma([], 0.9), [])


class MainTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.run = os.path.join(self.tmp.name, "run1")
        os.mkdir(self.run)

    def tearDown(self):
        self.tmp.cleanup()

    def main(self, *argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            code = plot_run.main(list(argv))
        return code, err.getvalue()

    def test_writes_png(self):
        with open(os.path.join(self.run, "rounds.csv"), "w") as f:
            f.write(CSV)
        with open(os.path.join(self.run, "summary.json"), "w") as f:
            json.dump({"scenario_name": "tiny", "algorithm": {"name": "fedavg"},
                       "network": {"model": "CM02"}}, f)
        code, err = self.main(self.run)
        self.assertEqual(code, 0, err)
        png = os.path.join(self.run, "accuracy.png")
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertEqual(sorted(os.listdir(self.run)),
                         ["accuracy.png", "rounds.csv", "summary.json"])
        # Readable like any file the user writes (the umask decides), not mkstemp's 0600.
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(os.stat(png).st_mode & 0o777, 0o666 & ~umask)

    def test_missing_rounds_csv(self):
        code, err = self.main(self.run)
        self.assertEqual(code, 2)
        self.assertIn("rounds.csv", err)
        self.assertEqual(os.listdir(self.run), [])


if __name__ == "__main__":
    unittest.main()
