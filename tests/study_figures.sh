#!/usr/bin/env bash
# A small real study, end to end: sweep, table, and the three figures of analysis/plot_study.py.
# Usage: study_figures.sh DMLSIM SOURCE_DIR
set -euo pipefail
dmlsim=$1
cd "$2"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$dmlsim" sweep scenarios/studies/ci-small.xml -j 2 -o "$out/results"
"$dmlsim" table "$out/results" -t 0.9 -b algorithm=ssgd | tee "$out/table.md"
grep -q '| ma | 50 |' "$out/table.md"
/usr/bin/python3 analysis/plot_study.py "$out/results" --target 0.9 -o "$out/figures"
for figure in accuracy_vs_time tta_vs_latency time_breakdown; do
  head -c 8 "$out/figures/$figure.png" | od -An -c | grep -q 'P   N   G' || { echo "missing $figure.png"; exit 1; }
done
echo "study figures: ok"
