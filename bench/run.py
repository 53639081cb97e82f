#!/usr/bin/python3
"""dmlsim benchmarks: run with `bench/run.py` from the repository root after building (./setup.sh).

Measures, side by side in one run, and writes bench/RESULTS.md:
  (a) compute limit: the simulator against the same training arithmetic in a plain loop without
      SimGrid (`dmlsim baseline`), on the Fashion-MNIST MLP (SSGD and MA);
  (b) engine limit: the simulator against a bare SimGrid run that sends the same messages and
      executes the same FLOPs with no training (`dmlsim run --bare`), at every worker count of (c);
  (c) wall time and peak memory for 16, 64, 256, 1024 and 4096 workers of SSGD and MA, with the
      fitted growth exponent (least squares on log wall time against log workers) of both;
and checks that 4096 workers × 100 rounds complete.
With --topologies it measures only (d): the engine cost of each topology (parameter-server, tree,
hierarchical, ring-allreduce) against the number of workers, bare SimGrid and simulator, with the
fitted exponents, and replaces that section of RESULTS.md (the other sections are kept).

Every comparison is a ratio of runs made in the same invocation, interleaved, median of --repeat.
Scaling runs use a synthetic logistic-regression data set (8192 rows × 10 features, written by
this script) so that training arithmetic is negligible and the comparison isolates the engine.
Options: --quick (fewer rounds/sizes, for CI smoke tests), --repeat N, --out FILE, --topologies.
"""
import argparse
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DMLSIM = os.path.join(ROOT, "build", "dmlsim")
FMNIST = "/usr/share/datasets/fashion-mnist"


