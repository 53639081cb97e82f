#!/usr/bin/python3
"""Network fidelity of dmlsim's network profiles against the real Linux TCP stack.

Real side: two network namespaces joined by an emulated link (delay_line: two TUN devices; per
direction serialise at the link rate behind a drop-tail queue, then delay by the one-way latency).
The delay line runs at real-time priority (SCHED_FIFO) pinned to one CPU, `dmlsim calibrate serve`
and `dmlsim calibrate probe` at real-time priority pinned to the other: on a loaded machine a delay
line at normal priority waits for the CPU while the TUN queue overflows, and the measurement then
shows the emulator's losses rather than TCP's. One cell = one fresh link and connection(s), a
same-size loop (what a training run does): `flows` connections each send S bytes at the same
instant, the server waits the 10 ms gap and answers S bytes on each, the round ends with the last
answer; warm-up rounds, then measured rounds. Emulator drops (TUN and qdisc counters inside the
namespaces, the delay line's failed writes, the kernel's backlog drops) are read before and after;
a cell above the bound is measured once more, then kept but flagged. Drops of the modelled
drop-tail queue are TCP's own business and are only recorded. The cell format is described in
tests/netfidelity/CONTRACT.md.

    run_fidelity.py measure --grid fit,validation --out-dir DIR    # writes DIR/<set>/<cell>.json as it goes
    run_fidelity.py report --data DIR --profile linux-tcp --profile cm02 --write-doc docs/network-fidelity.md
    run_fidelity.py ci --profile linux-tcp                           # reduced grid, then report; CTest's netfidelity
    run_fidelity.py measure --grid validation --only 'f[2-8]$' --record-tcp --out-dir tests/netfidelity/data-cwnd
                                   # also every connection's TCP_INFO per round (tcp_sampler.py), every repetition;
                                   # `report` reads --cwnd DIR and --spread DIR (spread_analysis.py); --keep-samples DIR keeps the raw samples

Exit 77 (skipped) without root, network namespaces, /dev/net/tun or real-time scheduling.
"""
import argparse
import difflib
import datetime
import glob
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
GAP_S = 0.010
PORT = 5201
CONGESTION = "cubic"  # Linux's default (this host may be tuned to another)
# Linux's own defaults inside the namespaces, whatever the host was tuned to.
SYSCTLS = {"net.ipv4.tcp_rmem": "4096 131072 6291456", "net.ipv4.tcp_wmem": "4096 16384 4194304",
           "net.ipv4.tcp_slow_start_after_idle": "1"}
QUEUE_PACKETS = 1000  # the modelled bottleneck's drop-tail queue (a router port's)
LINE_CPU, ENDPOINT_CPU = 1, 0  # delay line alone on one CPU, serve and probe on the other
LINE_PRIORITY, ENDPOINT_PRIORITY = 60, 50
SAMPLER_PRIORITY, SAMPLER_PERIOD_MS = 40, 5  # --record-tcp: below the endpoints on their CPU, never on the delay line's
MTU_BYTES = 1500
PAYLOAD_SHARE = 1448 / 1500  # TCP payload per IP byte of a full segment (20 B IP + 32 B TCP with timestamps)
TUN_RING_PACKETS = 20000

KiB, MiB = 1024, 1024 * 1024


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def size_label(n):
    if n % MiB == 0:
        return f"{n // MiB}MiB"
    if n % KiB == 0:
        return f"{n // KiB}KiB"
    return f"{n}B"


# ---------------------------------------------------------------- grids

class Cell:
    def __init__(self, set_name, rate_mbit, latency_ms, size, flows=1, warmup=4, rounds=12, priority="rt", measure_rate=False,
                 repeats=None):
        self.set, self.rate_mbit, self.latency_ms, self.size, self.flows = set_name, rate_mbit, latency_ms, size, flows
        self.warmup, self.rounds, self.priority = warmup, rounds, priority
        # Contention cells: independent repetitions (fresh link and connections each). Which flow leaves
        # slow start when is decided in the first rounds and then persists through the connections'
        # thresholds, so one repetition's rounds agree with each other far more than with another's.
        self.repeats = repeats if repeats is not None else (CONTENTION_REPEATS if flows > 1 else 1)
        self.measure_rate = measure_rate  # let the probe measure the bulk rate (does the delay line sustain the link?)

    @property
    def id(self):
        return (f"b{self.rate_mbit:g}M-l{self.latency_ms:g}ms-s{size_label(self.size)}-f{self.flows}"
                + ("" if self.priority == "rt" else f"-{self.priority}"))

    def estimate_round_s(self):
        """A rough guess of one round (for the rounds budget and the plan printout), not a model."""
        rtt = 2 * self.latency_ms / 1e3
        rate = self.rate_mbit * 1e6 / 8
        window_rtts = 1 + max(0.0, math.log2(self.size / (10 * 1448)))
        return GAP_S + 2 * (self.flows * self.size / rate + rtt * min(window_rtts, 6))

    def estimate_s(self):
        return self.repeats * (1.5 + (self.warmup + self.rounds) * self.estimate_round_s())


def budgeted(set_name, rate, latency, size, flows=1, budget_s=75, warmup=4, rounds=12, min_rounds=8):
    """A cell whose measured rounds (all repetitions) fit `budget_s` (never fewer than `min_rounds` per repetition)."""
    cell = Cell(set_name, rate, latency, size, flows, warmup, rounds)
    while cell.rounds > min_rounds and cell.estimate_s() > budget_s:
        cell.rounds -= 1
    while cell.warmup > 2 and cell.estimate_s() > budget_s:
        cell.warmup -= 1
    return cell


SIZES = [4 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 2 * MiB, 8 * MiB, 16 * MiB]
FIT_LATENCIES_MS = [20, 100]  # the fit set: never part of the validation grid
VALIDATION_LATENCIES_MS = [2, 10, 33, 80, 130, 200]
BLIND_NOTE = ("5, 15, 40, 50, 60 and 160 ms one-way, 16 KiB … 16 MiB including 128 KiB, 512 KiB, 4 MiB and 12 MiB, "
              "2, 4, 6 and 8 flows, at 10 Mbit/s, 100 Mbit/s and 1 Gbit/s")
CONTENTION_LATENCIES_MS = [25, 80]
CONTENTION_REPEATS = 5


def grid(name):
    if name == "fit":  # what a model may be fitted on: 100 Mbit/s, one flow, two latencies, every size
        return [budgeted("fit", 100, l, s, budget_s=90, rounds=16) for l in FIT_LATENCIES_MS for s in SIZES]
    if name == "validation":
        cells = [budgeted("validation", 100, l, s, budget_s=70) for l in VALIDATION_LATENCIES_MS
                 for s in SIZES if s != 16 * MiB or l in (10, 80, 200)]
        cells += [Cell("validation", 100, l, s, flows=f, warmup=3, rounds=6)
                  for l in CONTENTION_LATENCIES_MS for s in (1 * MiB, 8 * MiB) for f in (4, 8)]
        cells += [budgeted("validation", 10, l, s, budget_s=70) for l in (10, 80, 200) for s in (4 * KiB, 256 * KiB, 1 * MiB)]
        cells += [budgeted("validation", 10, 33, 8 * MiB, budget_s=120, warmup=2, rounds=6, min_rounds=6)]
        cells += [budgeted("validation", 1000, l, s, budget_s=60) for l in (2, 33, 130) for s in (64 * KiB, 1 * MiB, 8 * MiB, 16 * MiB)]
        return cells
    if name == "blind":  # never fitted, measured after the profile was frozen (BLIND_NOTE)
        cells = [budgeted("blind", 100, l, s, budget_s=45) for l, s in
                 ((5, 512 * KiB), (5, 4 * MiB), (50, 16 * KiB), (50, 512 * KiB), (50, 4 * MiB), (160, 128 * KiB),
                  (160, 1 * MiB), (160, 4 * MiB))]
        cells += [budgeted("blind", 100, 40, 16 * MiB, budget_s=60)]
        cells += [budgeted("blind", 10, l, s, budget_s=45) for l, s in ((5, 2 * MiB), (50, 512 * KiB), (160, 64 * KiB))]
        cells += [budgeted("blind", 1000, l, s, budget_s=45) for l, s in
                  ((15, 4 * MiB), (15, 12 * MiB), (60, 512 * KiB), (60, 12 * MiB))]
        cells += [Cell("blind", 100, l, s, flows=f, warmup=3, rounds=6) for f, l, s in
                  ((2, 50, 2 * MiB), (4, 10, 512 * KiB), (4, 50, 4 * MiB), (6, 40, 1 * MiB), (8, 15, 512 * KiB), (8, 50, 2 * MiB))]
        return cells
    if name == "ab":  # the A/B: 72.5 ms, 1 MB, normal vs real-time priority
        return [Cell("ab", 100, 72.5, 1000000, 1, 3, 9, priority=p) for p in ("normal", "rt")]
    if name == "sustain":  # the bulk TCP rate the delay line delivers at each configured rate (2 ms one-way)
        return [Cell("sustain", r, 2, 64 * KiB, 1, 1, 3, measure_rate=True) for r in (10, 100, 1000)]
    if name == "ci":
        # About four minutes: short and long links, three rates, two contention cells. Only one-flow
        # cells whose median two full runs of the grid reproduced within 4 % (docs/network-fidelity.md,
        # "repeat run"): a CI verdict must not depend on real TCP's loss cycles (8-16 MiB at 1 Gbit/s
        # or >= 100 ms moved by up to 22 % between runs; 8 MiB at 2 ms, hundreds of queue drops a
        # run, measured +7.2 % on a CI machine, is left out too). Nor cells whose message is just above a
        # window the first slow start may or may not leave at: 64 KiB (46 segments) at 33 ms takes one
        # round trip on a window of 56+ and two on one of 40, so one HyStart decision in the first
        # round halves or doubles every round (a CI machine measured +71 % where every run here
        # measured the documented 0.087 s); the 33 ms link is checked with 4 KiB (one round trip
        # whatever the window) and 1 MiB (bandwidth-bound). The contention cells are measured in
        # repetitions, as documented: one repetition of them is a sample of one.
        return [Cell("ci", 100, 2, s, 1, 3, 8) for s in (64 * KiB, 1 * MiB)] + \
               [Cell("ci", 100, 33, s, 1, 3, 8) for s in (4 * KiB, 1 * MiB)] + \
               [Cell("ci", 100, 80, 1 * MiB, 1, 3, 8), Cell("ci", 100, 130, 256 * KiB, 1, 3, 8),
                Cell("ci", 10, 80, 256 * KiB, 1, 3, 8), Cell("ci", 1000, 2, 1 * MiB, 1, 3, 8),
                Cell("ci", 1000, 130, 1 * MiB, 1, 3, 8),
                Cell("ci", 100, 25, 1 * MiB, 4, 3, 6), Cell("ci", 100, 80, 1 * MiB, 4, 3, 6)]
    raise SystemExit(f"unknown grid '{name}' (fit, validation, blind, ab, sustain, ci)")


# ---------------------------------------------------------------- the emulated link

