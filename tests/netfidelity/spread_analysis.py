#!/usr/bin/python3
"""Why a contention cell's real round differs between repetitions and runs: the recorded windows
compared repetition by repetition.

    spread_analysis.py DIR...              # text: every repetition's rounds, exits and restarts
    spread_analysis.py --markdown DIR...   # the section run_fidelity.py report puts in docs/network-fidelity.md

Each DIR holds runs, DIR/<run>/<set>/<cell>.json, measured with `run_fidelity.py measure
--record-tcp` (every repetition's `tcp_state`, CONTRACT.md). A run's name says how it was made
(its README); runs whose name ends in `-busy` had two busy loops at normal priority beside them.

What it reads per connection and round (requests: the probe's connections, answers: serve's):
- where slow start ended (`exit`: round and window) — HyStart's exits fall on a ladder of windows;
- the restart after idle: Linux halves the window once per whole retransmission timeout (RTO) of
  idle beyond the first (tcp_cwnd_restart), so a connection whose idle lies near a whole number of
  RTOs restarts at a window twice or half as large depending on a few milliseconds.
Stdlib only.
"""
import argparse
import glob
import json
import math
import os
import sys

IW = 10  # Linux's initial window (packets): the restart after idle never goes below it
SAME_ROUND = 0.02  # two repetitions' rounds closer than this (relative) count as the same
SAME_WINDOW = 0.10  # two exits' windows closer than this (relative) count as the same rung
NEAR_BOUNDARY_S = 0.025  # an idle this close to a whole number of RTOs: a few sampling periods


def load_runs(roots):
    """[(run label, record)] of every cell file under roots/<run>/<set>/, in name order."""
    out = []
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, "*", "*", "*.json"))):
            with open(path) as f:
                record = json.load(f)
            if any("tcp_state" in rep for rep in record.get("repetitions", [])):
                out.append((os.path.basename(os.path.dirname(os.path.dirname(path))), record))
    return out


def repetitions(record):
    """Per recorded repetition: {k, median, load, times (warm-up then measured), state}."""
    out = []
    for k, rep in enumerate(record["repetitions"]):
        if "tcp_state" not in rep or rep.get("flagged"):
            continue
        measured = [r for r in record["rounds"] if r["repetition"] == k]
        times = [r["time"] for r in rep.get("warmup_rounds", [])] + [r["time"] for r in measured]
        # The probe's closing exchange after the last round shows up as one more round: left out.
        state = {side: [[r for r in conn if r["round"] < len(times)] for conn in rep["tcp_state"][side]]
                 for side in ("requests", "answers")}
        out.append({"k": k, "median": rep["median"], "load": rep.get("loadavg", [None])[0], "times": times,
                    "state": state, "queue": rep["drops_queue"]})
    return out


def halvings(rnd):
    """How often the restart after idle halved this round's window (None: no restart seen)."""
    before, start = rnd.get("cwnd_before"), rnd["cwnd_start"]
    if not before or rnd["round"] == 0 or start >= before:
        return None if not before or rnd["round"] == 0 else 0
    return round(math.log2(before / start))


def predicted_halvings(rnd):
    """tcp_cwnd_restart's count from the recorded idle and RTO: restart only when idle > RTO, then
    one halving per whole RTO beyond the first; None without an RTO in the recording."""
    idle, rto = rnd.get("idle_s"), rnd.get("rto_ms")
    if idle is None or not rto or rnd["round"] == 0:
        return None
    ratio = idle / (rto / 1e3)
    return max(0, math.ceil(ratio) - 1)


def floor_limited(rnd):
    """The restart reached the initial window: further halvings would not show."""
    return rnd["cwnd_start"] <= IW


def boundary_distance(rnd):
    """Seconds from the recorded idle to the nearest whole number (>= 1) of RTOs."""
    idle, rto = rnd.get("idle_s"), rnd.get("rto_ms")
    if idle is None or not rto:
        return None
    rto_s = rto / 1e3
    k = max(1, round(idle / rto_s))
    return abs(idle - k * rto_s)