def run(args, measure_memory=False):
    """Runs dmlsim with args; returns (stdout, peak RSS in MiB or None)."""
    cmd = [DMLSIM] + args
    if measure_memory:
        cmd = ["/usr/bin/time", "-f", "PEAK_KB %M"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    peak = None
    if measure_memory:
        match = re.search(r"PEAK_KB (\d+)", proc.stderr)
        peak = int(match.group(1)) / 1024 if match else None
    return proc.stdout, peak


def sim_wall(outdir):
    with open(os.path.join(outdir, "summary.json")) as f:
        return json.load(f)["result"]["wall_time"]


def simulate(scenario, sets, outdir, bare=False, memory=False):
    args = ["run", scenario, "-q", "--out", outdir] + [a for s in sets for a in ("--set", s)]
    if bare:
        args.append("--bare")
    _, peak = run(args, memory)
    return sim_wall(outdir), peak


def baseline(scenario, sets):
    out, _ = run(["baseline", scenario] + [a for s in sets for a in ("--set", s)])
    return json.loads(out)["wall_time"]


def write_synthetic(directory, rows=8192, features=10):
    rng = random.Random(1)
    path = os.path.join(directory, "synthetic.csv")
    true_w = [rng.uniform(-1, 1) for _ in range(features)]
    with open(path, "w") as f:
        f.write(",".join(f"x{i}" for i in range(features)) + ",y\n")
        for _ in range(rows):
            x = [rng.gauss(0, 1) for _ in range(features)]
            y = 1 if sum(a * b for a, b in zip(x, true_w)) > 0 else 0
            f.write(",".join(f"{v:.6f}" for v in x) + f",{y}\n")
    scenario = os.path.join(directory, "scaling.xml")
    with open(scenario, "w") as f:
        f.write(f"""<?xml version="1.0"?>
<scenario name="bench-scaling" seed="1">
  <platform file="{ROOT}/platforms/lan.xml"/>
  <data file="{path}" label="y" test-fraction="0.25"/>
  <workers count="16" placement="pattern" pattern="node-*" partition="shuffled"/>
  <server host="node-0"/>
  <algorithm name="ssgd" eta="0.1" local-steps="5"/>
  <batch rule="fixed" size="1"/>
  <training rounds="10" eval-every="10"/>
</scenario>
""")
    return scenario


def fit_exponent(xs, ys):
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


TOPOLOGY_MARK = "<!-- (d) topologies: bench/run.py --topologies -->"


def topology_section(args, tmp):
    """(d): wall time of the synthetic scenario's bare and real runs for every topology."""
    scenario = write_synthetic(tmp)
    big = [16, 64] if args.quick else [16, 64, 256, 1024, 4096]
    # A ring round is 2K(K-1) messages: its sizes stop where one run takes tens of seconds.
    ring = [16, 32] if args.quick else [16, 32, 64, 128, 256]
    geo = [f"platform.file={ROOT}/platforms/wan-geo.xml", "workers.placement=zones", "server.host=us-east-0"]
    cases = [("parameter-server", big, []), ("tree", big, []), ("hierarchical", big, geo), ("ring-allreduce", ring, [])]
    lines = [TOPOLOGY_MARK, "\n## (d) Engine cost of each topology\n",
             f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. Command: `bench/run.py --topologies"
             f"{' --quick' if args.quick else ''}` (median of {args.repeat} interleaved runs). The synthetic scenario of "
             "(b, c), 10 rounds of SSGD, LAN platform (hierarchical: the geo platform, workers round-robin over its three "
             "datacenters). Messages per round: parameter-server 2K, tree 2(K−1), hierarchical 2(K−3) + 12 "
             "(ring of 3 leaders), ring-allreduce 2K(K−1).\n",
             "| topology | workers | bare SimGrid wall (s) | simulator wall (s) | ratio | bare µs per message |",
             "|---|---|---|---|---|---|"]
    exponents, loads = [], [os.getloadavg()[0]]
    for kind, sizes, extra in cases:
        walls, bare_walls = [], []
        for n in sizes:
            sets = [f"topology.kind={kind}", f"workers.count={n}"] + extra
            sim, bare = [], []
            for r in range(args.repeat):
                sim.append(simulate(scenario, sets, os.path.join(tmp, f"d-{kind}-{n}-{r}"))[0])
                bare.append(simulate(scenario, sets, os.path.join(tmp, f"db-{kind}-{n}-{r}"), bare=True)[0])
            walls.append(statistics.median(sim))
            bare_walls.append(statistics.median(bare))
            with open(os.path.join(tmp, f"db-{kind}-{n}-0", "summary.json")) as f:
                messages = json.load(f)["result"]["messages_sent"]
            lines.append(f"| {kind} | {n} | {bare_walls[-1]:.3f} | {walls[-1]:.3f} | {walls[-1] / bare_walls[-1]:.2f} | "
                         f"{1e6 * bare_walls[-1] / messages:.1f} |")
        exponents.append((kind, sizes, fit_exponent(sizes, walls), fit_exponent(sizes, bare_walls)))
        loads.append(os.getloadavg()[0])
    lines += [f"\nLoad average (1 min) on the machine during the runs: {min(loads):.1f} to {max(loads):.1f} "
              f"({os.cpu_count()} cores): absolute times are slower when other jobs share it; the exponents and "
              "the per-message costs are what to compare.",
              "\nFitted growth exponent of wall time against workers (wall ∝ workers^e):\n",
              "| topology | workers | simulator e | bare SimGrid e |", "|---|---|---|---|"]
    lines += [f"| {k} | {s[0]}–{s[-1]} | {e:.2f} | {b:.2f} |" for k, s, e, b in exponents]
    lines.append("\nA ring round sends about K times the messages of the others, hence its exponent; the cost per "
                 "message says what the engine pays for each. Ratios of runs lasting a few milliseconds are noise.")
    return "\n".join(lines) + "\n"


def write_topology_section(path, section):
    """Replaces (or appends) the (d) section of an existing RESULTS.md."""
    text = open(path).read() if os.path.exists(path) else "# dmlsim benchmark results\n"
    if TOPOLOGY_MARK in text:
        text = text[:text.index(TOPOLOGY_MARK)].rstrip("\n") + "\n"
    text = text.rstrip("\n") + "\n\n" + section
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    parser.add_argument("--topologies", action="store_true", help="measure only (d), the topologies")
    args = parser.parse_args(argv)
    if not os.path.exists(DMLSIM):
        sys.exit("bench: build/dmlsim not found: run ./setup.sh first")
    tmp = tempfile.mkdtemp(prefix="dmlsim-bench-")
    if args.topologies:
        section = topology_section(args, tmp)
        write_topology_section(args.out, section)
        print(section)
        return 0
    lines = [f"# dmlsim benchmark results\n", f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}.",
             f"Command: `bench/run.py{' --quick' if args.quick else ''}` (median of {args.repeat} interleaved runs).\n"]

    # (a) compute limit on the Fashion-MNIST MLP
    rounds = 20 if args.quick else 100
    lines += ["## (a) Simulator vs the bare training loop (Fashion-MNIST MLP 784-128-10, 8 workers)\n",
              "| algorithm | rounds | bare loop (s) | simulator (s) | ratio | target |", "|---|---|---|---|---|---|"]
    if os.path.exists(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")):
        for algorithm in ("ssgd", "ma"):
            scenario = os.path.join(ROOT, "scenarios", "fmnist", f"lan-{algorithm}.xml")
            sets = [f"training.rounds={rounds}"]
            loop, sim = [], []
            for r in range(args.repeat):
                loop.append(baseline(scenario, sets))
                sim.append(simulate(scenario, sets, os.path.join(tmp, f"a-{algorithm}-{r}"))[0])
            ratio = statistics.median(sim) / statistics.median(loop)
            lines.append(f"| {algorithm} | {rounds} | {statistics.median(loop):.3f} | {statistics.median(sim):.3f} | "
                         f"{ratio:.3f} | ≤ 1.10 {'met' if ratio <= 1.10 else 'MISSED'} |")
    else:
        lines.append("| (skipped: Debian package dataset-fashion-mnist not installed) | | | | | |")

    # (b) + (c) engine limit and scaling on the synthetic set
    scenario = write_synthetic(tmp)
    sizes = [16, 64, 256] if args.quick else [16, 64, 256, 1024, 4096]
    scaling_rounds = 5 if args.quick else 10
    lines += ["\n## (b, c) Simulator vs bare SimGrid, and scaling with the number of workers\n",
              f"Synthetic logistic regression (8192 rows, 11 parameters, batch 1): the training arithmetic is "
              f"negligible, so these numbers are the simulation engine's. {scaling_rounds} rounds, LAN platform, "
              "workers round-robin over 71 hosts. Bare = same messages and FLOPs, no training (`dmlsim run --bare`).\n",
              "| algorithm | workers | bare SimGrid wall (s) | simulator wall (s) | ratio (target ≤ 1.25) | "
              "bare peak MiB | simulator peak MiB |", "|---|---|---|---|---|---|---|"]
    exponents = []
    for algorithm in ("ssgd", "ma"):
        walls, bare_walls = [], []
        for n in sizes:
            sets = [f"algorithm.name={algorithm}", f"workers.count={n}", f"training.rounds={scaling_rounds}"]
            sim, bare, sim_peak, bare_peak = [], [], 0, 0
            for r in range(args.repeat):
                w, p = simulate(scenario, sets, os.path.join(tmp, f"c-{algorithm}-{n}-{r}"), memory=True)
                b, bp = simulate(scenario, sets, os.path.join(tmp, f"b-{algorithm}-{n}-{r}"), bare=True, memory=True)
                sim.append(w)
                bare.append(b)
                sim_peak, bare_peak = max(sim_peak, p or 0), max(bare_peak, bp or 0)
            walls.append(statistics.median(sim))
            bare_walls.append(statistics.median(bare))
            ratio = walls[-1] / bare_walls[-1]
            lines.append(f"| {algorithm} | {n} | {bare_walls[-1]:.3f} | {walls[-1]:.3f} | {ratio:.2f} "
                         f"{'met' if ratio <= 1.25 else 'MISSED'} | {bare_peak:.0f} | {sim_peak:.0f} |")
        exponents.append((algorithm, fit_exponent(sizes, walls), fit_exponent(sizes, bare_walls)))
    lines += ["\nFitted growth exponent of wall time against workers (wall ∝ workers^e):\n",
              "| algorithm | simulator e | bare SimGrid e |", "|---|---|---|"]
    lines += [f"| {a} | {e:.2f} | {b:.2f} |" for a, e, b in exponents]

    if not args.quick:
        sets = ["workers.count=4096", "training.rounds=100", "training.eval-every=100"]
        start = time.time()
        _, peak = simulate(scenario, sets, os.path.join(tmp, "big"), memory=True)
        lines.append(f"\n4096 workers × 100 rounds of SSGD: completed in {time.time() - start:.1f} s wall, "
                     f"peak {peak:.0f} MiB.")
    lines.append("\nWhere a ratio misses at 16–64 workers, the whole run lasts a few milliseconds and the "
                 "difference is the simulator's evaluations of the model on the test and training rows (rounds 0 "
                 "and 10), which the bare run skips; from 256 workers on, the engine dominates. Peak memory: the "
                 "bare run holds the same data set and SimGrid's actors, so simulator peak / bare peak bounds "
                 "dmlsim's own per-worker state (target ≤ 1.3).")
    lines.append("\nThe parameter server is a star: every round K uploads converge on the server's link, and "
                 "SimGrid's cost of sharing one link among K flows grows faster than linearly in K; a tree or "
                 "ring aggregation pattern would change that (not implemented yet).")
    text = "\n".join(lines) + "\n"
    with open(args.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(args.out + ".tmp", args.out)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
