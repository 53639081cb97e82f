#!/usr/bin/python3
"""Regenerate every figure of a dmlsim study from its results directory.

Usage:
    plot_study.py RESULTS_DIR [-o OUTDIR] [--target 0.95] [--smooth raw|ewma|ewma:ALPHA]
                  [--latency-axis NAME]

RESULTS_DIR is written by `dmlsim sweep` (study.json, manifest.csv, runs/<id>/rounds.csv and
summary.json). Writes into OUTDIR (default RESULTS_DIR/figures) and prints the paths:
  accuracy_vs_time.png  test accuracy vs simulated time per algorithm, one panel per value of
                        the latency (or other numeric link) axis; faint: raw curve of each
                        seed, bold: EWMA of the run (or of the per-round mean over seeds)
  tta_vs_latency.png    time to --target accuracy (log) vs link latency (log): median over the
                        seeds that reached it, min-max band, hollow "k/n" where only k of n
                        finished runs did; a bar chart per algorithm without a latency axis
  time_breakdown.png    mean compute / communication / wait time per worker up to the first
                        evaluation at --target accuracy, stacked, per algorithm (one panel per
                        latency value), averaged over the seeds that reach it; log y axis in a
                        panel whose bars differ by more than 100x
Time to accuracy (DAWNBench, as `dmlsim table`): simulated time of the first evaluation at or
above the target, on the raw curve (default) or the EWMA-smoothed one (--smooth ewma:0.9).
The latency axis is the axis of kind "link" with property "latency" or --latency-axis NAME.
Colours: ssgd, ma, bmuf, easgd are C0..C3 in every figure.

Must be run with Debian's /usr/bin/python3 (python3-matplotlib, python3-pandas).
Exit status: 0 on success, 2 on bad input (no image is written then). Runs without
summary.json (not run, unfinished or failed) are counted, reported on stderr and left out.
"""
import argparse
import math
import os
import sys
import textwrap

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullLocator  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_run import ewma, save_png  # noqa: E402
import study_results as sr  # noqa: E402

ALGORITHMS = ["ssgd", "ma", "bmuf", "easgd"]  # colours C0..C3, others follow
STYLES = ["-", "--", ":", "-."]
plt.rcParams.update({"font.size": 11, "axes.titlesize": 11, "legend.fontsize": 10,
                     "figure.titlesize": 13})


# ---- choosing axes and series ----

def pick_x_axis(study, name=None):
    """The latency axis (or the named one); None when the study has none."""
    if name is None:
        axis = next((a for a in study.axes if a.get("kind") == "link"
                     and a.get("property") == "latency"), None)
    else:
        axis = next((a for a in study.axes if a["name"] == name), None)
        if axis is None:
            raise sr.StudyError(f"--latency-axis {name}: no such axis in study.json "
                                f"(axes: {', '.join(a['name'] for a in study.axes)})")
    if axis is not None:
        nums = axis.get("numeric_values")
        if not nums or len(nums) != len(axis["values"]) or min(nums) <= 0:
            raise sr.StudyError(f"study.json: axis {axis['name']} has no positive "
                                f"numeric_values to plot on a log axis")
    return axis


def panel_axis(study, x_axis):
    """Axis giving one accuracy panel per value: the x axis, else a numeric link axis."""
    return x_axis or next((a for a in study.axes if a.get("kind") == "link"
                           and a.get("numeric_values")), None)


def add_series(study, runs, x_name):
    """Add columns algo, series (legend label), colour, style; return the ordered labels.
    A series is one combination of the non-x axes, named by its algorithm (plus the
    axes that are not one-to-one with the algorithm)."""
    keys = [a["name"] for a in study.axes if a["name"] != x_name]
    extra = sr.series_axes(study, x_name)
    algo_of = {}
    for _, r in runs[runs["finished"]].iterrows():
        algo_of.setdefault(tuple(r[k] for k in keys), r["algorithm.name"] or "?")
    others = sorted({a for a in algo_of.values() if a not in ALGORITHMS})
    rank = {a: i for i, a in enumerate(ALGORITHMS + others)}
    runs = runs.copy()
    runs["algo"] = [algo_of.get(tuple(r[k] for k in keys), "?") for _, r in runs.iterrows()]
    runs["series"] = [r["algo"] + "".join(f", {k}={r[k]}" for k in extra) if r["algo"] != "?"
                      else "no finished run: " + ", ".join(f"{k}={r[k]}" for k in keys)
                      for _, r in runs.iterrows()]
    runs["order"] = [(rank.get(r["algo"], len(rank)),)
                     + tuple(runs[k].cat.categories.get_loc(r[k]) for k in extra)
                     for _, r in runs.iterrows()]
    runs["colour"] = [f"C{rank.get(a, len(rank)) % 10}" for a in runs["algo"]]
    order = runs.drop_duplicates("series").sort_values("order")
    order["style"] = order.groupby("algo").cumcount().map(lambda i: STYLES[i % len(STYLES)])
    runs = runs.merge(order[["series", "style"]], on="series")
    return runs, order["series"].tolist()