def exits(conn):
    """[(round, window)] where this connection's slow-start threshold was set or lowered."""
    return [(r["round"], r["exit"]["cwnd"], r["exit"]["retrans"] > 0) for r in conn if "exit" in r]


def connections(state):
    """[(label, rounds)] requests then answers, flows in write order."""
    return [(f"request {f}", c) for f, c in enumerate(state["requests"])] + \
           [(f"answer {f}", c) for f, c in enumerate(state["answers"])]


def idle_in_rtos(rnd):
    if rnd.get("idle_s") is None or not rnd.get("rto_ms"):
        return "idle not recorded"
    return f"idle {rnd['idle_s']:.3f} s = {rnd['idle_s'] / (rnd['rto_ms'] / 1e3):.2f} RTOs"


def first_divergence(a, b):
    """The first event (in round order) where two repetitions of one cell differ: a slow-start exit
    (round or rung) or a restart's halvings; None if they agree on every recorded one."""
    ca, cb = connections(a["state"]), connections(b["state"])
    rounds = max((r["round"] for _, c in ca + cb for r in c), default=-1)
    for k in range(rounds + 1):
        for (name, x), (_, y) in zip(ca, cb):
            rx = next((r for r in x if r["round"] == k), None)
            ry = next((r for r in y if r["round"] == k), None)
            if rx is None or ry is None:
                continue
            hx, hy = halvings(rx), halvings(ry)
            if hx is not None and hy is not None and hx != hy and not (floor_limited(rx) and floor_limited(ry)):
                return {"round": k, "connection": name, "what": "restart",
                        "a": f"halved {hx}x ({idle_in_rtos(rx)})", "b": f"halved {hy}x ({idle_in_rtos(ry)})"}
            ex, ey = rx.get("exit"), ry.get("exit")
            if (ex is None) != (ey is None) or (ex and abs(ex["cwnd"] - ey["cwnd"]) > SAME_WINDOW * max(ex["cwnd"], ey["cwnd"])):
                return {"round": k, "connection": name, "what": "slow-start exit",
                        "a": f"at {ex['cwnd']}" if ex else "none", "b": f"at {ey['cwnd']}" if ey else "none"}
    return None


def states_of(reps):
    """Repetitions grouped by their round times (every round within SAME_ROUND): [[rep, ...], ...],
    the largest group first."""
    groups = []
    for rep in reps:
        for g in groups:
            ref = g[0]["times"]
            if len(ref) == len(rep["times"]) and all(abs(x - y) <= SAME_ROUND * y for x, y in zip(rep["times"], ref)):
                g.append(rep)
                break
        else:
            groups.append([rep])
    return sorted(groups, key=lambda g: -len(g))


def restart_stats(runs):
    """Every restart after idle with a recorded RTO: observed vs predicted halvings, how close its
    idle lay to a boundary (a whole number of RTOs), and how many a uniform spread of idles would
    put that close (2 * NEAR_BOUNDARY_S / RTO each)."""
    seen, agree, near, expected, per_rep = 0, 0, 0, 0.0, []
    for _, record in runs:
        for rep in repetitions(record):
            count = 0
            for _, conn in connections(rep["state"]):
                for rnd in conn:
                    h, p, d = halvings(rnd), predicted_halvings(rnd), boundary_distance(rnd)
                    if h is None or p is None:
                        continue
                    seen += 1
                    count += 1
                    agree += h == p or (floor_limited(rnd) and h <= p)
                    near += d is not None and d <= NEAR_BOUNDARY_S
                    expected += min(1.0, 2 * NEAR_BOUNDARY_S / (rnd["rto_ms"] / 1e3))
            if count:
                per_rep.append(count)
    return {"restarts": seen, "agree": agree, "near": near, "expected": expected, "per_rep": sorted(per_rep)}


def same_start(a, b):
    """Two repetitions whose connections all left (or stayed in) slow start in round 0 alike."""
    for (_, x), (_, y) in zip(connections(a["state"]), connections(b["state"])):
        ex = [(w) for k, w, _ in exits(x) if k == 0]
        ey = [(w) for k, w, _ in exits(y) if k == 0]
        if len(ex) != len(ey) or any(abs(p - q) > SAME_WINDOW * max(p, q) for p, q in zip(ex, ey)):
            return False
    return True