def skip_reason(realtime=True):
    if os.geteuid() != 0:
        return "not root (network namespaces and TUN devices need CAP_NET_ADMIN)"
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError as e:
        return f"/dev/net/tun unavailable: {e}"
    name = f"dmlsim-nfprobe{os.getpid()}"
    try:
        sh("ip", "netns", "add", name)
    except (OSError, subprocess.CalledProcessError) as e:
        return f"cannot create network namespaces: {getattr(e, 'stderr', e)}".strip()
    sh("ip", "netns", "del", name, check=False)
    if realtime:
        try:
            sh("chrt", "-f", str(ENDPOINT_PRIORITY), "true")
        except (OSError, subprocess.CalledProcessError) as e:
            return f"no real-time scheduling (chrt -f): {getattr(e, 'stderr', e)}".strip()
    return None


def scheduled(cmd, priority, cpu, realtime):
    """`cmd` under SCHED_FIFO at `priority`, pinned to `cpu` when the machine has it."""
    if not realtime:
        return cmd
    pin = ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) > cpu else []
    return pin + ["chrt", "-f", str(priority)] + cmd


class Link:
    """Two namespaces joined by the delay line; removed by close() (also on signals and errors)."""

    def __init__(self, tools, cell, index):
        tag = f"{os.getpid() % 100000}{index % 100}"
        self.ns = [f"dmlsim-nf{tag}a", f"dmlsim-nf{tag}b"]
        self.dev = [f"nf{tag}a", f"nf{tag}b"]
        self.addr = ["10.199.1.1", "10.199.1.2"]
        self.procs = []
        self.realtime = cell.priority == "rt"
        self.line = None
        try:
            self._setup(tools, cell)
        except BaseException:
            self.close()
            raise

    def _setup(self, tools, cell):
        for ns in self.ns:
            sh("ip", "netns", "add", ns)
        self.line = subprocess.Popen(
            scheduled([tools.delay_line, "--dev-a", self.dev[0], "--dev-b", self.dev[1], "--delay-ms", str(cell.latency_ms),
                       "--rate-mbit", str(cell.rate_mbit), "--queue-packets", str(QUEUE_PACKETS), "--max-seconds", "1200"],
                      LINE_PRIORITY, LINE_CPU, self.realtime),
            stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        self.procs.append(self.line)
        if self.line.stdout.readline().strip() != "ready":
            raise RuntimeError("the delay line did not start")
        for i in (0, 1):
            ns, dev = self.ns[i], self.dev[i]
            sh("ip", "link", "set", dev, "netns", ns)
            sh("ip", "-n", ns, "addr", "add", self.addr[i], "peer", self.addr[1 - i], "dev", dev)
            # The TUN device's ring is the handoff to the delay line, not the modelled queue: at its
            # default 500 packets a sender's burst overflows it before the delay line has read it.
            sh("ip", "-n", ns, "link", "set", dev, "txqueuelen", str(TUN_RING_PACKETS), "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # (A namespace may not change its default congestion control: serve and probe ask for cubic.)
            for key, value in SYSCTLS.items():
                sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}")

    def spawn(self, side, cmd, priority=ENDPOINT_PRIORITY, **kw):
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns[side]] + scheduled(cmd, priority, ENDPOINT_CPU, self.realtime), **kw)
        self.procs.append(proc)
        return proc

    def kernel_counters(self):
        """Emulator-side drop counters inside both namespaces: the TUN devices' and their qdiscs'."""
        out = {}
        for ns, dev in zip(self.ns, self.dev):
            link = json.loads(sh("ip", "-n", ns, "-j", "-s", "link", "show", dev).stdout)[0]["stats64"]
            qdiscs = json.loads(sh("ip", "netns", "exec", ns, "tc", "-s", "-j", "qdisc", "show", "dev", dev).stdout or "[]")
            out[dev] = {"tx_dropped": link["tx"]["dropped"], "rx_dropped": link["rx"]["dropped"],
                        "tx_packets": link["tx"]["packets"], "qdisc_drops": sum(q.get("drops", 0) for q in qdiscs)}
        out["backlog_drops"] = softnet_drops()
        return out

    def line_counters(self):
        """The delay line's counters so far (it prints them on SIGUSR1)."""
        self.line.send_signal(signal.SIGUSR1)
        return json.loads(self.line.stdout.readline())

    def stop_line(self):
        """Stops the delay line; returns its final counters (the JSON line it prints on exit)."""
        self.line.send_signal(signal.SIGTERM)
        out, _ = self.line.communicate(timeout=10)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for ns in self.ns:
            sh("ip", "netns", "del", ns, check=False)


def softnet_drops():
    """Packets the kernel's per-CPU input backlog dropped (host-wide: a TUN write can land there)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f if line.strip())


def line_delta(before, after):
    """The delay line's counters between two readings (packets before the measurement are not its)."""
    out = {"directions": []}
    for b, a in zip(before["directions"], after["directions"]):
        out["directions"].append({k: (a[k] - b[k] if k not in ("name", "max_late_us") else a[k]) for k in a})
    return out


def emulator_drops(before, after, line):
    """(emulator drops, modelled queue drops, packets, detail) between two kernel_counters() readings."""
    detail = {"backlog": after["backlog_drops"] - before["backlog_drops"]}
    emulator = detail["backlog"]
    for dev in before:
        if dev == "backlog_drops":
            continue
        for key in ("tx_dropped", "rx_dropped", "qdisc_drops"):
            delta = after[dev][key] - before[dev][key]
            detail[f"{dev}.{key}"] = delta
            emulator += delta
    queue = 0
    packets = sum(after[dev]["tx_packets"] - before[dev]["tx_packets"] for dev in before if dev != "backlog_drops")
    if line:
        for d in line["directions"]:
            detail[f"line {d['name']}.write_failures"] = d["write_failures"]
            detail[f"line {d['name']}.late_over_1ms"] = d["late_over_1ms"]
            detail[f"line {d['name']}.max_late_us"] = d["max_late_us"]
            emulator += d["write_failures"]
            queue += d["queue_drops"]
    return emulator, queue, packets, detail


