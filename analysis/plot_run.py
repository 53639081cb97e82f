#!/usr/bin/python3
"""Plot test accuracy of one or more dmlsim runs.

Each RUN_DIR is a directory written by the simulator, containing
``rounds.csv`` (columns: round,sim_time,test_accuracy,test_loss,train_loss,
bytes_sent,messages_sent) and optionally ``summary.json``.

Usage:
    plot_run.py RUN_DIR                         # writes RUN_DIR/accuracy.png
    plot_run.py RUN_A RUN_B -o compare.png      # -o is required for several runs
    plot_run.py RUN_DIR --x round --alpha 0.8 --title "My run"

For every run the raw accuracy curve is drawn faint and its EWMA-smoothed
curve bold in the same colour: s[0] = acc[0],
s[i] = alpha * s[i-1] + (1 - alpha) * acc[i].

Must be run with Debian's /usr/bin/python3 (python3-matplotlib, python3-pandas).
Exit status: 0 on success, 2 on bad input (nothing is written then).
"""
import argparse
import json
import os
import sys
import tempfile

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

COLUMNS = ["round", "sim_time", "test_accuracy", "test_loss", "train_loss",
           "bytes_sent", "messages_sent"]
X_AXES = {"time": ("sim_time", "Simulated time (s)"), "round": ("round", "Round")}


class RunError(Exception):
    """Bad or missing input; the message names the offending file."""


def ewma(values, alpha=0.9):
    """Exponentially weighted moving average, seeded with the first value."""
    out = []
    for v in values:
        out.append(v if not out else alpha * out[-1] + (1 - alpha) * v)
    return out


def read_json_object(path, error=RunError):
    """The JSON object in `path`; `error` (naming the file) if it is unreadable or not an object."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise error(f"{path}: cannot read JSON ({e})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data


def load_run(run_dir):
    """Return (label, rounds DataFrame, network model or None) for a run dir."""
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: no such directory")
    csv_path = os.path.join(run_dir, "rounds.csv")
    if not os.path.isfile(csv_path):
        raise RunError(f"{csv_path}: file not found")
    try:
        df = pd.read_csv(csv_path)
    except pd.errors.EmptyDataError:
        raise RunError(f"{csv_path}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise RunError(f"{csv_path}: cannot parse CSV ({e})") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise RunError(f"{csv_path}: missing column(s): {', '.join(missing)}")
    if df.empty:
        raise RunError(f"{csv_path}: no data rows")
    for col in ("round", "sim_time", "test_accuracy"):
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise RunError(f"{csv_path}: column {col} is not numeric")

    label, network = os.path.basename(os.path.normpath(run_dir)), None
    summary_path = os.path.join(run_dir, "summary.json")
    if os.path.isfile(summary_path):
        summary = read_json_object(summary_path)
        algo = (summary.get("algorithm") or {}).get("name")
        parts = [p for p in (summary.get("scenario_name"), algo) if p]
        label = " / ".join(parts) or label
        network = network_label(summary.get("network"))
    return label, df, network


def network_label(network):
    """'profile linux-tcp (CM02)' for a run on a network profile, the bare model otherwise."""
    if not isinstance(network, dict) or not network.get("model"):
        return None
    profile = network.get("profile")
    if isinstance(profile, dict) and profile.get("name"):
        return f"profile {profile['name']} ({network['model']})"
    return network["model"]


def plot(runs, out_path, x="time", alpha=0.9, title=None):
    """Draw runs [(label, df, network), ...] and atomically write a PNG."""
    x_col, x_label = X_AXES[x]
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (label, df, _) in enumerate(runs):
        colour = f"C{i % 10}"
        acc = df["test_accuracy"].tolist()
        ax.plot(df[x_col], acc, color=colour, alpha=0.3, linewidth=1)
        ax.plot(df[x_col], ewma(acc, alpha), color=colour, linewidth=2,
                label=label)
    ax.set_xlabel(x_label)
    ax.set_ylabel("Test accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.suptitle(title or f"Test accuracy vs {x_label.lower()}")
    networks = {n for _, _, n in runs}
    if len(networks) == 1 and None not in networks:
        ax.set_title(f"network: {networks.pop()}", fontsize=10)
    fig.text(0.99, 0.01, f"faint: raw; bold: EWMA (alpha={alpha})",
             ha="right", fontsize=8, color="grey")

    save_png(fig, out_path)


def save_png(fig, out_path, dpi=120):
    """Write fig to out_path atomically (temp file + os.replace), then close it."""
    fd, tmp = tempfile.mkstemp(suffix=".png.tmp",
                               dir=os.path.dirname(os.path.abspath(out_path)))
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi)
        # mkstemp creates the file 0600; a figure is as readable as any file the user writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise
    finally:
        plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Plot test accuracy of dmlsim runs (raw + EWMA-smoothed).")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="output image (default: RUN_DIR/accuracy.png "
                             "for a single run; required for several)")
    parser.add_argument("--x", choices=sorted(X_AXES), default="time",
                        help="x axis: simulated time (default) or round")
    parser.add_argument("--alpha", type=float, default=0.9,
                        help="EWMA smoothing factor in [0, 1) (default 0.9)")
    parser.add_argument("--title", help="plot title")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return e.code
    if not 0 <= args.alpha < 1:
        print(f"plot_run: --alpha must be in [0, 1), got {args.alpha}",
              file=sys.stderr)
        return 2
    if args.output is None and len(args.run_dirs) > 1:
        print("plot_run: -o OUT.png is required when plotting several runs",
              file=sys.stderr)
        return 2
    out = args.output or os.path.join(args.run_dirs[0], "accuracy.png")
    try:
        runs = [load_run(d) for d in args.run_dirs]
        out_dir = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(out_dir):
            raise RunError(f"{out}: output directory {out_dir} does not exist")
    except RunError as e:
        print(f"plot_run: {e}", file=sys.stderr)
        return 2
    plot(runs, out, x=args.x, alpha=args.alpha, title=args.title)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