def later_partings(states):
    """Pairs of states of one cell that left slow start alike in round 0 yet differ: where they part."""
    out = []
    for cell, groups in states.items():
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i][0], groups[j][0]
                if same_start(a, b):
                    out.append((cell, a, b, first_divergence(a, b)))
    return out


def compact_exits(state, side):
    return " ".join(",".join(f"{k}:{w}{'L' if loss else ''}" for k, w, loss in exits(c)) or "—" for c in state[side])


def compact_halvings(state, side):
    """Per connection, the halvings of its restarts after round 0, one digit a round ('.' none seen)."""
    def digit(r):
        h = halvings(r)
        return "." if h is None else str(h)
    return " ".join("".join(digit(r) for r in c if r["round"] > 0) for c in state[side])


def condition(run):
    return "busy loops" if run.endswith("-busy") else "as found"


def repetition_rows(runs):
    rows = ["| run (load) | cell | rep. | median | rounds, warm-up then measured (s) | requests: exits round:window | "
            "answers: exits | restarts' halvings per round, requests / answers |", "|---|---|---|---|---|---|---|---|"]
    for run, record in runs:
        for rep in repetitions(record):
            st = rep["state"]
            load = f"{rep['load']:.1f}" if rep["load"] is not None else "?"
            rows.append(f"| {run} ({condition(run)}, {load}) | {record['id']} | {rep['k']} | {rep['median']:.3f} | "
                        f"{' '.join(f'{t:.2f}' for t in rep['times'])} | {compact_exits(st, 'requests')} | "
                        f"{compact_exits(st, 'answers')} | {compact_halvings(st, 'requests')} / {compact_halvings(st, 'answers')} |")
    return rows


def cell_states(runs):
    """{cell id: [(state's repetitions with their run)]}: every run's repetitions of a cell grouped."""
    by_cell = {}
    for run, record in runs:
        for rep in repetitions(record):
            by_cell.setdefault(record["id"], []).append({**rep, "run": run})
    return {cell: states_of(reps) for cell, reps in by_cell.items()}


def state_rows(states):
    rows = ["| cell | state | medians (s) | repetitions: as found / busy loops | first difference from the commonest state |",
            "|---|---|---|---|---|"]
    for cell, groups in states.items():
        for i, g in enumerate(groups):
            meds = sorted(r["median"] for r in g)
            span = f"{meds[0]:.3f}" if meds[-1] - meds[0] < 0.0005 else f"{meds[0]:.3f}–{meds[-1]:.3f}"
            found = sum(condition(r["run"]) == "as found" for r in g)
            d = first_divergence(groups[0][0], g[0]) if i else None
            diff = "—" if not i else (f"round {d['round']}, {d['connection']}: {d['what']} {d['a']} vs {d['b']}" if d
                                       else "no exit or restart differs (timing only)")
            rows.append(f"| {cell} | {chr(ord('A') + i)} | {span} | {found} / {len(g) - found} | {diff} |")
    return rows


def divergence_kinds(states):
    """How the states of each cell first part from the commonest one: counts by kind and round."""
    kinds = {}
    for groups in states.values():
        for g in groups[1:]:
            d = first_divergence(groups[0][0], g[0])
            key = ("timing only", None) if d is None else (d["what"], d["round"])
            kinds[key] = kinds.get(key, 0) + 1
    return kinds


MODEL_CELL = "b100M-l80ms-s1MiB-f4"
MODEL_JITTERS_US = (100, 300, 1000)
MODEL_SEEDS = 10
MODEL_OFFSETS_US = (100, 150, 200, 500, 1000, 2000)


