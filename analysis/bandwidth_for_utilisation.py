#!/usr/bin/python3
"""Bandwidth needed for a compute utilisation: reads the CSV of

    dmlsim table RESULTS --by model,method,wan-bandwidth --utilisation --format csv

(wan-bandwidth labels in Gbit/s) on stdin and prints, per model and method, the smallest swept
bandwidth whose mean utilisation reaches each threshold ("> the largest swept" when none does), as a Markdown
table. Only the grid the study swept: no interpolation.

    usage: ... | /usr/bin/python3 analysis/bandwidth_for_utilisation.py [--thresholds 50,80,90,95,99]
"""
import argparse
import csv
import sys


def needed(rows, thresholds):
    """{(model, method): [bandwidth or None per threshold]} in first-seen order."""
    grid = {}
    for row in rows:
        if not row.get("utilisation_mean"):
            continue
        key = (row["model"], row["method"])
        grid.setdefault(key, []).append((float(row["wan-bandwidth"]), float(row["utilisation_mean"])))
    result = {}
    for key, points in grid.items():
        points.sort()
        result[key] = ([next((bw for bw, u in points if 100 * u >= t), None) for t in thresholds], points[-1][0])
    return result


def markdown(result, thresholds):
    lines = ["| model | method | " + " | ".join(f"{t:g} %" for t in thresholds) + " |",
             "|---|---|" + "---:|" * len(thresholds)]
    for (model, method), (values, largest) in result.items():
        cells = [f"{v:g} Gbit/s" if v is not None else f"> {largest:g} Gbit/s" for v in values]
        lines.append(f"| {model} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="50,80,90,95,99", help="utilisation thresholds in %%")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    rows = list(csv.DictReader(sys.stdin))
    for column in ("model", "method", "wan-bandwidth", "utilisation_mean"):
        if rows and column not in rows[0]:
            sys.exit(f"bandwidth_for_utilisation: the table has no column '{column}' "
                     "(use --by model,method,wan-bandwidth --utilisation --format csv)")
    print(markdown(needed(rows, thresholds), thresholds))


if __name__ == "__main__":
    main()