def axis_label(axis):
    if axis.get("kind") == "link":
        return f"{axis['name']} (link {axis.get('pattern')} {axis.get('property')}, log scale)"
    return f"{axis['name']} ({axis.get('attribute', axis.get('kind'))}, log)"


def grid(n, width=4.6, height=3.6):
    ncols = min(3, n)
    if n == 1:
        width, height = max(width, 7.5), max(height, 4.6)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols + 0.6, height * nrows + 1.4),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def finish(fig, title, caption, handles):
    """Title on top; legend (as many columns as fit) and wrapped grey caption below."""
    fig.suptitle(title)
    w, h = fig.get_figwidth(), fig.get_figheight()
    lines = textwrap.wrap(caption, int(w * 13))
    low = (0.1 + 0.16 * len(lines)) / h
    legend_h = 0.0
    for ncol in range(len(handles), 0, -1):
        legend = fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False,
                            bbox_to_anchor=(0.5, low))
        box = legend.get_window_extent(fig.canvas.get_renderer())
        if box.width <= 0.98 * fig.bbox.width or ncol == 1:
            legend_h = box.height / fig.dpi
            break
        legend.remove()
    fig.tight_layout(rect=(0, low + (legend_h + 0.05) / h, 1, 1))
    if lines:
        fig.text(0.5, 0.08 / h, "\n".join(lines), ha="center", va="bottom", fontsize=8.5,
                 color="dimgrey")


def series_handles(runs, series, **kw):
    first = runs.drop_duplicates("series").set_index("series")
    return [Line2D([], [], color=first.at[s, "colour"], linestyle=first.at[s, "style"],
                   linewidth=2, label=s, **kw) for s in series]


# ---- figures ----

def plot_accuracy(study, runs, series, p_axis, alpha, target, caption, out):
    panels = [None] if p_axis is None else p_axis["values"]
    fig, axes = grid(len(panels))
    seeds = 1
    for ax, value in zip(axes, panels):
        sel = runs[runs["finished"]] if value is None else \
            runs[runs["finished"] & (runs[p_axis["name"]] == value)]
        ends = []
        for s in series:
            group = sel[sel["series"] == s]
            if group.empty:
                continue
            c, ls = group["colour"].iloc[0], group["style"].iloc[0]
            curves = [study.rounds(r).set_index("round") for r in group["run_id"]]
            seeds = max(seeds, len(curves))
            for df in curves:
                ax.plot(df["sim_time"], df["test_accuracy"], color=c, alpha=0.25, linewidth=0.8)
            time = pd.concat([d["sim_time"] for d in curves], axis=1).dropna().mean(axis=1)
            acc = pd.concat([d["test_accuracy"] for d in curves], axis=1).dropna().mean(axis=1)
            ax.plot(time, ewma(acc.tolist(), alpha), color=c, linestyle=ls, linewidth=2)
            ends.append(time.iloc[-1])
        ax.axhline(target, color="grey", linestyle=(0, (4, 3)), linewidth=0.9)
        positive = [e for e in ends if e > 0]
        if positive and max(positive) / min(positive) > 20:
            ax.set_xscale("log")
        ax.set_title("all runs" if value is None else f"{p_axis['name']} = {value}")
        ax.set_xlabel("Simulated time (s)")
        ax.set_ylabel("Test accuracy")
        ax.grid(True, alpha=0.3)
    bold = (f"bold: EWMA (\u03b1={alpha:g}) of the per-round mean over seeds" if seeds > 1
            else f"bold: EWMA (\u03b1={alpha:g})")
    handles = series_handles(runs, series) + [
        Line2D([], [], color="grey", alpha=0.4, linewidth=0.8,
               label="faint: raw, each seed" if seeds > 1 else "faint: raw"),
        Line2D([], [], color="grey", linewidth=2, label=bold),
        Line2D([], [], color="grey", linestyle=(0, (4, 3)), label=f"target {target:g}")]
    finish(fig, f"Test accuracy vs simulated time \u2014 {study.meta.get('name', '')}",
           caption, handles)
    save_png(fig, out, dpi=150)