def model_states(record):
    """The packet model (contention_model.py) on one cell, unperturbed and under seeded jitters:
    per jitter, the distinct states (by round times) with their seeds, and where each state's
    first restart differs from the unperturbed run's."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import contention_model
    base = contention_model.model_cell(record)
    out = []
    for jitter in MODEL_JITTERS_US:
        runs = [contention_model.model_cell(record, jitter=jitter * 1e-6, seed=seed) for seed in range(MODEL_SEEDS)]
        reps = [{"times": m["rounds"], "median": m["median"], "model": m} for m in runs]
        groups = states_of(reps)
        parted = []
        for g in groups:
            d = contention_model.first_restart_difference(base, g[0]["model"])
            parted.append(d)
        out.append((jitter, groups, parted))
    offsets = []
    for offset in MODEL_OFFSETS_US:
        m = contention_model.model_cell(record, offset=offset * 1e-6)
        offsets.append((offset, m["median"], contention_model.first_restart_difference(base, m)))
    return base, out, offsets


def model_lines(runs):
    record = next((rec for _, rec in runs if rec["id"] == MODEL_CELL), None)
    if record is None:
        return ""
    base, per_jitter, offsets = model_states(record)
    rows = [f"| writes and ACKs up to | states (seeds of {MODEL_SEEDS}) | medians (s) | first restart that differs from the unperturbed model's: round, connection, idle / RTO there, halvings |",
            "|---|---|---|---|"]
    names = [f"request {i}" for i in range(record["flows"])] + [f"answer {i}" for i in range(record["flows"])]
    edge = min((abs(x[0] / x[1] - round(x[0] / x[1])), k, names[i], x[0] / x[1])
               for i, conn in enumerate(base["restarts"]) for k, x in enumerate(conn) if x[0] > x[1])
    for jitter, groups, parted in per_jitter:
        meds = " / ".join(f"{g[0]['median']:.3f} ({len(g)})" for g in groups)
        where = "; ".join("unchanged" if d is None else
                          f"round {d[0]}, {names[d[1]]}: {d[2][0] / d[2][1]:.4f} → {d[3][0] / d[3][1]:.4f}, {d[2][2]} → {d[3][2]}"
                          for d in parted)
        rows.append(f"| {jitter} µs | {len(groups)} | {meds} | {where} |")
    constant = "; ".join(f"{o} µs: {m:.3f} s" + ("" if d is None else f" (round {d[0]}, {names[d[1]]}: {d[2][0] / d[2][1]:.4f} → "
                                                  f"{d[3][0] / d[3][1]:.4f} RTOs, {d[2][2]} → {d[3][2]} halvings)")
                         for o, m, d in offsets)
    return f"""The unperturbed packet model of {MODEL_CELL} (median {base['median']:.3f} s) passes one restart
at idle / RTO = {edge[3]:.4f} ({edge[2]}, round {edge[1]}): {1e3 * edge[0]:.1f} thousandths of an RTO from a boundary.
Delaying every application write and every ACK by a seeded uniform 0…J (`contention_model.py
--jitter-us J --seeds N`; order kept):

{chr(10).join(rows)}

  A constant delay instead (every write and ACK the same amount late, in every round; `offset` in
  `contention_model.simulate_cell`): {constant}."""


def medians_of(reps):
    return " ".join(f"{rep['median']:.3f}" for rep in reps)


def lateness(detail):
    """(releases over 1 ms late, largest lateness in ms) from a drops detail or a repetition's `late`."""
    over = sum(v for k, v in detail.items() if k.endswith("late_over_1ms"))
    most = max((v for k, v in detail.items() if k.endswith("max_late_us")), default=0.0)
    return over, most / 1e3


def late_rows(runs):
    rows = ["| run | cell | load (1 min) at each repetition's start | delay line: releases over 1 ms late, largest lateness (ms) | repetitions' medians (s) |",
            "|---|---|---|---|---|"]
    for run, record in runs:
        reps = [rep for rep in record["repetitions"] if "tcp_state" in rep]
        loads = " ".join(f"{rep['loadavg'][0]:.1f}" for rep in reps if "loadavg" in rep) or "?"
        if all("late" in rep for rep in reps):
            late = "; ".join("{}, {:.0f}".format(*lateness(rep["late"])) for rep in reps) + " (per repetition)"
        else:
            late = "{}, {:.0f} (all repetitions)".format(*lateness(record["drops"]["detail"]))
        rows.append(f"| {run} ({condition(run)}) | {record['id']} | {loads} | {late} | {medians_of(reps)} |")
    return rows


