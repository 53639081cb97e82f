#!/usr/bin/python3
"""Compares network profiles with measured cells of the real-TCP harness (tests/netfidelity,
contract in its CONTRACT.md): for every cell JSON under the given directories, simulate the same
loop (flows, warm-up and measured rounds) with `dmlsim calibrate simulate` under each profile and
print a Markdown table of real median, simulated medians and errors, then per-profile summaries.

usage: tcp_model_validation.py DMLSIM OUT.md LABEL=PROFILE[,LABEL=PROFILE...] DIR [DIR...]
A profile is a name or file as `calibrate simulate --profile` takes it; cells flagged for emulator
drops are skipped. Each error is (simulated - real) / real of the round's median.
"""
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile


def simulate(dmlsim, profile, cell, workdir):
    out = pathlib.Path(workdir) / "sim.json"
    subprocess.run([dmlsim, "calibrate", "simulate", "--profile", profile, "--latency", f"{cell['latency']!r}s",
                    "--bandwidth", f"{cell['bandwidth']!r}Bps", "--sizes", str(int(cell["bytes"])), "--gap",
                    f"{cell['gap']!r}s", "--flows", str(cell["flows"]), "--warmup", str(cell["warmup"]),
                    "--rounds", str(len(cell["rounds"])), "--json", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())["median"][0]


def group(cell):
    """The part of the grid a cell belongs to, for the summaries."""
    if cell["flows"] > 1:
        return "contention"
    return f"{cell['bandwidth'] * 8e-6:g} Mbit/s, 1 flow"


def summary(errors):
    a = [abs(e) for e in errors]
    return (f"{len(a)} cells: {100 * sum(x <= 0.05 for x in a) / len(a):.0f} % within 5 %, "
            f"{100 * sum(x <= 0.10 for x in a) / len(a):.0f} % within 10 %, median |error| "
            f"{100 * statistics.median(a):.1f} %, worst {100 * max(a):.0f} %")


def main():
    dmlsim, out_file, dirs = sys.argv[1], sys.argv[2], sys.argv[4:]
    labelled = [item.split("=", 1) if "=" in item else (item, item) for item in sys.argv[3].split(",")]
    profiles = [label for label, _ in labelled]
    files = dict(labelled)
    cells = []
    for d in dirs:
        for f in sorted(pathlib.Path(d).glob("*.json")):
            cell = json.loads(f.read_text())
            if not cell.get("flagged"):
                cells.append(cell)
    errors = {p: {} for p in profiles}
    lines = ["| set | cell | real median (IQR), s | " + " | ".join(f"{p}, s (error)" for p in profiles) + " |",
             "|---|---|---|" + "---|" * len(profiles)]
    with tempfile.TemporaryDirectory() as work:
        for cell in cells:
            row = f"| {cell['set']} | {cell['id']} | {cell['median']:.4f} ({cell['iqr']:.4f}) |"
            for p in profiles:
                sim = simulate(dmlsim, files[p], cell, work)
                err = (sim - cell["median"]) / cell["median"]
                errors[p].setdefault(cell["set"], []).append(err)
                if cell["set"] != "fit":
                    errors[p].setdefault(f"{cell['set']}: {group(cell)}", []).append(err)
                row += f" {sim:.4f} ({100 * err:+.1f} %) |"
            lines.append(row)
            print(row, flush=True)
    lines.append("")
    for p in profiles:
        for s, errs in sorted(errors[p].items()):
            lines.append(f"- {p}, {s}: {summary(errs)}")
        allerrs = [e for key, errs in errors[p].items() if ":" not in key for e in errs]
        lines.append(f"- {p}, all: {summary(allerrs)}")
    pathlib.Path(out_file).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-3 * len(profiles):]))


if __name__ == "__main__":
    main()