def tick_label(series):
    return series.replace(", ", "\n")


def set_series_ticks(ax, series):
    """One tick per series; slanted when the labels would not fit side by side."""
    labels = [tick_label(s) for s in series]
    widest = max((len(line) for label in labels for line in label.split("\n")), default=0)
    width_chars = ax.get_position().width * ax.figure.get_figwidth() * 11  # ~11 characters per inch
    slant = len(series) * (widest + 1) > width_chars
    ax.set_xticks(range(len(series)))
    ax.set_xticklabels(labels, rotation=30 if slant else 0, ha="right" if slant else "center",
                       rotation_mode="anchor" if slant else "default")


def log_labels(ax):
    """Plain numbers on a log y axis, and labelled 2 and 5 minor ticks below 2 decades."""
    def minor(v, _):
        return f"{v:g}" if round(v / 10 ** math.floor(math.log10(v))) in (2, 5) else ""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    lo, hi = ax.get_ylim()
    if hi / lo < 100:
        ax.yaxis.set_minor_formatter(FuncFormatter(minor))
        ax.grid(True, which="minor", axis="y", alpha=0.1)


def partial_note(row):
    return f"{int(row['reached'])}/{int(row['finished'])}"


def plot_tta(study, stats, series, x_axis, target, curve, caption, out):
    fig, ax = plt.subplots(figsize=(8, 5.6))
    handles = []
    first = stats.drop_duplicates("series").set_index("series")
    for i, s in enumerate(series):
        g = stats[stats["series"] == s]
        c, ls = first.at[s, "colour"], first.at[s, "style"]
        unreached = g[(g["reached"] == 0) & (g["finished"] > 0)]
        # Without an x axis a series has one bar: "not reached" needs no x label then.
        where = f": {', '.join(map(str, unreached['x_label']))}" if x_axis is not None else ""
        label = s + (f" (not reached{where})" if len(unreached) else "")
        partial = g["reached"] < g["finished"]
        if x_axis is not None:
            x = g["x"] * 1.04 ** (i - (len(series) - 1) / 2)  # dodge overlapping points
            ax.fill_between(x, g["min"], g["max"], color=c, alpha=0.15, linewidth=0)
            ax.plot(x, g["median"], color=c, linestyle=ls, linewidth=1.8)
            ax.plot(x[~partial], g["median"][~partial], "o", color=c, markersize=6)
            ax.plot(x[partial], g["median"][partial], "o", color=c, markersize=6,
                    markerfacecolor="white", markeredgewidth=1.5)
            for xi, (_, row) in zip(x[partial], g[partial].iterrows()):
                if row["reached"] > 0:
                    ax.annotate(partial_note(row), (xi, row["median"]),
                                xytext=(6, -12 if i % 2 else 5),
                                textcoords="offset points", color=c, fontsize=8.5,
                                bbox={"boxstyle": "round,pad=0.1", "fc": "white",
                                      "ec": "none", "alpha": 0.7})
        else:
            row = g.iloc[0]
            half = row["reached"] < row["finished"]
            if row["reached"] > 0:
                err = [[row["median"] - row["min"]], [row["max"] - row["median"]]]
                ax.bar(i, row["median"], 0.6, color="white" if half else c, edgecolor=c,
                       hatch="//" if half else None, linewidth=1.5, yerr=err,
                       error_kw={"ecolor": "black", "capsize": 4, "linewidth": 1})
                if half:
                    ax.annotate(partial_note(row), (i, row["max"]), xytext=(0, 4),
                                textcoords="offset points", ha="center", color=c, fontsize=9)
            else:
                ax.text(i, 0.02, "not reached", transform=ax.get_xaxis_transform(),
                        ha="center", color=c, fontsize=9, rotation=90, va="bottom")
        handles.append(Line2D([], [], color=c, linestyle=ls if x_axis is not None else "none",
                              marker="o" if x_axis is not None else "s", markersize=7,
                              linewidth=1.8, label=label))
    if stats["reached"].sum() > 0:
        ax.set_yscale("log")
        log_labels(ax)
    else:
        ax.text(0.5, 0.5, "no run reached the target", transform=ax.transAxes, ha="center")
    if x_axis is not None:
        ax.set_xscale("log")
        ax.set_xticks(x_axis["numeric_values"])
        ax.set_xticklabels(x_axis["values"])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(axis_label(x_axis))
        handles += [Line2D([], [], color="grey", marker="o", markerfacecolor="white",
                           linestyle="none", label="hollow k/n: k of n finished seeds reached it"),
                    Patch(color="grey", alpha=0.25, label="band: min\u2013max over seeds")]
    else:
        set_series_ticks(ax, series)
        ax.set_xlim(-0.6, len(series) - 0.4)
        handles = [h for h in handles if "not reached" in h.get_label()]
        handles.append(Patch(facecolor="white", edgecolor="grey", hatch="//",
                             label="hatched k/n: k of n finished seeds reached it; "
                                   "whiskers: min\u2013max"))
    ax.set_ylabel(f"Time to {target:g} accuracy (simulated s, log)")
    ax.grid(True, which="major", alpha=0.3)
    where = "median over seeds that reached it" if x_axis is None else \
        "line: median over seeds that reached it"
    finish(fig, f"Time to {target:g} test accuracy ({curve})",
           f"{where}. {caption}".strip(), handles)
    save_png(fig, out, dpi=150)