def markdown(roots, command, documented_late=None):
    runs = load_runs(roots)
    if not runs:
        return ""
    states = cell_states(runs)
    stats = restart_stats(runs)
    kinds = divergence_kinds(states)
    reps = [r for _, rec in runs for r in repetitions(rec)]
    within = []
    for run, record in runs:
        meds = [r["median"] for r in repetitions(record)]
        within.append((max(meds) / min(meds), record["id"], run))
    kind_text = ", ".join((f"{n} in timing only" if k is None else f"{n} at a {what} in round {k}")
                          for (what, k), n in sorted(kinds.items(), key=lambda x: (-x[1], str(x[0])))) or "none"
    n_states = sum(len(g) for g in states.values())
    later = later_partings(states)
    later_text = "; ".join(
        f"{cell} {a['median']:.3f} vs {b['median']:.3f} s: " + (
            f"round {d['round']}, {d['connection']}, {d['what']} {d['a']} vs {d['b']}" if d else "no exit or restart differs")
        for cell, a, b, d in later[:8]) or "none"
    restarts_later = sum(1 for *_, d in later if d and d["what"] == "restart")
    counts = stats["per_rep"]
    by_condition = {}
    for cell, groups in states.items():
        for g in groups:
            for r in g:
                by_condition.setdefault(condition(r["run"]), set()).add((cell, id(g)))
    reps_by_condition = {c: sum(1 for r in reps_all(states) if condition(r["run"]) == c) for c in by_condition}
    condition_text = "; ".join(f"{c}: {reps_by_condition[c]} repetitions in {len(v)} states"
                               for c, v in sorted(by_condition.items()))
    documented = f" the documented contention cells had {documented_late}." if documented_late else ""
    loads = [r["load"] for r in reps if r["load"] is not None] or [float("nan")]
    latest = [lateness(rec["drops"]["detail"])[1] for _, rec in runs]
    recurring = [(cell, g) for cell, groups in states.items() for g in groups if len({r["run"] for r in g}) > 1]
    recurring_text = "; ".join(f"{cell} {min(r['median'] for r in g):.3f} s in {len({r['run'] for r in g})} runs"
                               for cell, g in recurring) or "none"
    return f"""### What separates the discrete states

Generated from `tests/netfidelity/data-spread` ({len(runs)} cell measurements in {len({r for r, _ in runs})} runs,
{len(reps)} repetitions, every repetition's windows recorded; how they were made: its README.md), by

    {command}

Two repetitions are counted as one state when every round (warm-up included) lies within
{100 * SAME_ROUND:.0f} % of the other's. A restart's halvings are read from the window before and after
it; Linux restarts a connection idle longer than its RTO and halves the window once per further
whole RTO of idle (`tcp_cwnd_restart`), down to the initial window.

- **Discrete states, one trajectory each.** The {len(reps)} repetitions fall into {n_states} states over
  {len(states)} cells ({condition_text}); repetitions in one state repeat each other's round times round by round
  (warm-up included), not just their medians, and {len(recurring)} states recur in separate runs
  ({recurring_text}). Within one run the repetitions' medians spread by up to
  {100 * (max(within)[0] - 1):.0f} % ({max(within)[1]}, run {max(within)[2]}). The busy loops made no difference
  that these runs can show: the machine was never idle (other sessions' builds and simulations, a 1-minute
  load of {min(loads):.0f}–{max(loads):.0f} at the repetitions' starts), and the as-found runs spread as widely as the busy ones.
- **The first rounds decide most of it.** Against each cell's commonest state, the others first differ: {kind_text}:
  which connection leaves its first slow start at which rung of HyStart's ladder (or not at all),
  requests and answers alike. Which of HyStart's two signs fired (the ACK train, ACKs closer than 2 ms
  apart, or the delay) TCP_INFO does not show, so what moves a rung is not separated here; the packet
  model's round-0 exits moved only under about a millisecond of jitter (its 1000 µs row below).
- **States that start alike part later, mostly at a restart.** {len(later)} pairs of states left slow start alike
  in round 0; {restarts_later} of them first differ at a restart after idle, with the idle on either side of a
  whole number of RTOs. The first eight: {later_text}.
- **The restart after idle is a step function of the idle time.** {stats['restarts']} restarts with the RTO
  recorded; tcp_cwnd_restart's count from the recorded idle and RTO matches the observed halvings in
  {stats['agree']} ({100 * stats['agree'] / max(1, stats['restarts']):.0f} %; the idle is known to within a sampling
  period). {stats['near']} of them ({100 * stats['near'] / max(1, stats['restarts']):.0f} %) lay within {1e3 * NEAR_BOUNDARY_S:.0f} ms
  of a whole number of RTOs, about what idles spread evenly would give ({100 * stats['expected'] / max(1, stats['restarts']):.0f} %):
  the idles are not drawn to the boundaries, but a repetition has {quantile(counts, 0.5):.0f} restarts (median), so
  several of them lie within a few milliseconds of one. A connection crossing one restarts at half or
  twice the window, its round changes, with it every connection's idle before the next round, and the
  trajectory moves to another state; the round is a deterministic but discontinuous function of the timing.
- **What perturbs the timing here.** The delay line, SCHED_FIFO on its own CPU, released packets up to
  {max(latest):.0f} ms late in these runs (table below);{documented} The endpoints and the two tcp_sampler.py processes share the other CPU, and the kernel processes both
  namespaces' packets on whichever CPU delivers them. Any of these moves an idle by more than the packet model needs (next point).
- **The packet model has the same states.** {model_lines(runs)}

  A few hundred microseconds of scheduling noise, far less than the emulator's lateness here, are
  enough to move the model between states as distinct as the real ones, and the states it reaches first
  part at a restart whose idle lay on a boundary. A constant processing delay selects one state and
  keeps it, which is what the documented runs look like: a quiet machine's repetitions repeat one
  trajectory (its processing delays are the same from one repetition to the next), another run, with
  other delays, repeats another. The spread is therefore a property of Linux TCP's restart after idle
  and HyStart in this same-size loop, which any machine's timing selects among; the emulator and the
  machine's load only supply the timing. A contention cell's real round is a distribution over such
  states, not a number, and one run's repetitions sample it more narrowly than separate runs do.

{chr(10).join(state_rows(states))}

{chr(10).join(late_rows(runs))}

Every repetition of {MODEL_CELL} (halvings: one digit per restart from round 1 on, connections separated by spaces,
`.` where the recording shows no restart; exits `round:window`, `L` where retransmissions had
already been counted, i.e. a loss):

{chr(10).join(repetition_rows([(run, rec) for run, rec in runs if rec["id"] == MODEL_CELL]))}
"""


