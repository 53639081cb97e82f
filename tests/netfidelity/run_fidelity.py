#!/usr/bin/python3
"""Network fidelity of dmlsim's network profiles against the real Linux TCP stack.

Builds two network namespaces joined by an emulated link (delay_line: two TUN devices, serialise at
the rate then delay), runs `dmlsim calibrate serve` in one and `dmlsim calibrate probe` in the
other at one-way latencies {0.5, 25, 100} ms and message sizes {248 B, 64 KiB, 1 MB, 8 MB}, and
compares the real round times (S bytes out, 10 ms compute, S bytes back; median) with the simulated
ones under every profile in profiles/. Also checks that the profile `calibrate probe` writes for
each link reproduces its own measurements. All traffic stays inside the namespaces, which are
removed on exit. Exit 77 (skipped) without root, network namespaces or /dev/net/tun.

    run_fidelity.py --dmlsim build/dmlsim --delay-line build/tests/delay_line [--write-doc docs/network-fidelity.md]
    run_fidelity.py ... --fit-linux-tcp     # re-measure the grid and refit profiles/linux-tcp.xml first
"""
import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
LATENCIES_MS = [0.5, 25, 100]  # the validation grid: linux-tcp must match it within --max-error
UNFITTED_MS = [60]  # validated too, never fitted: linux-tcp interpolates between its 50 and 72.5 ms rows
# linux-tcp's rows (--fit-linux-tcp): the validation grid, the shipped WAN's links (40, 72.5, 110 ms)
# and latencies between and beyond them (the latency sweep goes to 200 ms).
FIT_LATENCIES_MS = [0.5, 10, 25, 40, 50, 72.5, 100, 110, 150, 200]
SIZES = [248, 65536, 1000000, 8000000]
RATE_MBIT = 100
QUEUE_PACKETS = int(os.environ.get("DMLSIM_NF_QUEUE", "1000"))
GAP = "10ms"
PORT = 5201
WARMUP = 3  # unmeasured rounds per size: TCP settles after a size change
CONGESTION = "cubic"  # Linux's default (this host is tuned to bbr)
LINUX_TCP_DESCRIPTION = (
    "dmlsim's default network: fitted to Linux TCP (cubic, default buffers) rounds on 100 Mbit/s links of"
    " 0.5-200 ms one-way, slow start and window growth included; validated in docs/network-fidelity.md")
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def skip_reason():
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
    return None


class Link:
    """Two namespaces joined by the delay line; removed by close() (also on signals and errors)."""

    def __init__(self, delay_line, latency_ms, index):
        tag = f"{os.getpid() % 100000}{index}"
        self.ns = [f"dmlsim-nf{tag}a", f"dmlsim-nf{tag}b"]
        self.dev = [f"nf{tag}a", f"nf{tag}b"]
        self.addr = ["10.199.1.1", "10.199.1.2"]
        self.procs = []
        try:
            self._setup(delay_line, latency_ms)
        except BaseException:
            self.close()
            raise

    def _setup(self, delay_line, latency_ms):
        for ns in self.ns:
            sh("ip", "netns", "add", ns)
        line = subprocess.Popen([delay_line, "--dev-a", self.dev[0], "--dev-b", self.dev[1], "--delay-ms", str(latency_ms),
                                 "--rate-mbit", str(RATE_MBIT), "--queue-packets", str(QUEUE_PACKETS), "--max-seconds", "900"],
                                stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        self.procs.append(line)
        if line.stdout.readline().strip() != "ready":
            raise RuntimeError("the delay line did not start")
        for i in (0, 1):
            ns, dev = self.ns[i], self.dev[i]
            sh("ip", "link", "set", dev, "netns", ns)
            sh("ip", "-n", ns, "addr", "add", self.addr[i], "peer", self.addr[1 - i], "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # Linux's own defaults, whatever the host was tuned to (this one: bbr, 32 MB buffers).
            # (A namespace may not change its default congestion control: serve and probe ask for cubic.)
            for key, value in (("net.ipv4.tcp_rmem", "4096 131072 6291456"), ("net.ipv4.tcp_wmem", "4096 16384 4194304"),
                               ("net.ipv4.tcp_slow_start_after_idle", "1")):
                sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}")

    def spawn(self, side, args, **kw):
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns[side]] + args, **kw)
        self.procs.append(proc)
        return proc

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