def share(part, total):
    pct = 100 * part / total if total > 0 else float("nan")
    return "-" if pct != pct else "<0.01%" if pct < 0.01 else f"{pct:.2g}%"


def breakdown_columns(runs, target):
    """The compute / communication / wait columns to plot and what they cover: up to the target
    when rounds.csv carries the breakdown (dmlsim writes it), else the whole run."""
    to_target = [name + "_to_target" for name in sr.BREAKDOWN]
    if runs[to_target[0]].notna().any():
        return to_target, f"up to {target:g} accuracy", \
            f"Up to the first evaluation at or above {target:g} (runs that never reach it left out); "
    return list(sr.BREAKDOWN), "whole run", "Whole run (rounds.csv without the breakdown columns); "


def plot_breakdown(study, runs, series, x_axis, target, caption, out):
    panels = [None] if x_axis is None else x_axis["values"]
    fig, axes = grid(len(panels), width=max(3.6, 1.0 + 0.75 * len(series)), height=3.8)
    columns, span, note = breakdown_columns(runs, target)
    parts = list(zip(columns, ["compute", "communication", "wait"], [1.0, 0.55, 0.25], [None, "//", ".."]))
    done = runs[runs["finished"]]
    log_panels = 0
    for ax, value in zip(axes, panels):
        sel = done if value is None else done[done[x_axis["name"]] == value]
        means = sel.groupby("series")[columns].mean().dropna()
        totals = means.sum(axis=1)
        # Bars orders of magnitude apart (LAN beside WAN) vanish on a linear axis: log then.
        log = len(totals) > 1 and totals.min() > 0 and totals.max() / totals.min() > 100
        for i, s in enumerate(series):
            if s not in means.index:
                continue
            c = runs.loc[runs["series"] == s, "colour"].iloc[0]
            bottom = 0.0
            for col, _, a, hatch in parts:
                ax.bar(i, means.at[s, col], 0.7, bottom=bottom, color=c, alpha=a,
                       hatch=hatch, edgecolor=c, linewidth=0.8)
                bottom += means.at[s, col]
            ax.annotate(share(means.at[s, columns[0]], bottom),
                        (i, bottom), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=8, color="dimgrey")
        set_series_ticks(ax, series)
        for tick, s in zip(ax.get_xticklabels(), series):
            tick.set_color(runs.loc[runs["series"] == s, "colour"].iloc[0])
        if log:
            log_panels += 1
            ax.set_yscale("log")
            ax.set_ylim(bottom=totals.min() / 20, top=totals.max() * 3)
            log_labels(ax)
        else:
            ax.margins(y=0.08)
            ax.set_ylim(bottom=0)
        ax.set_ylabel("simulated seconds per worker" + (" (log)" if log else ""))
        ax.set_title("all runs" if value is None else f"{x_axis['name']} = {value}")
        ax.grid(True, axis="y", alpha=0.3)
    handles = [Patch(facecolor="grey", alpha=a, hatch=h, edgecolor="grey", label=label)
               for _, label, a, h in parts]
    note += "mean over seeds; number above a bar: compute share of the total (%)" + \
        ("; y scales differ between panels" if len(panels) > 1 else "") + \
        ("; log scale where bars differ by more than 100\u00d7 (segments then not to scale)" if log_panels else "") + ". "
    finish(fig, f"Time breakdown per worker, {span} \u2014 {study.meta.get('name', '')}",
           (note + caption).strip(), handles)
    save_png(fig, out, dpi=150)


