#!/usr/bin/python3
"""dmlsim benchmarks: run with `bench/run.py` from the repository root after building (./setup.sh).

Measures, and prints as Markdown (rewrites bench/RESULTS.md only with --write):
  (a) compute limit: the simulator against the same training arithmetic in a plain loop without
      SimGrid (`dmlsim baseline`), on the Fashion-MNIST MLP (SSGD and MA);
  (b) engine limit: the simulator against a bare SimGrid run that sends the same messages, through
      the same messaging pattern (the parameter-server topology's, the fastest this project has on
      SimGrid 3.32), and executes the same FLOPs with no training (`dmlsim run --bare`);
  (c) CPU time, wall time and peak memory against the number of workers, with the fitted growth
      exponent (least squares on log CPU time against log workers, from 1024 workers up);
  (e) with --large: the scale targets, 16,384 workers x 100 rounds (CPU time) and 65,536 workers x
      10 rounds (peak memory), and the memory targets on Fashion-MNIST: the loading peak
      (`dmlsim validate`, which loads the data and builds the run without simulating) against the
      stored float32 data, and the MLP's peak at 1024 and 4096 workers (one round) against data +
      workers x model.
With --topologies it measures only (d): the engine cost of each topology (parameter-server, tree,
hierarchical, ring-allreduce) against the number of workers, bare SimGrid and simulator, beside the
loading alone (`dmlsim validate`: the CSV and the run's set-up, about a quarter second that every
run pays), with the exponents fitted on simulation time (run minus load) over the sizes where it is
measurable; ring-allreduce runs from 512 workers are one round, run once (a ring round is 2K(K-1)
messages), to 2048 workers, and to 4096 with --large; with --write it replaces that section of
RESULTS.md (the other sections are kept).

Compared runs are interleaved pairs (A, B, A, B, ...); every figure is the median of --repeat
pairs (at least 3) with its range. Times are CPU time (user + system, from the kernel's rusage of
the child), which a shared machine's load barely moves; wall time is given beside it.
Scaling runs use a synthetic logistic-regression data set (131,072 rows x 10 features, written by
this script) so that training arithmetic is negligible and the comparison isolates the engine.
Options: --quick (fewer rounds/sizes, for CI smoke tests), --large, --topologies, --repeat N, --write,
--out FILE.
"""
import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DMLSIM = os.path.join(ROOT, "build", "dmlsim")
FMNIST = "/usr/share/datasets/fashion-mnist"


class Sample:
    """One run: CPU seconds (user + system), wall seconds, peak RSS in MiB, stdout."""

    def __init__(self, cpu, wall, peak_mib, stdout):
        self.cpu, self.wall, self.peak, self.stdout = cpu, wall, peak_mib, stdout