def reps_all(states):
    return [r for groups in states.values() for g in groups for r in g]


def quantile(xs, f):
    if not xs:
        return float("nan")
    i = f * (len(xs) - 1)
    lo = int(i)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (i - lo)


def text(roots):
    runs = load_runs(roots)
    out = []
    for run, record in runs:
        out.append(f"== {run} {record['id']}")
        for rep in repetitions(record):
            st = rep["state"]
            out.append(f"  rep {rep['k']} median {rep['median']:.3f} load {rep['load']} rounds "
                       + " ".join(f"{t:.3f}" for t in rep["times"]))
            for name, conn in connections(st):
                cells = []
                for r in conn:
                    h, p = halvings(r), predicted_halvings(r)
                    idle = f" idle {r['idle_s']:.3f}/rto {r.get('rto_ms', 0):.0f}" if r.get("idle_s") is not None and r["round"] else ""
                    ex = f" EXIT {r['exit']['cwnd']}" if "exit" in r else ""
                    cells.append(f"{r['round']}:{r.get('cwnd_before', '-')}->{r['cwnd_start']}..{r['cwnd_max']}"
                                 f" h{h if h is not None else '-'}/{p if p is not None else '-'}{idle}{ex}")
                out.append(f"    {name:10} " + " | ".join(cells))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    print(markdown(args.dirs, "spread_analysis.py --markdown " + " ".join(args.dirs)) if args.markdown else text(args.dirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