# ---- command line ----

def main(argv=None):
    parser = argparse.ArgumentParser(description="Regenerate every figure of a dmlsim study.")
    parser.add_argument("results_dir", metavar="RESULTS_DIR")
    parser.add_argument("-o", "--outdir", metavar="OUTDIR",
                        help="output directory (default RESULTS_DIR/figures)")
    parser.add_argument("--target", type=float, default=0.95,
                        help="target test accuracy for time to accuracy (default 0.95)")
    parser.add_argument("--smooth", default="raw",
                        help="curve for time to accuracy: raw (default), ewma or ewma:ALPHA; "
                             "ALPHA (default 0.9) also smooths the bold accuracy curves")
    parser.add_argument("--latency-axis", metavar="NAME",
                        help="axis for the x of tta_vs_latency (default: the link latency axis)")
    parser.add_argument("--only", metavar="AXIS=LABEL", action="append", default=[],
                        help="plot only the runs with this axis value (repeatable), e.g. algorithm=bmuf")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return e.code
    try:
        if not 0 < args.target <= 1:
            raise sr.StudyError(f"--target must be in (0, 1], got {args.target}")
        try:
            tta_alpha = sr.parse_smoothing(args.smooth)
        except ValueError as e:
            raise sr.StudyError(str(e)) from None
        study = sr.load_study(args.results_dir)
        for only in args.only:
            name, _, label = only.partition("=")
            if name not in study.runs.columns or label not in set(study.runs[name].astype(str)):
                raise sr.StudyError(f"--only {only}: no run has {name}={label}")
            study.runs = study.runs.loc[study.runs[name].astype(str) == label].reset_index(drop=True)
        runs = study.runs
        if not runs["finished"].any():
            raise sr.StudyError(f"{args.results_dir}: no finished run "
                                f"(no runs/*/summary.json among {len(runs)} runs)")
        x_axis = pick_x_axis(study, args.latency_axis)
        runs = sr.add_tta(study, args.target, tta_alpha)  # reads every rounds.csv now
        runs = sr.add_breakdown_to_target(study, runs, args.target, tta_alpha)
        outdir = args.outdir or os.path.join(args.results_dir, "figures")
        os.makedirs(outdir, exist_ok=True)
    except (sr.StudyError, OSError) as e:
        print(f"plot_study: {e}", file=sys.stderr)
        return 2

    missing = study.missing
    caption = ""
    if missing:
        shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
        print(f"plot_study: warning: {len(missing)} of {len(runs)} runs have no summary.json "
              f"(not run, unfinished or failed), left out: {shown}", file=sys.stderr)
        caption = f"{len(missing)} of {len(runs)} runs missing or failed, left out ({shown})."
    done = runs.loc[runs["finished"]]
    models = sorted({f"profile {p} ({m})" if isinstance(p, str) else m
                     for m, p in zip(done["network.model"], done["network.profile"]) if isinstance(m, str)})
    if models:
        caption += f" Network: {', '.join(models)}."
    alpha = 0.9 if tta_alpha is None else tta_alpha
    curve = "raw curve" if tta_alpha is None else f"EWMA-smoothed curve, \u03b1={tta_alpha:g}"

    x_name = x_axis["name"] if x_axis else None
    runs, series = add_series(study, runs, x_name)
    by = ["series"] + ([x_name] if x_name else [])
    stats = sr.tta_stats(runs, by).merge(runs.drop_duplicates("series")[
        ["series", "colour", "style"]], on="series")
    if x_axis:
        stats["x_label"] = stats[x_name].astype(str)
        stats["x"] = stats[x_name].cat.codes.map(lambda i: x_axis["numeric_values"][i])
        stats = stats.sort_values("x")

    p_axis = panel_axis(study, x_axis)
    acc_runs, acc_series = (runs, series) if p_axis is x_axis else \
        add_series(study, study.runs, p_axis["name"])
    paths = [os.path.join(outdir, n) for n in
             ("accuracy_vs_time.png", "tta_vs_latency.png", "time_breakdown.png")]
    plot_accuracy(study, acc_runs, acc_series, p_axis, alpha, args.target, caption.strip(),
                  paths[0])
    plot_tta(study, stats, series, x_axis, args.target, curve, caption.strip(), paths[1])
    plot_breakdown(study, runs, series, x_axis, args.target, caption.strip(), paths[2])
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