def run(args):
    """Runs dmlsim with args and measures it through the kernel's rusage of the child."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([DMLSIM] + args, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"bench: {' '.join(args)} failed ({proc.returncode}):\n{err.read().decode()}")
        return Sample(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, out.read().decode())


def simulate(scenario, sets, outdir, bare=False):
    args = ["run", scenario, "-q", "--out", outdir] + [a for s in sets for a in ("--set", s)]
    return run(args + (["--bare"] if bare else []))


def baseline(scenario, sets):
    return run(["baseline", scenario] + [a for s in sets for a in ("--set", s)])


def pairs(first, second, repeat):
    """Interleaved runs first(r), second(r) for r < repeat; returns the two lists of samples."""
    a, b = [], []
    for r in range(repeat):
        a.append(first(r))
        b.append(second(r))
    return a, b


def med(samples, attribute):
    return statistics.median(getattr(s, attribute) for s in samples)


def spread(samples, attribute, fmt="{:.3f}"):
    """'median (min–max)' of one attribute."""
    values = [getattr(s, attribute) for s in samples]
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def write_synthetic(directory, rows=131072, features=10):
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
# Hand-measured notes (profiles, one-off comparisons) follow this mark; --write keeps them.
NOTES_MARK = "<!-- (g) notes: measured by hand with the commands given; bench/run.py --write keeps this section -->"


def split_notes(text):
    """The text before the hand-written notes, and the notes (empty if none)."""
    return (text[:text.index(NOTES_MARK)], text[text.index(NOTES_MARK):]) if NOTES_MARK in text else (text, "")


def validate(scenario, sets):
    return run(["validate", scenario] + [a for s in sets for a in ("--set", s)])


def triples(first, second, third, repeat):
    """Interleaved runs first(r), second(r), third(r) for r < repeat; returns the three lists of samples."""
    a, b, c = [], [], []
    for r in range(repeat):
        a.append(first(r))
        b.append(second(r))
        c.append(third(r))
    return a, b, c


# Below this much simulation CPU time (run minus load) a size says nothing about growth: the
# medians of runs of a quarter second scatter by a few hundredths of a second from run to run, so
# their difference is noise there.
MEASURABLE_CPU = 0.1
# From this many workers a ring-allreduce run of the (d) table is one round, run once.
RING_ONE_ROUND = 512


def simulation_exponent(sizes, simulation_cpus):
    """The exponent fitted on the sizes whose simulation CPU time is measurable, and those sizes;
    simulation_cpus holds (CPU time per round, measurable) per size."""
    kept = [(n, t) for n, (t, measurable) in zip(sizes, simulation_cpus) if measurable]
    if len(kept) < 2:
        return None, []
    return fit_exponent([n for n, _ in kept], [t for _, t in kept]), [n for n, _ in kept]


def topology_section(args, tmp):
    """(d): CPU time of the synthetic scenario's bare and real runs for every topology, and of its
    loading alone (`dmlsim validate`), which the growth exponents leave out."""
    scenario = write_synthetic(tmp)
    big = [16, 64] if args.quick else [16, 64, 256, 1024, 2048, 4096]
    # A ring round is 2K(K-1) messages: from RING_ONE_ROUND workers on, a ring run is one round,
    # measured once, and costs are compared per round; 4096 workers (33.5 million messages, tens of
    # CPU minutes) only with --large.
    ring = [16, 32] if args.quick else [16, 32, 64, 128, 256, 512, 1024, 2048] + ([4096] if args.large else [])
    geo = [f"platform.file={ROOT}/platforms/wan-geo.xml", "workers.placement=zones", "server.host=us-east-0"]
    cases = [("parameter-server", big, []), ("tree", big, []), ("hierarchical", big, geo), ("ring-allreduce", ring, [])]
    lines = [TOPOLOGY_MARK, "\n## (d) Engine cost of each topology\n",
             f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. Command: `bench/run.py --topologies"
             f"{' --quick' if args.quick else ''}{' --large' if args.large else ''}` (median of {args.repeat} interleaved triples, CPU time). The synthetic scenario of "
             "(b, c), 10 rounds of SSGD (ring-allreduce from "
             f"{RING_ONE_ROUND} workers: one round, one run), LAN platform (hierarchical: the geo platform, workers round-robin over its three "
             "datacenters). Messages per round: parameter-server 2K, tree 2(K−1), hierarchical 2(K−3) + 12 "
             "(ring of 3 leaders), ring-allreduce 2K(K−1). Every run first loads the 131,072-row CSV and builds the run: "
             "the load column is that alone (`dmlsim validate` with the same settings, measured the same way), and "
             "the per-message cost and the exponents below are on the simulation time, run minus load.\n",
             "| topology | workers | rounds × runs | load CPU (s) | bare SimGrid CPU (s) | simulator CPU (s) | ratio | "
             "bare simulation CPU µs per message |",
             "|---|---|---|---|---|---|---|---|"]
    exponents, loads = [], [os.getloadavg()[0]]
    for kind, sizes, extra in cases:
        simulator, bare_simulation, whole = [], [], []
        for n in sizes:
            one_round = kind == "ring-allreduce" and n >= RING_ONE_ROUND
            rounds, repeat = (1, 1) if one_round else (10, args.repeat)
            sets = [f"topology.kind={kind}", f"workers.count={n}", f"training.rounds={rounds}",
                    f"training.eval-every={rounds}"] + extra
            load, bare, sim = triples(lambda r: validate(scenario, sets),
                                      lambda r: simulate(scenario, sets, os.path.join(tmp, f"db-{kind}-{n}-{r}"), bare=True),
                                      lambda r: simulate(scenario, sets, os.path.join(tmp, f"d-{kind}-{n}-{r}")), repeat)
            load_cpu, bare_cpu, sim_cpu = med(load, "cpu"), med(bare, "cpu"), med(sim, "cpu")
            # Per round, and whether the run's simulation time is long enough to say anything.
            measurable = sim_cpu - load_cpu >= MEASURABLE_CPU and bare_cpu - load_cpu >= MEASURABLE_CPU
            whole.append(load_cpu + 10 * (sim_cpu - load_cpu) / rounds)
            simulator.append(((sim_cpu - load_cpu) / rounds, measurable))
            bare_simulation.append(((bare_cpu - load_cpu) / rounds, measurable))
            with open(os.path.join(tmp, f"db-{kind}-{n}-0", "summary.json")) as f:
                messages = json.load(f)["result"]["messages_sent"]
            per_message = f"{1e6 * (bare_cpu - load_cpu) / messages:.1f}" if measurable else "–"
            lines.append(f"| {kind} | {n} | {rounds} × {repeat} | {load_cpu:.3f} | {bare_cpu:.3f} | {sim_cpu:.3f} | "
                         f"{sim_cpu / bare_cpu:.2f} | {per_message} |")
        exponents.append((kind, sizes, simulation_exponent(sizes, simulator), simulation_exponent(sizes, bare_simulation),
                          fit_exponent(sizes, whole)))
        loads.append(os.getloadavg()[0])

    def shown(fitted):
        exponent, kept = fitted
        return f"{exponent:.2f} ({kept[0]}–{kept[-1]})" if kept else "–"

    lines += [f"\nLoad average (1 min) on the machine during the runs: {min(loads):.1f} to {max(loads):.1f} "
              f"({os.cpu_count()} cores); times are CPU time, which that load barely moves.",
              "\nFitted growth exponent of simulation CPU time per round (run minus load, over its rounds) against "
              f"workers (CPU ∝ workers^e), over the sizes (in brackets) whose runs' simulation time is at least "
              f"{MEASURABLE_CPU} s; the last column is the whole run's (load plus ten rounds' simulation), which the "
              "load flattens at small sizes:\n",
              "| topology | simulator e | bare SimGrid e | whole simulator run e (all sizes) |", "|---|---|---|---|"]
    lines += [f"| {k} | {shown(e)} | {shown(b)} | {w:.2f} ({s[0]}–{s[-1]}) |" for k, s, e, b, w in exponents]
    lines.append("\nA ring round sends about K times the messages of the others, hence its exponent; the cost per "
                 "message says what the engine pays for each (– where the simulation time is below "
                 f"{MEASURABLE_CPU} s). Ratios of runs lasting a few milliseconds are noise.")
    return "\n".join(lines) + "\n"


def write_topology_section(path, section):
    """Replaces (or appends) the (d) section of an existing RESULTS.md."""
    text, notes = split_notes(open(path).read() if os.path.exists(path) else "# dmlsim benchmark results\n")
    if TOPOLOGY_MARK in text:
        text = text[:text.index(TOPOLOGY_MARK)].rstrip("\n") + "\n"
    text = text.rstrip("\n") + "\n\n" + section + ("\n" + notes if notes else "")
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


def compute_limit(args, tmp):
    rounds = 20 if args.quick else 100
    lines = [f"## (a) Simulator vs the bare training loop (Fashion-MNIST MLP 784-128-10, 8 workers, {rounds} rounds)\n",
             "| algorithm | bare loop CPU s | simulator CPU s | ratio of medians | target |", "|---|---|---|---|---|"]
    if not os.path.exists(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")):
        return lines + ["| (skipped: Debian package dataset-fashion-mnist not installed) | | | | |"]
    for algorithm in ("ssgd", "ma"):
        scenario = os.path.join(ROOT, "scenarios", "fmnist", f"lan-{algorithm}.xml")
        sets = [f"training.rounds={rounds}"]
        loop, sim = pairs(lambda r: baseline(scenario, sets),
                          lambda r: simulate(scenario, sets, os.path.join(tmp, f"a-{algorithm}-{r}")), args.repeat)
        ratio = med(sim, "cpu") / med(loop, "cpu")
        lines.append(f"| {algorithm} | {spread(loop, 'cpu')} | {spread(sim, 'cpu')} | {ratio:.3f} | "
                     f"≤ 1.10 {'met' if ratio <= 1.10 else 'MISSED'} |")
    return lines


def engine_scaling(args, scenario, tmp):
    sizes = [16, 64, 256] if args.quick else [256, 1024, 4096, 16384]
    rounds = 5 if args.quick else 10
    lines = ["\n## (b, c) Simulator vs bare SimGrid, and growth with the number of workers\n",
             f"Synthetic logistic regression (131,072 rows, 11 parameters, batch 1), {rounds} rounds, LAN platform, "
             "workers round-robin over 71 hosts. Bare = the same messages through the same messaging pattern and "
             "the same FLOPs, no training (`dmlsim run --bare`). CPU and wall seconds: median (range) of "
             f"{args.repeat} interleaved pairs.\n",
             "| algorithm | workers | bare CPU s | simulator CPU s | ratio (target ≤ 1.25) | simulator wall s | "
             "bare peak MiB | simulator peak MiB |", "|---|---|---|---|---|---|---|---|"]
    exponents = []
    for algorithm in ("ssgd", "ma"):
        cpus, bare_cpus = [], []
        for n in sizes:
            sets = [f"algorithm.name={algorithm}", f"workers.count={n}", f"training.rounds={rounds}",
                    f"training.eval-every={rounds}"]
            bare, sim = pairs(lambda r: simulate(scenario, sets, os.path.join(tmp, f"b-{algorithm}-{n}-{r}"), bare=True),
                              lambda r: simulate(scenario, sets, os.path.join(tmp, f"c-{algorithm}-{n}-{r}")),
                              args.repeat)
            cpus.append(med(sim, "cpu"))
            bare_cpus.append(med(bare, "cpu"))
            ratio = cpus[-1] / bare_cpus[-1]
            lines.append(f"| {algorithm} | {n} | {spread(bare, 'cpu')} | {spread(sim, 'cpu')} | {ratio:.2f} "
                         f"{'met' if ratio <= 1.25 else 'MISSED'} | {spread(sim, 'wall', '{:.2f}')} | "
                         f"{max(s.peak for s in bare):.0f} | {max(s.peak for s in sim):.0f} |")
        fitted = [i for i, n in enumerate(sizes) if n >= 1024] or list(range(len(sizes)))
        exponents.append((algorithm, fit_exponent([sizes[i] for i in fitted], [cpus[i] for i in fitted]),
                          fit_exponent([sizes[i] for i in fitted], [bare_cpus[i] for i in fitted])))
    lines += [f"\nFitted growth exponent of CPU time against workers (CPU ∝ workers^e, "
              f"{'from 1024 workers up' if not args.quick else 'all sizes'}):\n",
              "| algorithm | simulator e (target ≤ 1.3) | bare e |", "|---|---|---|"]
    lines += [f"| {a} | {e:.2f} {'met' if e <= 1.3 else 'MISSED'} | {b:.2f} |" for a, e, b in exponents]
    return lines


def scale_targets(scenario, tmp):
    lines = ["\n## (e) Scale targets (SSGD, synthetic logistic set, one run each)\n",
             "| run | CPU s | wall s | peak MiB | target |", "|---|---|---|---|---|"]
    big = simulate(scenario, ["workers.count=16384", "training.rounds=100", "training.eval-every=100"],
                   os.path.join(tmp, "big"))
    lines.append(f"| 16,384 workers × 100 rounds | {big.cpu:.1f} | {big.wall:.1f} | {big.peak:.0f} | "
                 f"≤ 60 s CPU {'met' if big.cpu <= 60 else 'MISSED'} |")
    # Without guard pages: with them every actor's stack takes two memory mappings, and 65,536 workers
    # would exceed Linux's default vm.max_map_count (65,530).
    huge = run(["run", scenario, "-q", "--out", os.path.join(tmp, "huge"), "--cfg", "contexts/guard-size:0"] +
               [a for s in ("workers.count=65536", "training.rounds=10", "training.eval-every=10") for a in ("--set", s)])
    lines.append(f"| 65,536 workers × 10 rounds | {huge.cpu:.1f} | {huge.wall:.1f} | {huge.peak:.0f} | "
                 f"≤ 16 GiB {'met' if huge.peak <= 16 * 1024 else 'MISSED'} (no stack guard pages) |")
    return lines + memory_targets(tmp)


FMNIST_ROWS, FMNIST_PIXELS, MLP_PARAMETERS = 70000, 784, 101770


def memory_targets(tmp):
    """Peak RSS of loading Fashion-MNIST and of the MLP at 1024 and 4096 workers, against the data."""
    lines = ["\n## (f) Memory targets (Fashion-MNIST, scenarios/fmnist/lan-ssgd.xml, float32 storage, one run each)\n"]
    if not os.path.exists(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")):
        return lines + ["(skipped: Debian package dataset-fashion-mnist not installed)"]
    scenario = os.path.join(ROOT, "scenarios", "fmnist", "lan-ssgd.xml")
    data_mib = FMNIST_ROWS * FMNIST_PIXELS * 4 / 2**20
    empty = run(["validate", os.path.join(ROOT, "scenarios", "seed", "ssgd.xml")])  # the process without data
    load = run(["validate", scenario])
    lines += [f"Stored data: {FMNIST_ROWS:,} × {FMNIST_PIXELS} float32 = {data_mib:.0f} MiB; model "
              f"{MLP_PARAMETERS:,} parameters × 8 bytes. The process holds {empty.peak:.0f} MiB before any data "
              "(`dmlsim validate` of the 569-row seed scenario: SimGrid, libraries), counted in every peak below.\n",
              "| run | peak MiB | reference MiB | ratio | target |", "|---|---|---|---|---|",
              f"| loading (`dmlsim validate`) | {load.peak:.0f} | data {data_mib:.0f} | {load.peak / data_mib:.2f} | "
              f"≤ 1.2 {'met' if load.peak <= 1.2 * data_mib else 'MISSED'} |"]
    for workers in (1024, 4096):
        sim = simulate(scenario, [f"workers.count={workers}", "training.rounds=1", "training.eval-every=1"],
                       os.path.join(tmp, f"mlp-{workers}"))
        reference = data_mib + workers * MLP_PARAMETERS * 8 / 2**20
        lines.append(f"| MLP, {workers} workers, 1 round | {sim.peak:.0f} | data + workers × model {reference:.0f} | "
                     f"{sim.peak / reference:.2f} | ≤ 1.2 {'met' if sim.peak <= 1.2 * reference else 'MISSED'} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--large", action="store_true",
                        help="also run the 16,384- and 65,536-worker targets (with --topologies: the 4096-worker ring)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved pairs per comparison (at least 3)")
    parser.add_argument("--write", action="store_true", help="rewrite --out (bench/RESULTS.md) with the tables")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    parser.add_argument("--topologies", action="store_true", help="measure only (d), the topologies")
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (a median and a range need three pairs)")
    if not os.path.exists(DMLSIM):
        sys.exit("bench: build/dmlsim not found: run ./setup.sh first")
    tmp = tempfile.mkdtemp(prefix="dmlsim-bench-")
    if args.topologies:
        section = topology_section(args, tmp)
        if args.write:
            write_topology_section(args.out, section)
        print(section)
        return 0
    flags = "".join(f" --{f}" for f in ("quick", "large") if getattr(args, f))
    lines = ["# dmlsim benchmark results\n", f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}.",
             f"Command: `bench/run.py{flags}` (median and range of {args.repeat} interleaved pairs, CPU time).\n"]
    lines += compute_limit(args, tmp)
    scenario = write_synthetic(tmp)
    lines += engine_scaling(args, scenario, tmp)
    if args.large:
        lines += scale_targets(scenario, tmp)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        # Section (d) comes from --topologies runs, (g) is written by hand: keep them.
        old, notes = split_notes(open(args.out).read() if os.path.exists(args.out) else "")
        if TOPOLOGY_MARK in old:
            text += "\n" + old[old.index(TOPOLOGY_MARK):]
        text += ("\n" + notes if notes else "")
        with open(args.out + ".tmp", "w") as f:
            f.write(text)
        os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