def emulator_bound(packets):
    """The stated bound: more emulator drops than 1 per 10,000 packets sent on the link (at least 2
    allowed) flag a cell. Each drop is a loss TCP reacts to; the median of a cell's rounds tolerates
    one or two slow rounds."""
    return max(2, packets // 10000)


# ---------------------------------------------------------------- one cell

def quantile(xs, f):
    """The f-quantile of sorted xs, linearly interpolated between neighbours."""
    pos = f * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(len(xs) - 1, lo + 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


def quartiles(xs):
    xs = sorted(xs)
    return quantile(xs, 0.25), quantile(xs, 0.5), quantile(xs, 0.75)


class TcpRecorder:
    """--record-tcp: tcp_sampler.py in both namespaces (the probe's requests, serve's answers), each
    dumping every connection's TCP_INFO through sock_diag every SAMPLER_PERIOD_MS."""

    def __init__(self, link, cell, workdir, repetition):
        self.paths = [os.path.join(workdir, f"{cell.id}.rep{repetition}.tcp{side}.json") for side in (0, 1)]
        self.procs = []
        for side, path in enumerate(self.paths):
            proc = link.spawn(side, ["/usr/bin/python3", os.path.join(HERE, "tcp_sampler.py"), "--port", str(PORT),
                                     "--period-ms", str(SAMPLER_PERIOD_MS), "--out", path],
                              priority=SAMPLER_PRIORITY, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
            self.procs.append(proc)
            if "sampling" not in proc.stdout.readline():
                raise RuntimeError("tcp_sampler.py did not start")

    def finish(self, cell, keep_dir=None):
        """The per-round summary; the raw samples are copied to `keep_dir` (--keep-samples) if given."""
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        recordings = []
        for proc, path in zip(self.procs, self.paths):
            proc.wait(30)
            with open(path) as f:
                recordings.append(json.load(f))
            if keep_dir:
                os.makedirs(keep_dir, exist_ok=True)
                shutil.copy(path, keep_dir)
        sys.path.insert(0, HERE)
        import tcp_sampler
        return {"period": SAMPLER_PERIOD_MS / 1e3, "samples": [len(r["samples"]) for r in recordings],
                **tcp_sampler.summarise(recordings[0], recordings[1], PORT, cell.size, cell.flows)}


def run_probe(tools, link, cell, workdir, record_tcp=None):
    """`record_tcp`: None, or (repetition, directory for the raw samples or None) to run a TcpRecorder."""
    recorder = TcpRecorder(link, cell, workdir, record_tcp[0]) if record_tcp else None
    serve = link.spawn(1, [tools.dmlsim, "calibrate", "serve", "--port", str(PORT), "--bind", link.addr[1], "--once",
                           "--timeout", "120", "--tcp-congestion", CONGESTION], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    if "serving" not in serve.stdout.readline():
        raise RuntimeError("calibrate serve did not start")
    path = os.path.join(workdir, f"{cell.id}.probe.json")
    cmd = [tools.dmlsim, "calibrate", "probe", f"{link.addr[1]}:{PORT}", "--sizes", str(cell.size), "--rounds", str(cell.rounds),
           "--warmup", str(cell.warmup), "--gap", f"{GAP_S * 1e3:g}ms", "--max-time", "900", "--timeout", "120",
           "--tcp-congestion", CONGESTION, "--json", path, "--assume-latency", f"{cell.latency_ms:g}ms"]
    if cell.measure_rate:  # two bulk transfers of a few seconds' worth, the rate of their second half
        cmd += ["--bandwidth-bytes", str(max(4 * MiB, int(cell.rate_mbit * 1e6 / 8 * 2)))]
    else:
        cmd += ["--assume-bandwidth", f"{cell.rate_mbit:g}Mbps"]
    if cell.flows > 1:
        cmd += ["--flows", str(cell.flows)]
    probe = link.spawn(0, cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = probe.communicate(timeout=1000)
    if probe.returncode != 0:
        log(out.rstrip())
        raise RuntimeError(f"calibrate probe failed on {cell.id}")
    serve.wait(30)
    with open(path) as f:
        probe = json.load(f)
    if recorder:
        probe["tcp_state"] = recorder.finish(cell, record_tcp[1])
    return probe


def rounds_of(probe, cell):
    """Per-round records (index, start, time, per-flow finish) from the probe's JSON."""
    o = probe["observations"][0]
    if "rounds" in o:
        return o["rounds"]
    # A probe without per-round detail (one flow): its samples in order are the measured rounds.
    return [{"index": cell.warmup + i, "time": t, "finish": [t]} for i, t in enumerate(o["samples"])]


def measure_once(tools, cell, index, workdir, record_tcp=None):
    link = Link(tools, cell, index)
    try:
        before, line_before = link.kernel_counters(), link.line_counters()
        probe = run_probe(tools, link, cell, workdir, record_tcp)
        after = link.kernel_counters()
        line = line_delta(line_before, link.stop_line())
    finally:
        link.close()
    emulator, queue, packets, detail = emulator_drops(before, after, line)
    return probe, emulator, queue, packets, detail


def load_average():
    """The 1-, 5- and 15-minute load averages: what else the machine ran while a repetition was measured."""
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def measure_repetition(tools, cell, index, workdir, record_tcp):
    """One repetition: a fresh link and connections, measured once more when the emulator dropped too much."""
    load = load_average()
    for attempt in (1, 2):
        probe, emulator, queue, packets, detail = measure_once(tools, cell, index * 2 + attempt, workdir, record_tcp)
        bound = emulator_bound(packets)
        if emulator <= bound:
            break
        log(f"  {cell.id}: {emulator} emulator drops > bound {bound} (attempt {attempt})")
    return {"probe": probe, "emulator": emulator, "queue": queue, "packets": packets, "detail": detail,
            "bound": bound, "attempts": attempt, "flagged": emulator > bound, "loadavg": load}


def pooled_rounds(cell, reps):
    """Every repetition's measured rounds in order, each tagged with its repetition."""
    return [{**r, "repetition": k} for k, rep in enumerate(reps) for r in rounds_of(rep["probe"], cell)]


def repetition_summary(cell, rep):
    q1, med, q3 = quartiles([r["time"] for r in rounds_of(rep["probe"], cell)])
    summary = {"median": med, "iqr": q3 - q1, "drops_queue": rep["queue"], "drops_emulator": rep["emulator"],
               "attempts": rep["attempts"], "flagged": rep["flagged"], "loadavg": rep["loadavg"],
               "warmup_rounds": rep["probe"]["observations"][0].get("warmup_rounds", []),
               "late": {k: v for k, v in rep["detail"].items() if "late" in k}}
    if "tcp_state" in rep["probe"]:
        summary["tcp_state"] = rep["probe"]["tcp_state"]
    return summary


def summed_drops(reps):
    detail = {}
    for rep in reps:
        for k, v in rep["detail"].items():
            detail[k] = max(detail.get(k, 0), v) if k.endswith("max_late_us") else detail.get(k, 0) + v
    emulator, packets = sum(r["emulator"] for r in reps), sum(r["packets"] for r in reps)
    return {"queue": sum(r["queue"] for r in reps), "emulator": emulator, "emulator_bound": emulator_bound(packets),
            "packets": packets, "detail": detail}


def measure_cell(tools, cell, index, workdir, record_tcp=False, keep_samples=None):
    """The cell's record (CONTRACT.md): `repeats` repetitions, their measured rounds pooled; with
    `record_tcp` every repetition's connections are sampled (raw samples kept in `keep_samples`/<cell id>)."""
    keep = os.path.join(keep_samples, cell.id) if keep_samples else None
    reps = [measure_repetition(tools, cell, index * 2 * cell.repeats + 2 * k, workdir, (k, keep) if record_tcp else None)
            for k in range(cell.repeats)]
    rounds = pooled_rounds(cell, reps)
    times = [r["time"] for r in rounds]
    q1, med, q3 = quartiles(times)
    flagged = [k for k, rep in enumerate(reps) if rep["flagged"]]
    first = reps[0]["probe"]
    repeated = f", {cell.repeats} repetitions (fresh link and connections each) pooled" if cell.repeats > 1 else ""
    record = {
        "kind": "dmlsim-calibration",  # also a `calibrate fit` input (one observation, flows=1 only)
        "contract": 1,
        "id": cell.id, "set": cell.set,
        "date": first["date"], "machine": first["machine"],
        "method": f"tests/netfidelity/run_fidelity.py: namespaces + user-space delay line ({cell.rate_mbit:g} Mbit/s, "
                  f"drop-tail {QUEUE_PACKETS} packets, {cell.latency_ms:g} ms one-way), {cell.priority} priority; "
                  f"{cell.flows} connection(s), same-size loop: {cell.warmup} warm-up + {cell.rounds} measured rounds{repeated}",
        "gap": GAP_S,
        "latency": cell.latency_ms / 1e3, "bandwidth": cell.rate_mbit * 1e6 / 8, "queue_packets": QUEUE_PACKETS,
        "flows": cell.flows, "bytes": cell.size, "warmup": cell.warmup, "priority": cell.priority,
        "tcp": {"congestion": CONGESTION, "nodelay": True, **{k.split(".")[-1]: v for k, v in SYSCTLS.items()}, "mtu": MTU_BYTES},
        "warmup_rounds": first["observations"][0].get("warmup_rounds", []),
        "rounds": rounds,
        "median": med, "q1": q1, "q3": q3, "iqr": q3 - q1,
        "drops": summed_drops(reps),
        "attempts": max(rep["attempts"] for rep in reps),
        "flagged": bool(flagged),
        "flag_reason": (f"repetition(s) {', '.join(map(str, flagged))}: emulator drops (TUN/qdisc/backlog/delay-line writes) "
                        f"above the bound in both attempts") if flagged else "",
        "measured_rate": first["observations"][0]["bandwidth"] if cell.measure_rate else None,
        "observations": ([{"latency": cell.latency_ms / 1e3, "bandwidth": cell.rate_mbit * 1e6 / 8, "bytes": cell.size,
                           "time": med, "samples": times}] if cell.flows == 1 else []),
    }
    if cell.repeats > 1:
        record["rounds_per_repetition"] = cell.rounds
        record["repetitions"] = [repetition_summary(cell, rep) for rep in reps]
    if "tcp_state" in first and cell.repeats == 1:
        record["tcp_state"] = first["tcp_state"]
    return record


def measured_rounds(record):
    """Measured rounds of one repetition: what a simulation of the cell's connections runs."""
    return record.get("rounds_per_repetition", len(record["rounds"]))


class Tools:
    """Private copies of the binaries: a rebuild during a long measurement must not change them."""

    def __init__(self, dmlsim, delay_line, workdir):
        self.dmlsim = shutil.copy(os.path.abspath(dmlsim), os.path.join(workdir, "dmlsim"))
        self.delay_line = shutil.copy(os.path.abspath(delay_line), os.path.join(workdir, "delay_line"))


def release_lateness(detail):
    """How late the delay line released packets (both directions): a machine whose emulated link
    jitters shows here, so a surprising cell can be told from a changed TCP stack."""
    late = sum(v for k, v in detail.items() if k.endswith("late_over_1ms"))
    worst = max((v for k, v in detail.items() if k.endswith("max_late_us")), default=0.0)
    return f"releases >1 ms late {late}, latest {worst / 1e3:.2f} ms"


def measure(args, cells, out_dir):
    tools = Tools(args.dmlsim, args.delay_line, args.workdir)
    total = sum(c.estimate_s() for c in cells)
    log(f"measuring {len(cells)} cells (rough estimate {total / 60:.0f} min) into {out_dir}")
    records = []
    for i, cell in enumerate(cells):
        path = os.path.join(out_dir, cell.set, cell.id + ".json")
        if args.skip_existing and os.path.exists(path):
            with open(path) as f:
                record = json.load(f)
            d = record["drops"]
            # A cell whose emulator dropped anything (older harness: smaller TUN ring, laxer bound) is measured again.
            if d["emulator"] == 0:
                records.append(record)
                continue
        started = time.time()
        try:
            keep = os.path.join(args.keep_samples, cell.set) if args.keep_samples else None
            record = measure_cell(tools, cell, i, args.workdir, args.record_tcp, keep)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            log(f"  {cell.id}: FAILED {e}")
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f, indent=1)
        os.replace(path + ".tmp", path)
        records.append(record)
        d = record["drops"]
        reps = record.get("repetitions", [])
        medians = " ".join(f"{x['median']:.3f}" for x in reps)
        per_rep = f", repetitions' medians {medians} s" if reps else ""
        log(f"  {cell.id}: median {record['median']:.4f} s (IQR {record['iqr']:.4f} s){per_rep}, drops queue {d['queue']} "
            f"emulator {d['emulator']}, {release_lateness(d['detail'])}{' FLAGGED' if record['flagged'] else ''}; "
            f"{time.time() - started:.0f} s")
    return records


# ---------------------------------------------------------------- simulation and report

def simulated_json(args, dmlsim, profile, record, flows=None):
    """`calibrate simulate`'s JSON for a cell under a profile (with `flows` connections instead of the
    cell's when given), with --flows/--warmup/--rounds when that build has them (the connection model),
    else the stateless one-flow round; None when it cannot be simulated."""
    flows = record["flows"] if flows is None else flows
    out = os.path.join(args.workdir, "sim.json")
    cmd = [dmlsim, "calibrate", "simulate", "--profile", profile, "--latency", f"{record['latency']!r}s", "--bandwidth",
           f"{record['bandwidth']!r}Bps", "--sizes", str(record["bytes"]), "--gap", f"{record['gap'] * 1e3:g}ms", "--json", out]
    if simulate_has_flows(dmlsim):
        cmd += ["--flows", str(flows), "--warmup", str(record["warmup"]), "--rounds", str(measured_rounds(record))]
    elif flows != 1:
        return None
    r = sh(*cmd, check=False)
    if r.returncode != 0:
        log(f"simulate failed ({profile}, {record['id']}): {r.stderr.strip()}")
        return None
    with open(out) as f:
        return json.load(f)


def simulate(args, dmlsim, profile, record):
    """Simulated median round of a cell under a profile."""
    j = simulated_json(args, dmlsim, profile, record)
    if j is None:
        return None
    if "median" in j:
        return j["median"] if not isinstance(j["median"], list) else j["median"][0]
    return j["time"][0]


_FLOWS_CACHE = {}


def simulate_has_flows(dmlsim):
    if dmlsim not in _FLOWS_CACHE:
        _FLOWS_CACHE[dmlsim] = "--flows" in sh(dmlsim, "calibrate", "simulate", "--help", check=False).stdout
    return _FLOWS_CACHE[dmlsim]


def load_records(data_dirs, sets):
    records = []
    for d in data_dirs:
        for path in sorted(glob.glob(os.path.join(d, "*", "*.json"))):
            with open(path) as f:
                r = json.load(f)
            if r.get("contract") and r["set"] in sets:
                records.append(r)
    order = {"fit": 0, "validation": 1, "blind": 2, "ci": 3, "ab": 4, "sustain": 5}
    records.sort(key=lambda r: (order.get(r["set"], 9), r["flows"], r["bandwidth"], r["latency"], r["bytes"], r["priority"]))
    return records


def profile_label(spec):
    """--profile NAME, FILE or LABEL=FILE[@DMLSIM] -> (label, profile, dmlsim or None)."""
    label, _, rest = spec.partition("=") if "=" in spec else (None, None, spec)
    profile, _, dmlsim = rest.partition("@")
    if label is None:
        label = os.path.splitext(os.path.basename(profile))[0]
    return label, profile, dmlsim or None


def summarise(errors):
    if not errors:
        return "no cells"
    a = sorted(abs(e) for e in errors)
    within = lambda b: 100 * sum(1 for e in a if e <= b) / len(a)
    med = a[len(a) // 2] if len(a) % 2 else (a[len(a) // 2 - 1] + a[len(a) // 2]) / 2
    return (f"{len(a)} cells, {within(5):.0f} % within 5 %, {within(10):.0f} % within 10 %, "
            f"median |error| {med:.1f} %, worst {a[-1]:.1f} %")


def report(args, records):
    profiles = [profile_label(p) for p in args.profile]
    rows = []
    errors = {label: {"all": [], "validation": [], "blind": [], "contention": []} for label, _, _ in profiles}
    repeats = {r["id"]: r for r in load_records([args.repeat], {"fit", "validation", "blind"})} if args.repeat else {}
    head = "| set | bandwidth | one-way latency | size | flows | real median (IQR) | drops queue/emulator | " + \
        ("repeat run (change) | " if repeats else "") + " | ".join(label for label, _, _ in profiles) + " |"
    rows += [head, "|" + "---|" * (7 + bool(repeats) + len(profiles))]
    sims, changes = {}, []
    for r in records:
        if r["set"] == "sustain":
            continue
        cells = []
        for label, profile, dmlsim in profiles:
            s = simulate(args, dmlsim or args.dmlsim, profile, r)
            if s is None:
                cells.append("—")
                continue
            err = 100 * (s - r["median"]) / r["median"]
            sims.setdefault(r["id"], {})[label] = s
            if not r["flagged"] and r["set"] != "ab":
                errors[label]["all"].append(err)
                if r["set"] in ("validation", "blind"):
                    errors[label][r["set"]].append(err)
                if r["flows"] > 1:
                    errors[label]["contention"].append(err)
            cells.append(f"{s:.4f} s ({err:+.1f} %)")
        d = r["drops"]
        again = ""
        if repeats:
            again = "— | "
            twin = repeats.get(r["id"])
            if twin and not twin["flagged"] and not r["flagged"]:
                change = 100 * (twin["median"] - r["median"]) / r["median"]
                changes.append(change)
                again = f"{twin['median']:.4f} s ({change:+.1f} %) | "
        rows.append(f"| {r['set']}{' ' + r['priority'] if r['priority'] != 'rt' else ''} | {r['bandwidth'] * 8e-6:g} Mbit/s | "
                    f"{r['latency'] * 1e3:g} ms | {size_label(r['bytes'])} | {r['flows']} | {r['median']:.4f} s "
                    f"({100 * r['iqr'] / r['median']:.1f} %) | {d['queue']}/{d['emulator']}{' FLAGGED' if r['flagged'] else ''} | "
                    + again + " | ".join(cells) + " |")
    summary = []
    for label, _, _ in profiles:
        e = errors[label]
        summary.append(f"- **{label}**: all cells: {summarise(e['all'])}; validation cells only: {summarise(e['validation'])}; "
                       f"blind cells only: {summarise(e['blind'])}; contention cells (all sets): {summarise(e['contention'])}.")
    if changes:
        # Real TCP against itself: the floor under any model's error on these cells.
        summary.append(f"- **real TCP, repeat run vs this run** (fresh namespaces and connections, same grid): "
                       f"{summarise(changes).replace('|error|', '|change|')}.")
    return "\n".join(rows), "\n".join(summary), errors, sims


def steady_state_table(records):
    """Round index vs round time for every cell: whether the measured rounds reached a steady state."""
    rows = ["| cell | warm-up rounds (s) | measured rounds (s) | last third vs first third |", "|---|---|---|---|"]
    for r in records:
        t = [x["time"] for x in r["rounds"]]
        w = [x["time"] for x in r.get("warmup_rounds", [])]
        third = max(1, len(t) // 3)
        drift = 100 * (sum(t[-third:]) / third - sum(t[:third]) / third) / (sum(t[:third]) / third)
        rows.append(f"| {r['id']} | {' '.join(f'{x:.3f}' for x in w)} | {' '.join(f'{x:.3f}' for x in t)} | {drift:+.1f} % |")
    return "\n".join(rows)


def contention_table(records):
    """Per contention cell: when the first and the last flow finished (medians over rounds), the
    median over rounds of the last flow's finish divided by the first's (1 = perfectly fair), and
    which connection finished first most often (0 = the one the client writes first each round)."""
    rows = ["| cell | first flow done | last flow done (the round) | last / first | most often first: flow (share of rounds) |",
            "|---|---|---|---|---|"]
    for r in records:
        if r["flows"] < 2:
            continue
        first = [min(x["finish"]) for x in r["rounds"]]
        last = [max(x["finish"]) for x in r["rounds"]]
        ratio = [b / a for a, b in zip(first, last)]
        leaders = [x["finish"].index(min(x["finish"])) for x in r["rounds"]]
        leader = max(sorted(set(leaders)), key=leaders.count)
        rows.append(f"| {r['id']} | {quartiles(first)[1]:.3f} s | {quartiles(last)[1]:.3f} s | {quartiles(ratio)[1]:.2f} | "
                    f"{leader} ({100 * leaders.count(leader) / len(leaders):.0f} %) |")
    return "\n".join(rows)


def ranked_finish(rounds, flows):
    """Median over rounds of the k-th flow to finish, k = 0 … flows - 1: the staircase."""
    ranked = [sorted(x["finish"]) for x in rounds]
    return [quartiles([f[k] for f in ranked])[1] for k in range(flows)]


def staircase_rows(args, records):
    """Per contention cell: the real staircase against the model's and against two physical bounds.
    fair = 2 (L + N S / C) + gap: both directions fully used, the answers after all the requests (equal
    shares); step = (last - first) / (N - 1) divided by S / C, the time one message takes alone at
    the link's payload rate C (1: the flows are served one after another)."""
    label, profile, dmlsim = profile_label(args.profile[0])
    rows = []
    for r in records:
        if r["flows"] < 2 or r["flagged"]:
            continue
        n, size, rate = r["flows"], r["bytes"], r["bandwidth"] * PAYLOAD_SHARE
        real = ranked_finish(r["rounds"], n)
        sim = simulated_json(args, dmlsim or args.dmlsim, profile, r)
        alone = simulated_json(args, dmlsim or args.dmlsim, profile, r, flows=1)
        model = ranked_finish(sim["cells"][0]["rounds"], n) if sim and "cells" in sim else None
        rows.append({"record": r, "real": real, "model": model,
                     "alone": alone["median"][0] if alone and "median" in alone else None,
                     "fair": 2 * (r["latency"] + n * size / rate) + r["gap"],
                     "step": (real[-1] - real[0]) / (n - 1) / (size / rate)})
    return label, rows


def staircase_section(args, records):
    label, rows = staircase_rows(args, records)
    if not rows:
        return "No contention cell in this data set."
    table = [f"| set | cell | queue drops | real: k-th flow done (s) | {label}: k-th flow done (s) | real round / fair bound | "
             f"step / (S / C) | first flow / one flow alone ({label}) |", "|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        r = x["record"]
        stairs = lambda fs: " ".join(f"{f:.3f}" for f in fs) if fs else "—"
        first = f"{x['real'][0] / x['alone']:.2f}" if x["alone"] else "—"
        table.append(f"| {r['set']} | {r['id']} | {r['drops']['queue']} | {stairs(x['real'])} | {stairs(x['model'])} | "
                     f"{x['record']['median'] / x['fair']:.2f} | {x['step']:.2f} | {first} |")
    lossless = [x for x in rows if x["record"]["drops"]["queue"] == 0]
    spread = [x["real"][-1] / x["real"][0] for x in lossless]
    under = [x for x in rows if x["record"]["median"] < x["fair"]]
    over = [x for x in rows if x["record"]["median"] > x["fair"]]
    steps = sorted(x["step"] for x in rows)
    lat = lambda xs: ", ".join(sorted({f"{x['record']['latency'] * 1e3:g}" for x in xs}, key=float))
    findings = f"""Read from the {len(rows)} unflagged contention cells:

- **The staircase needs no loss.** {len(lossless)} cells lost no packet at the bottleneck queue, and their
  last flow still finished {min(spread, default=0):.2f}–{max(spread, default=0):.2f} times later than the first.
  Synchronized slow-start overshoot (the flows double their windows together, the queue overflows and
  the losers fall back) cannot be what orders the flows there; it can only add to the spread where
  the queue did drop.
- **Sometimes the link idles, sometimes both directions overlap.** The real round is longer than the
  fair bound (the link busy in both directions, the answers after all the requests) in {len(over)} cells
  (one-way {lat(over)} ms), by up to {max((x['record']['median'] / x['fair'] - 1) * 100 for x in over) if over else 0:.0f} %: some flow
  was window-limited while the link had room. It is shorter in {len(under)} cells (one-way {lat(under)} ms):
  early flows' answers travel while later requests still arrive, which equal shares exclude (the
  answers start only when every request is done), so a fair-share model overestimates those rounds.
- **Flows are served nearly one after another.** The median step between consecutive flows is
  {steps[len(steps) // 2]:.2f} times one message's time alone at the link rate (range {steps[0]:.2f}–{steps[-1]:.2f}), and
  the first flow takes {min(x['real'][0] / x['alone'] for x in rows if x['alone']):.2f}–{max(x['real'][0] / x['alone'] for x in rows if x['alone']):.2f} times a lone flow's round: even the flow
  written first does not run as if alone.

{chr(10).join(table)}"""
    return findings


PACKET_MODEL_RUNS = {}


def packet_model(record, hystart_delay=True, rounds_from_iw=True):
    """contention_model.model_cell, once per cell's parameters (it depends on nothing measured)."""
    key = (record["bandwidth"], record["latency"], record["bytes"], record["flows"], record["gap"], record["warmup"],
           measured_rounds(record), hystart_delay, rounds_from_iw)
    if key not in PACKET_MODEL_RUNS:
        sys.path.insert(0, HERE)
        import contention_model
        PACKET_MODEL_RUNS[key] = contention_model.model_cell(record, hystart_delay=hystart_delay, rounds_from_iw=rounds_from_iw)
    return PACKET_MODEL_RUNS[key]


def packet_model_rows(records):
    """The offline packet-level model (contention_model.py) on every unflagged model cell."""
    rows = []
    for r in records:
        if r["set"] in ("fit", "validation", "blind") and not r["flagged"]:
            m = packet_model(r)
            x = {"record": r, "model": m, "error": 100 * (m["median"] - r["median"]) / r["median"]}
            if r["flows"] > 1:  # the sensitivity check: HyStart without its delay sign
                x["train_only"] = packet_model(r, hystart_delay=False)
                x["train_only_error"] = 100 * (x["train_only"]["median"] - r["median"]) / r["median"]
            rows.append(x)
    return rows


def first_finisher_share(rounds):
    """Share of rounds in which flow 0 (the connection written first) finished first."""
    return sum(1 for f in rounds if f.index(min(f)) == 0) / len(rounds)


def restart_cell_error(records, rounds_from_iw, cell="b100M-l20ms-s2MiB-f1"):
    """The packet model's error on the cell where counting HyStart's rounds from 16 made it restart after idle."""
    found = [r for r in records if r["id"] == cell and not r["flagged"]]
    if not found:
        return "(not measured)"
    r = found[0]
    return f"{100 * (packet_model(r, rounds_from_iw=rounds_from_iw)['median'] - r['median']) / r['median']:+.0f} %"


def packet_model_section(args, records, sims):
    rows = packet_model_rows(records)
    if not rows:
        return "No model cell in this data set."
    label = profile_label(args.profile[0])[0]
    contention = [x for x in rows if x["record"]["flows"] > 1]
    single = [x for x in rows if x["record"]["flows"] == 1]
    errors_of = lambda xs: [x["error"] for x in xs]
    profile_error = lambda x: 100 * (sims[x["record"]["id"]][label] - x["record"]["median"]) / x["record"]["median"]
    table = [f"| cell | queue drops real / model | real: k-th flow done (s) | packet model: k-th flow done (s) | "
             f"real round (IQR) | packet model | without HyStart's delay sign | {label} | flow 0 first: real / model |",
             "|---|---|---|---|---|---|---|---|---|"]
    for x in contention:
        r, m = x["record"], x["model"]
        stairs = lambda fs: " ".join(f"{f:.3f}" for f in fs)
        real_first = first_finisher_share([y["finish"] for y in r["rounds"]])
        table.append(f"| {r['id']} | {r['drops']['queue']} / {m['drops']} | {stairs(ranked_finish(r['rounds'], r['flows']))} | "
                     f"{stairs(m['ranked'])} | {r['median']:.3f} s ({100 * r['iqr'] / r['median']:.0f} %) | "
                     f"{m['median']:.3f} s ({x['error']:+.1f} %) | {x['train_only_error']:+.1f} % | {profile_error(x):+.1f} % | "
                     f"{100 * real_first:.0f} % / {100 * first_finisher_share(m['finish']):.0f} % |")
    spread = lambda fs: fs[-1] / fs[0]
    real_spread = sorted(spread(ranked_finish(x["record"]["rounds"], x["record"]["flows"])) for x in contention)
    model_spread = sorted(spread(x["model"]["ranked"]) for x in contention)
    mid = lambda xs: xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
    slow = [x for x in contention if x["error"] < -10]
    fast = [x for x in contention if x["error"] > 10]
    lossless_slow = [x for x in slow if x["record"]["drops"]["queue"] == 0]
    off = sorted((x for x in single if abs(x["error"]) > 10), key=lambda x: -abs(x["error"]))
    off_list = ", ".join(f"{x['record']['id']} ({x['error']:+.0f} %, {label} {profile_error(x):+.0f} %)" for x in off)
    ids = lambda xs: ", ".join(x["record"]["id"] for x in xs) or "none"
    exits = [e for x in contention for e in x["model"]["first_exits"]]
    how = lambda kind: sum(1 for e in exits if (e[0] if e else None) == kind)
    window = lambda e: e[1] if e else math.inf
    smaller = sum(1 for x in contention if window(x["model"]["first_exits"][-1]) < window(x["model"]["first_exits"][0]))
    first_errors = ", ".join(
        f"{x['record']['id']} {100 * (x['model']['ranked'][0] / ranked_finish(x['record']['rounds'], x['record']['flows'])[0] - 1):+.0f} %"
        for x in lossless_slow) or "none"
    relative_iqr = lambda ts: 100 * (quartiles(ts)[2] - quartiles(ts)[0]) / quartiles(ts)[1]
    model_iqr = max(relative_iqr([max(f) for f in x["model"]["finish"]]) for x in contention)
    real_iqr = max(100 * x["record"]["iqr"] / x["record"]["median"] for x in contention)
    repeats = [abs(c) for c in (repeat_change(args, x["record"]) for x in contention) if c is not None]
    max_repeat = max(repeats, default=0)
    shifts = [abs(x["error"] - x["train_only_error"]) for x in contention]
    between = sum(1 for x in contention if min(x["model"]["median"], x["train_only"]["median"]) <= x["record"]["median"]
                  <= max(x["model"]["median"], x["train_only"]["median"]))
    bdp_packets = lambda r: r["bandwidth"] * 2 * r["latency"] / MTU_BYTES
    early = [x for x in single if x["model"]["first_exits"][0] and x["model"]["first_exits"][0][0] == "delay"
             and x["model"]["first_exits"][0][1] < bdp_packets(x["record"])]
    early_real_loss = [x for x in early if x["record"]["drops"]["queue"] > 0]
    restart_16, restart_iw = (restart_cell_error(records, rounds_from_iw) for rounds_from_iw in (False, True))
    short_story = (f" In the {len(lossless_slow)} short ones without a real queue drop the first flow is close (its error: "
                   f"{first_errors}) and the later flows finish too early: real TCP holds the late connections' windows "
                   f"lower than this model's HyStart and restart do." if lossless_slow else "")
    early_story = (f" On the single-flow cells, the model's delay sign ended the first slow start below the path's "
                   f"bandwidth-delay product in {len(early)} cells; in {len(early_real_loss)} of them real TCP filled the path and "
                   f"the queue (it lost packets there), the model in {sum(1 for x in early_real_loss if x['model']['drops'])}: a hint "
                   f"that the delay sign fires earlier in this model than in Linux." if early_real_loss else
                   f" On the single-flow cells, the model's delay sign never ended the first slow start below the path's "
                   f"bandwidth-delay product where real TCP filled the path and the queue.")
    return f"""## An offline packet-level model of the bottleneck (analysis, not a profile)

`tests/netfidelity/contention_model.py` replays the harness's same-size loop packet by packet, from
physical parameters only (nothing fitted, deterministic): per direction a link at the configured rate
(whole 1500-byte packets; ACKs are 52-byte packets in the reverse queue, behind the answers there)
behind a {QUEUE_PACKETS}-packet FIFO drop-tail queue, then the one-way latency; every connection a
Linux-like TCP sender (IW10, slow start with Linux's cwnd-limited rule, CUBIC with HyStart's ACK-train
and delay signs and its round trips counted from the initial window as on this kernel, SACK loss detection at three segments, the window cut to 0.7 at the start of recovery,
retransmission timeout, Linux's RTT estimator and RTO, restart after idle as `tcp_cwnd_restart`, the
profile's buffer cap) and a receiver that acknowledges every second segment and each message's end.
The client writes the connections' requests in connection order at one instant, so flow 0's burst
enters the FIFO first; the server answers a connection 10 ms after its request is complete. It asks
whether a FIFO bottleneck serving each connection in proportion to what it has queued, with real
windows, explains the contention rounds that `{label}` (equal shares through SimGrid's max-min solver)
misses. Run it alone with `/usr/bin/python3 tests/netfidelity/contention_model.py CELL.json…`.

|error| of the median round, unflagged cells:

- **packet model**: all cells: {summarise(errors_of(rows))}; single flow: {summarise(errors_of(single))}; contention cells: {summarise(errors_of(contention))}.
- **packet model without HyStart's delay sign** (ACK train only), contention cells: {summarise([x['train_only_error'] for x in contention])}.
- **{label}** on the same contention cells: {summarise([profile_error(x) for x in contention])}.

What it shows:

- **The staircase follows from the FIFO.** With equal physical parameters for every flow, the model's
  flows finish one after another (last / first: median {mid(model_spread):.2f}, range {model_spread[0]:.2f}–{model_spread[-1]:.2f};
  real {mid(real_spread):.2f}, {real_spread[0]:.2f}–{real_spread[-1]:.2f}), and flow 0, written first, finishes first in most
  rounds, as measured (last column). In the model the first slow start of the {len(exits)} request connections
  ended by HyStart's delay sign for {how('delay')}, its ACK train for {how('ack train')}, a loss for {how('loss')}, and never
  for {how(None)}; the connection written last left it at a smaller window than
  flow 0 in {smaller} of {len(contention)} cells. Its packets queue behind the earlier connections' bursts, so its
  round trips grow past HyStart's threshold first. The restart after each idle round brings a
  connection back only to three quarters of its last window (ssthresh), and CUBIC, 5 % per round
  trip before a first loss, regrows slowly, so the order persists from round to round, without any
  queue drop.
- **Where it still misses.** Model rounds more than 10 % short: {ids(slow)}; more than 10 % long:
  {ids(fast)}.{short_story} {sum(1 for x in fast if x['model']['drops'])} of the {len(fast)} long
  ones lost packets in the model, where how many rounds a loss and its recovery cost decides them: the model's own rounds of one cell vary by up to
  {model_iqr:.0f} % (IQR / median), the real ones by up to {real_iqr:.0f} %, and a repeat measurement of the grid moved
  the real contention medians by up to {max_repeat:.0f} %. A flow-level profile cannot do better than that
  spread on these cells; what the packet model shows it needs is per-connection shares that follow
  each connection's window through the FIFO, instead of an equal split.
- **The round is decided by where each connection leaves slow start.** Switching HyStart's delay
  sign off (the ACK train alone ends slow start) moves the model's contention errors by up to
  {max(shifts):.0f} points (median {mid(sorted(shifts)):.0f}); the real median lies between the two variants in {between} of
  {len(contention)} cells.{early_story} In the model it depends on where HyStart's rounds, counted in
  sequence numbers, fall on the bursts (a round that begins in the middle of a burst samples that
  burst's queue) and on the first eight RTT samples of a round: details a few packets wide, which
  decide the late connections' windows and with them the round.
- **Single flows: a check of the TCP part.** The packet model is within 10 % on
  {sum(1 for x in single if abs(x['error']) <= 10)} of {len(single)} single-flow cells without any fitting. Its larger misses,
  with {label}'s error on the same cell: {off_list or 'none'}. They were not chased here (the
  model tests the contention mechanism, it is not a profile). How thin such a threshold can be: with
  HyStart's round trips counted from 16 (`--rounds-from-16`), the fit cell b100M-l20ms-s2MiB-f1 is
  {restart_16} off, because the model's window leaves slow start near the path's capacity, its round
  stays just long enough for the idle time to exceed the RTO, and it restarts after idle every round,
  a state the real connection does not enter; counted from the initial window it is {restart_iw} off.

{chr(10).join(table)}
"""


def first_exit(rounds):
    """(round, window in packets, retransmissions so far) where a connection's first slow start ended, or None."""
    for x in rounds:
        if "exit" in x:
            return x["round"], x["exit"]["ssthresh"], x["exit"]["retrans"]
    return None


def median_of(xs):
    return quantile(sorted(xs), 0.5) if xs else None


def tcp_states(record):
    """Every recorded repetition's tcp_state in repetition order: `repetitions[k].tcp_state` (measure
    --record-tcp records each repetition), or the single top-level `tcp_state` of older files."""
    if "tcp_state" in record:
        return [record["tcp_state"]]
    return [rep["tcp_state"] for rep in record.get("repetitions", []) if "tcp_state" in rep]


def tcp_state_section(args, records):
    """The recorded windows (measure --record-tcp, in --cwnd DIR) against the packet model's."""
    sys.path.insert(0, HERE)
    from contention_model import IW
    recorded = [r for r in load_records([args.cwnd], {"validation", "blind"}) if tcp_states(r)] if args.cwnd else []
    if not recorded:
        return ""
    documented = {r["id"]: r for r in records}
    table = ["| cell | real round: recorded / documented | path (packets) | requests: first slow start ended at window (round), "
             "flows in write order | packet model: same | same, HyStart rounds from 16 | answers: same | retransmissions: requests / answers | "
             "requests, measured rounds: window at start, largest (median) |", "|---|---|---|---|---|---|---|---|---|"]
    measured_retrans = 0
    order_kept, exits_real, exits_model, by_loss, retrans, cells, ratios_first, ratios_last = 0, 0, 0, 0, 0, 0, [], []
    steady_share, steps_real, steps_model = [], [], []
    last_smaller, levels_real, levels_model, changes, repeated, lossless, restart_iw = 0, [], [], [], [], [], []
    levels_16, ratios_16_first, errors_16, errors_model, steps_16 = [], [], [], [], []
    requests_first_real = lambda state: (first_exit(state["requests"][0]) or (0, None))[1]
    for r in sorted(recorded, key=lambda r: (r["flows"], r["latency"], r["bytes"])):
        if r["flagged"]:
            continue
        cells += 1
        state, model, model_16 = tcp_states(r)[0], packet_model(r), packet_model(r, rounds_from_iw=False)
        from_16 = [e[1] if e else None for e in model_16["first_exits"]]
        levels_16 += [w for w in from_16 if w]
        if requests_first_real(state) and from_16[0]:
            ratios_16_first.append(from_16[0] / requests_first_real(state))
        requests = [first_exit(c) for c in state["requests"]]
        answers = [first_exit(c) for c in state["answers"]]
        windows = [e[1] if e else math.inf for e in requests]
        order_kept += all(a >= b for a, b in zip(windows, windows[1:]))
        last_smaller += windows[-1] < windows[0]
        levels_real += [e[1] for e in requests if e and e[0] == 0]
        exits_real += sum(1 for e in requests + answers if e)
        by_loss += sum(1 for e in requests + answers if e and e[2] > 0)
        sent_again = [sum(x["retrans"] for c in state[side] for x in c) for side in ("requests", "answers")]
        retrans += sum(sent_again)
        measured_retrans += sum(x["retrans"] for side in ("requests", "answers") for c in state[side] for x in c
                                if x["round"] >= r["warmup"])
        if sum(sent_again) == 0:
            lossless.append(r["id"])
        modelled = [e[1] if e else None for e in model["first_exits"]]
        exits_model += sum(1 for w in modelled if w)
        levels_model += [w for w in modelled if w]
        steps_real += [b / a for a, b in zip(windows, windows[1:]) if math.isfinite(a) and math.isfinite(b)]
        steps_model += [b / a for a, b in zip(modelled, modelled[1:]) if a and b]
        steps_16 += [b / a for a, b in zip(from_16, from_16[1:]) if a and b]
        if requests[0] and modelled[0]:
            ratios_first.append(modelled[0] / requests[0][1])
        if requests[-1] and modelled[-1]:
            ratios_last.append(modelled[-1] / requests[-1][1])
        measured = lambda c: [x for x in c if x["round"] >= r["warmup"]]
        starts = [median_of([x["cwnd_start"] for x in measured(c)]) for c in state["requests"]]
        largest = [median_of([x["cwnd_max"] for x in measured(c)]) for c in state["requests"]]
        steady_share += [s / e[1] for s, e in zip(largest, requests) if e and s]
        if all(x == IW for x in starts):
            restart_iw.append(r["id"])
        path = r["bandwidth"] * 2 * r["latency"] / MTU_BYTES
        twin = documented.get(r["id"])
        fmt_exits = lambda es: " ".join(f"{e[1]} ({e[0]})" if e else "—" for e in es)
        twin_median = f"{twin['median']:.3f}" if twin else "—"
        if twin:
            changes.append(100 * (r["median"] - twin["median"]) / twin["median"])
            errors_model.append(100 * (packet_model(twin)["median"] - twin["median"]) / twin["median"])
            errors_16.append(100 * (packet_model(twin, rounds_from_iw=False)["median"] - twin["median"]) / twin["median"])
            repeated.append(repeat_change(args, twin))
        table.append(f"| {r['id']} | {r['median']:.3f} / {twin_median} s | {path:.0f} | {fmt_exits(requests)} | "
                     f"{' '.join(f'{w:.0f}' if w else '—' for w in modelled)} | {' '.join(f'{w:.0f}' if w else '—' for w in from_16)} | "
                     f"{fmt_exits(answers)} | "
                     f"{sent_again[0]} / {sent_again[1]} | {' '.join(f'{a:.0f}/{b:.0f}' for a, b in zip(starts, largest))} |")
    mid = lambda xs: f"{median_of(xs):.2f}" if xs else "—"
    on_ladder = lambda ws: round(100 * sum(1 for w in ws if any(abs(w - (IW * 2 ** k + 16)) <= 0.05 * w for k in range(12)))
                                 / max(1, len(ws)))
    span = lambda xs: f"{min(xs):.2f}–{max(xs):.2f}" if xs else "—"
    return f"""## Measured TCP windows under contention

Generated from `{os.path.relpath(args.cwnd, SOURCE)}`: the contention cells measured again with

    sudo /usr/bin/python3 tests/netfidelity/run_fidelity.py measure --grid validation,blind --only 'f[2-8]$' --record-tcp --out-dir {os.path.relpath(args.cwnd, SOURCE)}

which runs `tests/netfidelity/tcp_sampler.py` in both namespaces (the probe's request connections and
`serve`'s answer connections), SCHED_FIFO below the endpoints on their CPU, never on the delay line's.
Every {SAMPLER_PERIOD_MS} ms it reads every connection's TCP_INFO through the kernel's socket-diagnostics
interface (what `ss -tin` reads), without starting a process per sample. Each cell's `tcp_state`
holds, per connection and round: the window at the round's start (after the restart after idle) and
its largest, the slow-start threshold at start and end, where slow start ended (the threshold newly
set or lowered: the window then, the time, the congestion state and the retransmissions so far),
retransmissions and the largest smoothed RTT. Windows are in packets (1448 B of payload); "path" is
the bandwidth-delay product at the link rate in 1500-byte packets; flows are in the order the probe
writes them each round; a round is told from the bytes the connection has had acknowledged.
Rounds are numbered from the first warm-up round.

- **The recording and the round.** The recorded cells' real medians differ from the documented
  measurement of the same cell by a median {mid([abs(c) for c in changes])} % (largest {max(changes, key=abs, default=0):+.1f} %); the
  repeat run (without recording) moved the same cells by a median {mid([abs(c) for c in repeated if c is not None])} % (largest
  {max((c for c in repeated if c is not None), key=abs, default=0):+.1f} %).
- **Where each connection leaves slow start.** Of the {2 * sum(r['flows'] for r in recorded if not r['flagged'])} connections (requests and
  answers) of {cells} cells, {exits_real} left their first slow start during the cell, {by_loss} of them with a
  retransmission already counted (a loss, not HyStart). The request connections' windows at that point
  never grow with the write order in {order_kept} of {cells} cells, and the connection written last leaves
  at a smaller window than the one written first in {last_smaller} of {cells}: the next connection's window over
  the previous one's is a median {mid(steps_real)} (range {span(steps_real)}); in the packet model {mid(steps_model)}
  (range {span(steps_model)}): in the model the later connections leave together, in Linux each one
  round trip of slow start earlier than the one before it.
- **A ladder of windows.** {on_ladder(levels_real)} % of the request connections' first-round exits (in Linux) fall within
  5 % of IW·2^k + 16 packets (IW = {IW}: the window at the start of a slow-start round trip, plus the 16 that
  HyStart's first 8 ACK samples of that round trip add; values {', '.join(str(w) for w in sorted(set(levels_real)))}); the packet
  model's, {on_ladder(levels_model)} % (values {', '.join(f'{w:.0f}' for w in sorted(set(levels_model)))}): like this kernel, it
  counts HyStart's round trips from the initial window (Linux since "tcp_cubic: fix incorrect HyStart
  round start detection", 25c1a9ca53db), so its round trips begin at IW·2^k.
- **HyStart's round trips counted from a window of 16** (`contention_model.py --rounds-from-16`, Linux
  before that commit; the packet model until it was compared with these recordings):
  {on_ladder(levels_16)} % of its exits on the ladder (values {', '.join(f'{w:.0f}' for w in sorted(set(levels_16)))}), flow 0's window over
  the real one a median {mid(ratios_16_first)} (range {span(ratios_16_first)}), the next connection's over the previous one's
  {mid(steps_16)} (range {span(steps_16)}). |error| of the round on these {len(errors_model)} contention cells (documented
  measurements): counted from the initial window {summarise(errors_model)}; counted from 16 {summarise(errors_16)}.
- **Losses.** {retrans} retransmitted segments over all connections and rounds, {measured_retrans} of them in
  measured rounds; {len(lossless)} of {cells} cells retransmitted nothing: {', '.join(lossless) or 'none'}.
- **The packet model's windows.** Its request connections left slow start in {exits_model} cases. Model over real
  window at the first exit: flow 0 median {mid(ratios_first)} (range {span(ratios_first)}), the flow
  written last {mid(ratios_last)} (range {span(ratios_last)}).
- **After the first round.** In the measured rounds each request connection restarts after idle and its
  largest window reaches a median {mid(steady_share)} times (range {span(steady_share)}) the window at which it
  left slow start. In {len(restart_iw)} cells ({', '.join(restart_iw) or 'none'}) every request connection starts every
  measured round at the initial window {IW}, as after an idle of several RTOs (the restart after idle
  halves the window once per RTO idle, down to the initial window).

{chr(10).join(table)}
"""


def spread_section(args, records):
    """Every repetition's windows recorded (--spread DIR, spread_analysis.py): what separates the
    discrete states of a contention cell; the documented cells' delay-line lateness beside it."""
    if not args.spread or not os.path.isdir(args.spread):
        return ""
    sys.path.insert(0, HERE)
    import spread_analysis
    cells = [r for r in records if r["flows"] > 1 and not r["flagged"]]
    late = [sum(v for k, v in r["drops"]["detail"].items() if k.endswith("late_over_1ms")) for r in cells]
    latest = [max((v for k, v in r["drops"]["detail"].items() if k.endswith("max_late_us")), default=0) for r in cells]
    documented = (f"at most {max(late)} releases over 1 ms late per cell (all repetitions together) and at most "
                  f"{max(latest) / 1e3:.0f} ms" if cells else None)
    command = f"/usr/bin/python3 tests/netfidelity/spread_analysis.py --markdown {os.path.relpath(args.spread, SOURCE)}"
    return spread_analysis.markdown([args.spread], command, documented)


def repeat_change(args, record):
    """Relative change (percent) of the repeat run's median for this cell, None without one."""
    if not args.repeat:
        return None
    path = os.path.join(args.repeat, record["set"], record["id"] + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        twin = json.load(f)
    return None if twin.get("flagged") else 100 * (twin["median"] - record["median"]) / record["median"]


def other_invocations(args):
    """Measurements of contention cells by other invocations of the harness, by label: the repeat run,
    the run that recorded the windows, and single runs of the ci grid (--invocations)."""
    runs = [("repeat run", args.repeat), ("windows recorded", args.cwnd)]
    if args.invocations:
        runs += [(f"ci run {k + 1}", d) for k, d in enumerate(sorted(glob.glob(os.path.join(args.invocations, "*"))))]
    found = []
    for label, d in runs:
        if d and os.path.isdir(d):
            cells = {r["id"]: r for r in load_records([d], {"validation", "blind", "ci"}) if r["flows"] > 1 and not r["flagged"]}
            found.append((label, cells))
    return found


def repetition_section(args, records, sims, label):
    """Per contention cell: each repetition's median, the pooled median, what other invocations of
    the harness measured, and whether the model's round lies among them."""
    cells = [r for r in records if r.get("repetitions") and not r["flagged"]]
    if not cells:
        return "No contention cell in this data set was measured in repetitions."
    others = other_invocations(args)
    rows = ["| set | cell | this run: repetitions' medians (s) | pooled median (IQR) | other runs' medians (s) | "
            f"all runs: largest / smallest | {label} |", "|---|---|---|---|---|---|---|"]
    within, across, inside = [], [], []
    for r in cells:
        meds = [x["median"] for x in r["repetitions"]]
        elsewhere = [(name, found[r["id"]]["median"]) for name, found in others if r["id"] in found]
        every = [r["median"]] + [m for _, m in elsewhere]
        within.append(max(meds) / min(meds))
        across.append(max(every) / min(every))
        model = sims.get(r["id"], {}).get(label)
        verdict = "—"
        if model is not None:
            inside.append(min(every + meds) <= model <= max(every + meds))
            verdict = f"{model:.3f} s ({'within' if inside[-1] else 'outside'} the measured range)"
        rows.append(f"| {r['set']} | {r['id']} | {' '.join(f'{m:.3f}' for m in meds)} | {r['median']:.3f} s "
                    f"({100 * r['iqr'] / r['median']:.0f} %) | {'; '.join(f'{n} {m:.3f}' for n, m in elsewhere) or '—'} | "
                    f"{across[-1]:.2f} | {verdict} |")
    worst = max(zip(across, cells), key=lambda x: x[0])
    lossless = [w for w, r in zip(within, cells) if r["drops"]["queue"] == 0]
    lossy = [w for w, r in zip(within, cells) if r["drops"]["queue"] > 0]
    return "\n".join(rows) + f"""

Each contention cell is measured in {CONTENTION_REPEATS} repetitions, each on a fresh link with fresh connections, a
few seconds apart. Within one run the repetitions' medians lie a median {100 * (median_of(within) - 1):.0f} % apart
(largest over smallest); in the {len(lossless)} cells without a queue drop at most {100 * (max(lossless, default=1) - 1):.0f} %,
in the {len(lossy)} with queue drops (where loss recovery sets the round) up to {100 * (max(lossy, default=1) - 1):.0f} %. Without
losses, which connection leaves slow start when is settled in the first rounds and persists through
the thresholds the connections keep across idle restarts (see "Measured TCP windows under
contention"), and consecutive repetitions on the same machine settle it the same way. Other runs of the same cells, minutes to days apart, moved
them further: over all runs the largest median is a median {100 * (median_of(across) - 1):.0f} % above the smallest
(worst {worst[1]['id']}, {100 * (worst[0] - 1):.0f} %). Nothing in the drop counters or the delay line's lateness
separates the runs; what does is the timing: where each connection leaves slow start in the first
rounds, and how often each restart after idle halves a window, a count that changes in steps as the
idle crosses whole RTOs (below, "What separates the discrete states"). A contention cell's real round is
therefore known only to within that spread on this machine, and `netfidelity` (CI) reports its
contention cells without judging their real medians. {label}'s round lies within the measured
range in {sum(inside)} of {len(inside)} cells."""


def doc_text(args, records, table, summary, sims):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()} (Linux {platform.release()}, {os.cpu_count()} CPUs)"
    ab = [r for r in records if r["set"] == "ab"]
    ab_lines = "\n".join(f"- {r['priority']} priority: median {r['median']:.3f} s (IQR {r['iqr']:.3f} s), "
                         f"emulator drops {r['drops']['emulator']}, modelled queue drops {r['drops']['queue']}"
                         for r in ab) or "- not measured in this data set"
    flagged = [r["id"] for r in records if r["flagged"]]
    measured = {r["id"] for r in records}
    missing = [c.id for g in ("fit", "validation", "blind", "ab", "sustain") for c in grid(g) if c.id not in measured]
    sustain_lines = "\n".join(
        f"- {r['bandwidth'] * 8e-6:g} Mbit/s configured: {r['measured_rate'] * 8e-6:.1f} Mbit/s of TCP payload "
        f"({100 * r['measured_rate'] / r['bandwidth']:.1f} %), emulator drops {r['drops']['emulator']}, "
        f"delay-line releases over 1 ms late: {sum(v for k, v in r['drops']['detail'].items() if k.endswith('late_over_1ms'))}"
        for r in records if r["set"] == "sustain") or "- not measured in this data set"
    text = f"""# Network fidelity: simulated vs real Linux TCP

Generated {when} on {machine} by

    sudo /usr/bin/python3 tests/netfidelity/run_fidelity.py measure --grid fit,validation,blind,ab,sustain --out-dir DATA
    /usr/bin/python3 tests/netfidelity/run_fidelity.py report {' '.join('--data ' + d for d in args.data)} {' '.join('--profile ' + repr(p) if ' ' in p else '--profile ' + p for p in args.profile)} --write-doc docs/network-fidelity.md

{args.note + chr(10) if args.note else ''}
## How the real side is measured

Two network namespaces joined by a user-space emulated link (`delay_line`: two TUN devices; per
direction it serialises packets at the link rate behind a {QUEUE_PACKETS}-packet drop-tail queue,
the modelled bottleneck, then delays them by the one-way latency). Linux TCP defaults inside the
namespaces (cubic per socket, tcp_rmem {SYSCTLS['net.ipv4.tcp_rmem']}, tcp_wmem {SYSCTLS['net.ipv4.tcp_wmem']},
slow start after idle), TCP_NODELAY, MTU {MTU_BYTES} B. The delay line runs under SCHED_FIFO pinned
to CPU {LINE_CPU}, `dmlsim calibrate serve` and `probe` under SCHED_FIFO pinned to CPU {ENDPOINT_CPU}. The TUN
devices' rings (the kernel's handoff to the delay line, not the modelled queue) hold {TUN_RING_PACKETS}
packets: at the default 500 a sender's burst on a long fat link overflowed them although the delay
line was never more than 2 ms late.

A cell is one fresh link and fresh connection(s) running a same-size loop, as a training run
does: each of `flows` connections sends S bytes at the same instant, the server waits the 10 ms
gap and answers S bytes on each, the round ends when the last answer has arrived. Warm-up rounds,
then measured rounds; real = the median of the measured rounds, IQR relative to it. A contention
cell (several flows) is measured {CONTENTION_REPEATS} times, each time on a fresh link with fresh connections,
and its real median and IQR pool the rounds of all repetitions (below, "Repetitions").

Drops: `queue` counts the modelled drop-tail queue's drops (real TCP sees those at a real
bottleneck too); `emulator` counts what the emulator lost on its own: the TUN devices' and their
qdiscs' drop counters read inside the namespaces before and after the cell, the kernel's input
backlog drops, and the delay line's failed writes. A cell with more emulator drops than 1 per
10,000 of its packets (at least 2 allowed) is measured once more and, if it fails again, kept but flagged
and left out of every summary (`calibrate fit` refuses a flagged measurement).
Flagged cells: {', '.join(flagged) if flagged else 'none'}.
Grid cells without a measurement in this data set: {', '.join(missing) if missing else 'none'}.

### Repetitions of the contention cells

{repetition_section(args, records, sims, profile_label(args.profile[0])[0])}

### Normal vs real-time priority (the emulator artefact)

72.5 ms one-way, 100 Mbit/s, 1 MB, 3 warm-up + 9 measured rounds, one connection, the TUN rings
at their default 500 packets (the harness as the issue found it, plus real-time priority or not),
measured while other builds loaded the machine:

{ab_lines}

### Does the delay line sustain the link rate?

Bulk TCP rate through the delay line at 2 ms one-way (`calibrate probe`'s bandwidth measurement:
the receiver's rate over the second half of a transfer of about two seconds' worth, best of two;
TCP payload, so about 96.5 % of the link's IP rate is the most it can show):

{sustain_lines}

## Summary

Sets: `fit` cells (100 Mbit/s, one flow, {' and '.join(f'{l:g}' for l in FIT_LATENCIES_MS)} ms) are the only ones a
profile may be fitted on; `validation` cells (latencies {', '.join(f'{l:g}' for l in VALIDATION_LATENCIES_MS)} ms at
100 Mbit/s, fewer at 10 Mbit/s and 1 Gbit/s, 4 and 8 flows at {' and '.join(f'{l:g}' for l in CONTENTION_LATENCIES_MS)} ms) were never fitted;
`blind` cells (latencies, sizes and flow counts in neither: {BLIND_NOTE}) were measured after the
profile was frozen and are reported as they came.
Error = (simulated - real) / real of the median round; |error| statistics over unflagged cells:

{summary}

## Every cell

{table}

## Contention: how unevenly the flows finish

All flows start their S bytes at the same instant; real TCP does not share the bottleneck evenly
within a round, and the slowest flow sets the round. The order persists from round to round: the
connection the client writes first (flow 0) finishes first in most rounds of most cells (last
column), which points to the order in which the flows' windows enter the bottleneck's FIFO queue
rather than chance (a reading of the finish times: the harness records no packet traces).

**What linux-tcp assumes about fairness.** Each connection expects an equal share of its route's
narrowest link among the connections sending through it (those still sending when its message
starts, or as many as shared it during its previous message), and counts its window rounds
against that share; SimGrid's max-min solver then shares the link equally between flows of equal
route latency, so the model's flows of one round finish together. The model therefore predicts a
contention round well where the flows are bandwidth-bound (8 MiB, 4 flows) and too short where the
slowest flow is window-bound after restarting from idle (1 MiB at 80 ms, 8 MiB with 8 flows). Two
further mechanisms were tried on the fit and validation cells and not kept, as neither improved the
contention cells overall (the 80 ms cells moved by under 3 points or away from the measurement):
(a) every window round of a message waits behind the standing queue the other flows' windows hold
beyond the bandwidth-delay product; (b) it waits behind the first
windows of the flows that started before it at the same instant (FIFO order). Modelling the
staircase needs the flows' shares to follow their windows (a FIFO serves each flow in proportion to
what it has queued), which SimGrid's equal-weight max-min sharing cannot express through factor
callbacks; that is the open part of the issue. The analysis below (a second engineer's, offline on
the recorded finish times, no model change kept) narrows it: the staircase appears without any
queue drop, so a model of synchronized slow-start overshoot alone cannot produce it, and the
flows' spacing, in half the cells within a quarter of one message's time at the link rate per
flow, is what a FIFO bottleneck serving one flow's queued data after another's would give. A third mechanism was tried and not
kept: HyStart's delay sign biased by FIFO position (a connection whose slow-start window queues
behind those of the connections already sending leaves slow start once that wait reaches
HyStart's threshold, then grows by CUBIC's 5 % per round trip). With the whole earlier windows
queued it ordered the flows but made most 4- and 8-flow rounds far too long (the late flows crawl);
with only the earlier flows' slow-start growth queued it still overshot most 1 MiB rounds of 4-8 flows and left
2 flows at 50 ms unchanged; counting only what all the windows hold beyond the path, it never fired. The
real rounds fall between the outcomes of exit windows a doubling apart: where a late flow leaves
slow start decides the round, and this threshold model places it too coarsely. Per-flow rate bounds set from the actors
(`simgrid::s4u::Comm::set_rate`) could express unequal shares, but every `put` of the simulator
would have to ask the connection model for its flow's rate before it starts.

{contention_table(records)}

### The staircase against the model and two bounds

{staircase_section(args, records)}

{packet_model_section(args, records, sims)}
{tcp_state_section(args, records)}
{spread_section(args, records)}

## Steady state: round index vs round time

{steady_state_table([r for r in records if r['set'] not in ('ab', 'sustain')])}
"""
    return text


def without_generated_line(text):
    """The document's head names when and where it was generated; the rest must be reproducible."""
    return [line for line in text.splitlines() if not line.startswith("Generated ")]


def check_doc(path, text):
    """Exit status 1 with a diff when the shipped document is not what the shipped data and model give."""
    with open(path) as f:
        shipped = f.read()
    diff = list(difflib.unified_diff(without_generated_line(shipped), without_generated_line(text),
                                     path, "regenerated", lineterm=""))
    if diff:
        print("\n".join(diff[:80]))
        print(f"FAIL: {path} is not what the shipped measurements and profiles give; regenerate it with --write-doc")
        return 1
    print(f"PASS: {path} reproduces from the shipped measurements and profiles")
    return 0


# ---------------------------------------------------------------- commands

def cubic_parameters():
    """The host's CUBIC module parameters (HyStart's among them): they shape how contention cells behave."""
    found = sorted(glob.glob("/sys/module/tcp_cubic/parameters/*"))
    values = []
    for path in found:
        with open(path) as f:
            values.append(f"{os.path.basename(path)}={f.read().strip()}")
    return " ".join(values) or "not readable"


def ci_verdict(args, records):
    """The CI criterion checks that the documented figures hold, not that a target is met (the
    targets and how far each profile is from them are stated in docs/network-fidelity.md):
    1. real TCP reproduces the documented median of every one-flow reduced-grid cell (tests/netfidelity/data)
       within max(--max-real-change, twice the documented IQR): else the harness or the stack changed.
       Contention cells are reported, not judged here: their real median moves with the machine and
       its load by more than any model error we could check (docs/network-fidelity.md, "Repetitions");
    2. the pass profile's |error| on the fresh measurement is within --max-error, or at most
       --max-error-change points (plus the real median's move) above its documented |error| on
       that cell: else the model fits this machine's TCP worse than documented.
    A flagged cell (emulator drops twice) fails the run, as it judged nothing."""
    print(f"machine: {records[0]['machine'] if records else platform.node()}; tcp_cubic: {cubic_parameters()}")
    if any(r["flagged"] for r in records):
        print("FAIL: flagged cells (emulator drops): " + ", ".join(r["id"] for r in records if r["flagged"]))
        return 1
    documented = {r["id"]: r for r in load_records([args.documented], {"fit", "validation"})}
    label, profile, dmlsim = profile_label(args.pass_profile)
    failures, fresh_errors = [], []
    for r in records:
        d = documented.get(r["id"])
        if d is None:
            failures.append(f"{r['id']}: no documented measurement in {args.documented}")
            continue
        change = 100 * (r["median"] - d["median"]) / d["median"]
        judged = r["flows"] == 1  # contention cells: reported, not judged (docstring, 1.)
        allowed_change = max(args.max_real_change, 200 * d["iqr"] / d["median"]) if judged else None
        fresh, then = simulate(args, dmlsim or args.dmlsim, profile, r), simulate(args, dmlsim or args.dmlsim, profile, d)
        if fresh is None or then is None:
            failures.append(f"{r['id']}: {label} cannot simulate the cell")
            continue
        err, err_doc = 100 * (fresh - r["median"]) / r["median"], 100 * (then - d["median"]) / d["median"]
        fresh_errors.append(err)
        allowed = f"allowed ±{allowed_change:.1f} %" if judged else "contention: reported, not judged"
        print(f"{r['id']}: real {r['median']:.4f} s vs documented {d['median']:.4f} s ({change:+.1f} %, {allowed}); "
              f"{label} {err:+.1f} % (documented {err_doc:+.1f} %)")
        if judged and abs(change) > allowed_change:
            failures.append(f"{r['id']}: real TCP moved {change:+.1f} % from the documented median")
        # One-sided: a model closer to real TCP than documented never fails, and the error may grow
        # by as much as the real median legitimately moved (a model regression is caught
        # deterministically by netfidelity.documented, which regenerates the document).
        if abs(err) > max(args.max_error, abs(err_doc) + args.max_error_change + abs(change)):
            failures.append(f"{r['id']}: {label} is {err:+.1f} % off, documented {err_doc:+.1f} %")
    a = sorted(abs(e) for e in fresh_errors)
    if a:
        within = 100 * sum(e <= 10 for e in a) / len(a)
        print(f"{label} on the reduced grid: {within:.0f} % of cells within 10 %, median |error| {a[len(a) // 2]:.1f} %, "
              f"worst {a[-1]:.1f} % (the issue's targets: >= 90 % within 10 %, median <= 5 %)")
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print(f"PASS: every one-flow cell reproduces its documented real median, and {label}'s documented error holds on every cell")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["measure", "report", "ci", "plan"])
    parser.add_argument("--dmlsim", default=os.path.join(SOURCE, "build", "dmlsim"))
    parser.add_argument("--delay-line", default=os.path.join(SOURCE, "build", "tests", "delay_line"))
    parser.add_argument("--grid", default="fit,validation", help="comma-separated: fit, validation, blind, ab, sustain, ci")
    parser.add_argument("--only", help="measure only cells whose id matches this regular expression")
    parser.add_argument("--out-dir", help="measure: write DIR/<set>/<cell>.json")
    parser.add_argument("--record-tcp", action="store_true",
                        help="measure: sample every connection's TCP_INFO (window, threshold, retransmissions) in both "
                        "namespaces and store it per round and connection as the cell's tcp_state")
    parser.add_argument("--keep-samples", metavar="DIR",
                        help="measure --record-tcp: also keep tcp_sampler.py's raw samples, DIR/<set>/<cell>/<cell>.rep<k>.tcp<0|1>.json "
                        "(0: the probe's namespace, 1: serve's)")
    parser.add_argument("--skip-existing", action="store_true", help="measure: keep cells already in --out-dir")
    parser.add_argument("--data", action="append", default=[], help="report: measured cells (DIR/<set>/*.json), repeatable")
    parser.add_argument("--profile", action="append", default=[],
                        help="a profile to compare (name, file, or LABEL=FILE[@DMLSIM] to simulate with another build); repeatable")
    parser.add_argument("--write-doc", help="report: write the markdown report here")
    parser.add_argument("--check-doc", help="report: exit 1 unless this document is what the data and profiles give "
                        "(all but its 'Generated' line)")
    parser.add_argument("--cwnd", default=os.path.join(HERE, "data-cwnd"),
                        help="report: contention cells measured with --record-tcp (DIR/<set>/*.json), their section if present")
    parser.add_argument("--spread", default=os.path.join(HERE, "data-spread"),
                        help="report: contention cells measured with every repetition's windows recorded (DIR/<run>/<set>/*.json), "
                        "spread_analysis.py's section if present")
    parser.add_argument("--invocations", default=os.path.join(HERE, "data-invocations"),
                        help="report: single runs of the ci grid's contention cells by separate invocations (DIR/<run>/<set>/*.json)")
    parser.add_argument("--repeat", help="report: a second measurement of the same grid (DIR/<set>/*.json), compared cell by cell")
    parser.add_argument("--note", help="report: a paragraph for the document's head (e.g. which build simulated)")
    parser.add_argument("--pass-profile", default="linux-tcp", help="ci: the profile the pass criterion applies to")
    parser.add_argument("--max-error", type=float, default=10.0,
                        help="ci: |error| (percent) of --pass-profile accepted on a cell whatever its documented error")
    parser.add_argument("--max-error-change", type=float, default=10.0,
                        help="ci: beyond --max-error, percentage points the error may move from its documented value")
    parser.add_argument("--max-real-change", type=float, default=10.0,
                        help="ci: percent the fresh real median may move from the documented one (or twice its IQR)")
    parser.add_argument("--documented", default=os.path.join(HERE, "data"),
                        help="ci: the documented measurements (DIR/<set>/*.json)")
    args = parser.parse_args()
    args.dmlsim = os.path.abspath(args.dmlsim)
    if not args.profile:
        args.profile = ["linux-tcp", "cm02"]

    cells = [c for g in args.grid.split(",") for c in grid(g)] if args.command != "ci" else grid("ci")
    if args.only:
        cells = [c for c in cells if re.search(args.only, c.id)]
    if args.command == "plan":
        for c in cells:
            print(f"{c.set:10} {c.id:32} warmup {c.warmup:2} rounds {c.rounds:2} ~{c.estimate_s():5.0f} s")
        print(f"total ~{sum(c.estimate_s() for c in cells) / 60:.0f} min")
        return 0
    with tempfile.TemporaryDirectory(prefix="dmlsim-netfidelity-") as workdir:
        args.workdir = workdir
        if args.command == "report":
            records = load_records(args.data, {"fit", "validation", "blind", "ab", "ci", "sustain"})
            table, summary, _, sims = report(args, records)
            print(table + "\n\n" + summary)
            text = doc_text(args, records, table, summary, sims)
            if args.write_doc:
                with open(args.write_doc, "w") as f:
                    f.write(text)
            return check_doc(args.check_doc, text) if args.check_doc else 0
        reason = skip_reason()
        if reason:
            print(f"SKIP network fidelity: {reason}")
            return SKIP
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally blocks
        if args.command == "measure":
            if not args.out_dir:
                parser.error("measure needs --out-dir")
            measure(args, cells, args.out_dir)
            return 0
        # ci: the reduced grid, then the pass criterion for one profile.
        out_dir = os.path.join(workdir, "cells")
        records = measure(args, cells, out_dir)
        if len(records) != len(cells):
            print("FAIL: some cells could not be measured")
            return 1
        table, summary, _, sims = report(args, records)
        print(table + "\n\n" + summary)
        return ci_verdict(args, records)


if __name__ == "__main__":
    sys.exit(main())