def measure(args, latency_ms, index, sizes, rounds, workdir):
    """Real rounds over one emulated link; returns (probe json path, probe profile path)."""
    link = Link(args.delay_line, latency_ms, index)
    try:
        serve = link.spawn(1, [args.dmlsim, "calibrate", "serve", "--port", str(PORT), "--bind", link.addr[1], "--once",
                               "--timeout", "120", "--tcp-congestion", CONGESTION], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        if "serving" not in serve.stdout.readline():
            raise RuntimeError("calibrate serve did not start")
        stem = os.path.join(workdir, f"probe-{latency_ms}ms")
        probe = link.spawn(0, [args.dmlsim, "calibrate", "probe", f"{link.addr[1]}:{PORT}", "--sizes",
                               ",".join(map(str, sizes)), "--rounds", str(rounds), "--warmup", str(WARMUP), "--gap", GAP, "--bandwidth-bytes", "8MB",
                               "--max-time", "300", "--tcp-congestion", CONGESTION, "--json", stem + ".json", "--out", stem + ".xml", "--name",
                               f"probe-{latency_ms}ms"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = probe.communicate(timeout=360)
        log(out.rstrip())
        if probe.returncode != 0:
            raise RuntimeError(f"calibrate probe failed at {latency_ms} ms")
        serve.wait(30)
        return stem + ".json", stem + ".xml"
    finally:
        link.close()


def simulate(args, profile, latency_s, bandwidth, sizes, workdir):
    out = os.path.join(workdir, "sim.json")
    sh(args.dmlsim, "calibrate", "simulate", "--profile", profile, "--latency", f"{latency_s!r}s", "--bandwidth",
       f"{bandwidth!r}Bps", "--sizes", ",".join(map(str, sizes)), "--gap", GAP, "--json", out)
    with open(out) as f:
        return json.load(f)["time"]


def nominal(observations, latency_ms):
    """The probe's measured rounds, described with the link as configured (what a platform file says)."""
    return [dict(o, latency=latency_ms / 1e3, bandwidth=RATE_MBIT * 1e6 / 8) for o in observations]


def fit_linux_tcp(args, ladders, workdir):
    merged = {"kind": "dmlsim-calibration", "gap": 0.010, "observations": [], "date": ladders[0][1]["date"],
              "machine": ladders[0][1]["machine"],
              "method": "tests/netfidelity/run_fidelity.py (fit mode): two network namespaces joined by a user-space "
                        f"delay line (TUN, {RATE_MBIT} Mbit/s, drop-tail 1000 packets, one-way "
                        f"{'/'.join(f'{l:g}' for l in FIT_LATENCIES_MS)} ms), Linux defaults (cubic, 6 MB/4 MB buffer caps), "
                        f"TCP_NODELAY, dmlsim calibrate probe rounds ({WARMUP} warm-up, median of {args.fit_rounds}); "
                        f"{'/'.join(f'{l:g}' for l in LATENCIES_MS)} ms measured in {args.fit_grid_runs} separate runs "
                        "(the fit takes the median of a cell's runs); link values as configured"}
    for latency_ms, data in ladders:
        merged["observations"] += nominal(data["observations"], latency_ms)
    path = os.path.join(workdir, "linux-tcp-input.json")
    with open(path, "w") as f:
        json.dump(merged, f)
    out = sh(args.dmlsim, "calibrate", "fit", path, "--out", os.path.join(SOURCE, "profiles", "linux-tcp.xml"), "--name",
             "linux-tcp", "--description",
             LINUX_TCP_DESCRIPTION)
    log(out.stdout.rstrip())


def pooled_median(samples):
    xs = sorted(samples)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def spread(samples):
    """Interquartile range of the rounds relative to their median, in percent: how steady real TCP was."""
    xs = sorted(samples)
    q = lambda f: xs[min(len(xs) - 1, int(round(f * (len(xs) - 1))))]
    return 100 * (q(0.75) - q(0.25)) / q(0.5)


def table(real, sims, profiles, max_error):
    """Markdown rows, the worst |error| per profile, and the cells where linux-tcp misses both the
    target and the real rounds' own spread."""
    head = "| one-way latency | message | real Linux TCP (IQR) | " + " | ".join(profiles) + " |"
    rule = "|---|---|---|" + "---|" * len(profiles)
    rows = [head, rule]
    worst = {p: 0.0 for p in profiles}  # on the validation grid
    worst_unfitted = {p: 0.0 for p in profiles}  # at the latencies linux-tcp was not fitted to
    misses = []
    for (latency_ms, size), (t, samples) in sorted(real.items()):
        cells = []
        iqr = spread(samples)
        for p in profiles:
            s = sims[p][(latency_ms, size)]
            err = 100 * (s - t) / t
            bound = worst_unfitted if latency_ms in UNFITTED_MS else worst
            bound[p] = max(bound[p], abs(err))
            mark = "" if abs(err) <= max_error else " ⚠" if abs(err) <= max(max_error, iqr) else " ✗"
            cells.append(f"{s:.4f} s ({err:+.1f} %){mark if p == 'linux-tcp' else ''}")
            if p == "linux-tcp" and abs(err) > max(max_error, iqr) and latency_ms not in UNFITTED_MS:
                misses.append(f"{latency_ms:g} ms, {size} B: {err:+.1f} % (real IQR {iqr:.1f} %)")
        label = f"{latency_ms:g} ms" + (" (not fitted)" if latency_ms in UNFITTED_MS else "")
        rows.append(f"| {label} | {size} B | {t:.4f} s ({iqr:.1f} %) | " + " | ".join(cells) + " |")
    return "\n".join(rows), worst, worst_unfitted, misses


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dmlsim", required=True)
    parser.add_argument("--delay-line", required=True)
    parser.add_argument("--rounds", type=int, default=9, help="measured rounds per size and latency (median)")
    parser.add_argument("--grid-runs", type=int, default=2,
                        help="connections measured at each validation-grid latency (their rounds pooled)")
    parser.add_argument("--fit-rounds", type=int, help="the same for --fit-linux-tcp (default: --rounds; TCP's state "
                        "drifts over successive rounds, so the fit measures as the validation does)")
    parser.add_argument("--fit-grid-runs", type=int, default=3,
                        help="--fit-linux-tcp: separate runs at each validation-grid latency (median fitted)")
    parser.add_argument("--max-error", type=float, default=5.0, help="percent allowed for linux-tcp and probe profiles")
    parser.add_argument("--write-doc", help="write the markdown report here (e.g. docs/network-fidelity.md)")
    parser.add_argument("--require-linux-tcp", action="store_true",
                        help="fail when linux-tcp misses --max-error (and the real IQR) on some cell")
    parser.add_argument("--fit-linux-tcp", action="store_true", help="refit profiles/linux-tcp.xml from a fresh measurement of the grid first")
    args = parser.parse_args()
    args.dmlsim, args.delay_line = os.path.abspath(args.dmlsim), os.path.abspath(args.delay_line)
    args.fit_rounds = args.fit_rounds or args.rounds

    reason = skip_reason()
    if reason:
        print(f"SKIP network fidelity: {reason}")
        return SKIP
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally blocks
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="dmlsim-netfidelity-") as workdir:
        if args.fit_linux_tcp:
            ladders = []
            for latency_ms in FIT_LATENCIES_MS:
                # The validation grid itself, measured the same way: TCP's state depends on the sizes
                # sent before (a 4 MiB ladder step leaves 8 MB rounds ~25 % faster at 100 ms). The
                # grid's latencies in several runs (fresh namespaces and connection each): medians
                # move by a few percent from one run to the next, and the fit takes their median.
                for _ in range(args.fit_grid_runs if latency_ms in LATENCIES_MS else 1):
                    path, _ = measure(args, latency_ms, len(ladders), SIZES, args.fit_rounds, workdir)
                    with open(path) as f:
                        ladders.append((latency_ms, json.load(f)))
            fit_linux_tcp(args, ladders, workdir)

        real, probe_checks = {}, []
        runs = [(l, r) for l in LATENCIES_MS for r in range(args.grid_runs)] + [(l, 0) for l in UNFITTED_MS]
        for i, (latency_ms, _) in enumerate(runs):
            path, probe_profile = measure(args, latency_ms, 50 + i, SIZES, args.rounds, workdir)
            with open(path) as f:
                data = json.load(f)
            # Real TCP differs from one connection to the next by a few percent on some cells (more
            # than within one connection), so the grid pools the rounds of several connections.
            for o in data["observations"]:
                key = (latency_ms, int(o["bytes"]))
                real[key] = real.get(key, []) + o["samples"]
            # The probe's own profile, simulated on the path it measured, must give back its measurements.
            o0 = data["observations"][0]
            sims = simulate(args, probe_profile, o0["latency"], o0["bandwidth"], SIZES, workdir)
            for o, s in zip(data["observations"], sims):
                probe_checks.append((latency_ms, o0["latency"], o0["bandwidth"], int(o["bytes"]), o["time"], s))

        profiles = sorted(f[:-4] for f in os.listdir(os.path.join(SOURCE, "profiles")) if f.endswith(".xml"))
        profiles.sort(key=lambda p: (p != "linux-tcp", p))
        sims = {p: {} for p in profiles}
        for p in profiles:
            for latency_ms in LATENCIES_MS + UNFITTED_MS:
                times = simulate(args, p, latency_ms / 1e3, RATE_MBIT * 1e6 / 8, SIZES, workdir)
                for size, t in zip(SIZES, times):
                    sims[p][(latency_ms, size)] = t

    real = {key: (pooled_median(samples), samples) for key, samples in real.items()}
    text, worst, worst_unfitted, misses = table(real, sims, profiles, args.max_error)
    probe_rows = ["| one-way latency | measured path | message | real | probe's profile |", "|---|---|---|---|---|"]
    probe_worst = 0.0
    for latency_ms, lat, bw, size, t, s in probe_checks:
        err = 100 * (s - t) / t
        probe_worst = max(probe_worst, abs(err))
        probe_rows.append(f"| {latency_ms:g} ms | {lat * 1e3:.3f} ms, {bw * 8e-6:.1f} Mbit/s | {size} B | {t:.4f} s | "
                          f"{s:.4f} s ({err:+.1f} %) |")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()} (Linux {platform.release()}, {os.cpu_count()} CPUs)"
    report = f"""# Network fidelity: simulated vs real Linux TCP

Generated {when} on {machine} by

    sudo tests/netfidelity/run_fidelity.py --dmlsim build/dmlsim --delay-line build/tests/delay_line --write-doc docs/network-fidelity.md

(also run by CTest as `netfidelity`, which prints the same tables). Real: two network namespaces
joined by a user-space emulated link (two TUN devices; per direction serialise at {RATE_MBIT} Mbit/s
behind a 1000-packet drop-tail queue, then delay by the one-way latency), Linux TCP defaults inside
the namespaces (cubic, buffer caps 6 MB/4 MB, slow start after idle), one persistent connection
with TCP_NODELAY. The round: S bytes out, 10 ms compute, S bytes back; {args.rounds} rounds after
{WARMUP} warm-up rounds per connection (`dmlsim calibrate probe`), on the grid's latencies {args.grid_runs}
connections (fresh namespaces each) pooled; real: the median of those rounds; IQR: their
interquartile range relative to the median, i.e. how steady real TCP itself was. Simulated: the same round on a two-host SimGrid
platform whose link has the configured latency and bandwidth, under each network profile (`dmlsim
calibrate simulate`). Cells: simulated time (relative error vs real); for linux-tcp, ⚠ marks an
error above {args.max_error:g} % but within real TCP's own IQR, ✗ one outside both.

`linux-tcp` was fitted (`--fit-linux-tcp`, an earlier run of the same harness; the measurements
are inside `profiles/linux-tcp.xml`) at one-way latencies of {", ".join(f"{l:g}" for l in FIT_LATENCIES_MS)} ms, which
include the validation grid {", ".join(f"{l:g}" for l in LATENCIES_MS)} ms (measured there in several runs, the median
fitted): on the grid, the table compares it with fresh measurements, so its errors are how much
real TCP differs from one run to the next. The rows marked "not fitted" ({", ".join(f"{l:g}" for l in UNFITTED_MS)} ms)
test the interpolation between fitted latencies.

{text}

Largest |error| on the grid: {", ".join(f"{p} {w:.1f} %" for p, w in worst.items())}.
linux-tcp cells of the grid outside both {args.max_error:g} % and the real IQR: {"; ".join(misses) if misses else "none"}.
Not fitted ({", ".join(f"{l:g}" for l in UNFITTED_MS)} ms): largest |error| {", ".join(f"{p} {w:.1f} %" for p, w in worst_unfitted.items())}.

## `calibrate probe` profiles reproduce their own link

For each link, the profile written by `dmlsim calibrate probe` (fitted to the path latency and
bandwidth it measured), simulated on that measured path:

{chr(10).join(probe_rows)}

Largest |error|: {probe_worst:.1f} %.

## Network profiles and calibration

A network profile (`profiles/NAME.xml`) names a SimGrid network model and its options:

    <network-profile name="linux-tcp" model="CM02">
      <description>one line, shown in run outputs</description>
      <config name="network/TCP-gamma" value="1095000"/>     <!-- window cap: rate <= gamma / RTT -->
      <factors latency="25ms" lat-factor="0:1.0;4031:0.99;..." bw-factor="0:0.08;4031:0.88;..."/>
      <factors latency="100ms" .../>                          <!-- one row per fitted latency -->
      <measurements date="..." machine="..." gap="10ms"> <round latency=".." bandwidth=".." bytes=".." real=".." simulated=".."/> </measurements>
    </network-profile>

A message of S bytes over a route of latency L (the sum of its links' latencies) and bottleneck
bandwidth B takes L·lat-factor(S, L) + S / (bw-factor(S, L)·min(B, TCP-gamma / 2L)). In a row, a
factor applies to sizes above its threshold (SimGrid's SMPI convention); between two rows, the
message's effective latency (L·lat-factor) and time per byte are interpolated linearly in L, so its
time lies between the rows' measured ones; below the first row and above the last, the nearest
row's factors apply.
The factors are installed as SimGrid's per-communication factor callbacks of the CM02 model.
Profiles may instead keep SimGrid's own options, e.g. `model="SMPI"` with `smpi/lat-factor`.

A scenario selects one with `<network profile="linux-tcp"/>` (a name from `profiles/`, or a file
relative to the scenario) or keeps `<network model="CM02"/>`; `dmlsim run --network-profile
NAME|FILE` replaces it from the command line. The scenario's `<config>` items and `--cfg` still
override the profile's. Shipped: `linux-tcp` (fitted here; the default: every shipped scenario,
and any scenario without `<network>`), `cm02` (latency + size/bandwidth), `lv08` (SimGrid's default).

To simulate your own network, e.g. two VMs in two regions:

    vm1$ dmlsim calibrate serve --port 5201                    # stops after 300 s without a probe
    vm2$ dmlsim calibrate probe vm1:5201 --out my-wan.xml      # 256 B ... 16 MiB, about a minute on a 100 ms path

The probe measures the path latency (half the median 1-byte round trip) and bandwidth (receiver's
rate over the second half of a bulk transfer), runs the round ladder over one TCP connection,
fits the factors and writes the profile (the measurements and the date inside), then prints
measured vs simulated. Give your platform's WAN link the latency and bandwidth it printed and use
`<network profile="my-wan.xml"/>`. `--json` keeps the measurements; `dmlsim calibrate fit A.json
B.json --out F.xml` fits one profile to several paths (that is how `linux-tcp` is made), and
`dmlsim calibrate simulate --profile P --latency 100ms --bandwidth 100Mbps` prints simulated rounds.
Unreachable peers, refused connections and silent peers give one message and exit code 3.
"""
    print(report)
    if args.write_doc:
        with open(args.write_doc, "w") as f:
            f.write(report)
    log(f"network fidelity: {time.time() - started:.0f} s")
    failures = []
    if misses:
        # Fatal with --require-linux-tcp (as CTest runs it); reported otherwise, e.g. while refitting.
        message = f"linux-tcp misses {args.max_error:g} % and the real rounds' IQR on: " + "; ".join(misses)
        if args.require_linux_tcp:
            failures.append(message)
        else:
            print("NOTE:", message)
    if probe_worst > args.max_error:
        failures.append(f"a probe-written profile is {probe_worst:.1f} % off its own measurements")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
