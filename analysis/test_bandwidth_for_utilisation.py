#!/usr/bin/python3
"""Test of bandwidth_for_utilisation.py on a hand-made table: the smallest swept bandwidth at or
above each threshold, "> largest" when none is, rows in first-seen order, unsorted input."""
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).with_name("bandwidth_for_utilisation.py")
CSV = """model,method,wan-bandwidth,utilisation_mean,curve
1B,dp,10,0.6,raw
1B,dp,1,0.2,raw
1B,dp,100,0.85,raw
1B,diloco,1,0.95,raw
1B,diloco,10,0.995,raw
"""
EXPECTED = """| model | method | 50 % | 90 % | 99 % |
|---|---|---:|---:|---:|
| 1B | dp | 10 Gbit/s | > 100 Gbit/s | > 100 Gbit/s |
| 1B | diloco | 1 Gbit/s | 1 Gbit/s | 10 Gbit/s |
"""

out = subprocess.run([sys.executable, str(SCRIPT), "--thresholds", "50,90,99"], input=CSV, capture_output=True,
                     text=True, check=True).stdout
if out != EXPECTED:
    sys.exit(f"unexpected output:\n{out}\nexpected:\n{EXPECTED}")
bad = subprocess.run([sys.executable, str(SCRIPT)], input="model,method\n1B,dp\n", capture_output=True, text=True)
if bad.returncode == 0 or "utilisation" not in bad.stderr:
    sys.exit(f"a table without utilisation must fail: {bad.returncode} {bad.stderr}")
print("ok")
