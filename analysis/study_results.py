"""Load a dmlsim study results directory (written by `dmlsim sweep`) into pandas.

Usage (from Python, with Debian's /usr/bin/python3):
    import study_results as sr
    study = sr.load_study("results/my-study")   # raises sr.StudyError on bad input
    study.runs                    # one row per manifest run: run_id, <axes>, seed, run_dir,
                                  #   finished, plus the summary.json fields of SUMMARY_FIELDS
    study.rounds("some-run-id")   # that run's rounds.csv, read on first use and cached
    tta = sr.add_tta(study, target=0.95, alpha=0.9)   # runs + "tta" column (NaN: not reached)
    sr.tta_stats(tta, by=["algorithm", "wan-latency"])  # median/min/max/reached per group

Time to accuracy follows DAWNBench (and `dmlsim table`): the simulated time of the first
evaluation whose test accuracy -- raw, or EWMA-smoothed with plot_run.ewma -- is at or above
the target. Groups count their manifest runs (total), the runs with a summary.json (finished)
and the finished runs that reached the target (reached); median/min/max are over reached runs.
"""
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_run import RunError, ewma, load_run, read_json_object  # noqa: E402

# Column name -> path in summary.json.
SUMMARY_FIELDS = {
    "algorithm.name": ("algorithm", "name"),
    "scenario_name": ("scenario_name",),
    "network.model": ("network", "model"),
    "network.profile": ("network", "profile", "name"),
    "result.final_accuracy": ("result", "final_accuracy"),
    "result.sim_time": ("result", "sim_time"),
    "result.rounds": ("result", "rounds"),
    "compute_time": ("time_breakdown", "mean_compute_time"),
    "comm_time": ("time_breakdown", "mean_comm_time"),
    "wait_time": ("time_breakdown", "mean_wait_time"),
    "comm_compute_ratio": ("time_breakdown", "comm_compute_ratio"),
}


class StudyError(Exception):
    """Bad or missing input; the message names the offending file."""


def _read_json(path):
    return read_json_object(path, StudyError)


def _dig(data, path):
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


class Study:
    """A loaded results directory: meta (study.json), axes (its list) and runs (DataFrame)."""

    def __init__(self, results_dir, meta, runs):
        self.dir, self.meta, self.runs = results_dir, meta, runs
        self.axes = meta["axes"]
        self._rounds = {}

    def axis(self, name):
        return next(a for a in self.axes if a["name"] == name)

    def rounds(self, run_id):
        """rounds.csv of a finished run as a DataFrame (loaded once)."""
        if run_id not in self._rounds:
            run_dir = self.runs.set_index("run_id").at[run_id, "run_dir"]
            try:
                self._rounds[run_id] = load_run(os.path.join(self.dir, run_dir))[1]
            except RunError as e:
                raise StudyError(str(e)) from None
        return self._rounds[run_id]

    @property
    def missing(self):
        """run_ids of the runs without summary.json (not run, unfinished or failed)."""
        return self.runs.loc[~self.runs["finished"], "run_id"].tolist()


def load_study(results_dir):
    """Read study.json, manifest.csv and every run's summary.json (rounds are lazy)."""
    study_path = os.path.join(results_dir, "study.json")
    manifest_path = os.path.join(results_dir, "manifest.csv")
    for path in (study_path, manifest_path):
        if not os.path.isfile(path):
            raise StudyError(f"{path}: file not found (not a study results directory)")
    meta = _read_json(study_path)
    axes = meta.get("axes")
    if not isinstance(axes, list) or not all(isinstance(a, dict) and "name" in a for a in axes):
        raise StudyError(f"{study_path}: missing or malformed \"axes\"")
    names = [a["name"] for a in axes]
    clash = set(names) & (set(SUMMARY_FIELDS) | {"finished", "tta"})
    if clash:
        raise StudyError(f"{study_path}: axis name(s) clash with column names: {sorted(clash)}")
    try:
        runs = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise StudyError(f"{manifest_path}: cannot parse CSV ({e})") from None
    expected = ["run_id"] + names + ["seed", "run_dir"]
    if list(runs.columns) != expected:
        raise StudyError(f"{manifest_path}: header does not match study.json "
                         f"(expected {','.join(expected)})")
    runs["seed"] = pd.to_numeric(runs["seed"], errors="coerce")
    for a in axes:  # study order, so groupby/sort follow the study file
        values = list(a.get("values") or [])
        unknown = set(runs[a["name"]]) - set(values)
        if unknown:
            raise StudyError(f"{manifest_path}: axis {a['name']} has value(s) {sorted(unknown)} "
                             f"not in study.json")
        # An axis inside a <zip> may repeat a value: categories are its distinct values, in order.
        runs[a["name"]] = pd.Categorical(runs[a["name"]], categories=list(dict.fromkeys(values)), ordered=True)
    fields = {c: [] for c in SUMMARY_FIELDS}
    finished = []
    for run_dir in runs["run_dir"]:
        path = os.path.join(results_dir, run_dir, "summary.json")
        summary = _read_json(path) if os.path.isfile(path) else None
        finished.append(summary is not None)
        for col, key in SUMMARY_FIELDS.items():
            fields[col].append(_dig(summary, key) if summary else None)
    runs["finished"] = finished
    for col, values in fields.items():
        runs[col] = values if col in ("algorithm.name", "scenario_name", "network.model", "network.profile") \
            else pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return Study(results_dir, meta, runs)


def parse_smoothing(text):
    """'raw' -> None, 'ewma' -> 0.9, 'ewma:ALPHA' -> ALPHA (in [0, 1))."""
    if text == "raw":
        return None
    if text == "ewma":
        return 0.9
    if text.startswith("ewma:"):
        try:
            alpha = float(text[5:])
        except ValueError:
            alpha = -1
        if 0 <= alpha < 1:
            return alpha
    raise ValueError(f"--smooth {text}: expected raw, ewma or ewma:ALPHA with ALPHA in [0, 1)")


def first_hit(rounds, target, alpha=None):
    """Position of the first evaluation at or above target (None if never).

    rounds: DataFrame with test_accuracy; alpha: EWMA factor, or None for raw."""
    acc = rounds["test_accuracy"].tolist()
    curve = acc if alpha is None else ewma(acc, alpha)
    return next((i for i, a in enumerate(curve) if a >= target), None)


def time_to_accuracy(rounds, target, alpha=None):
    """Simulated time of the first evaluation at or above target (None if never)."""
    hit = first_hit(rounds, target, alpha)
    return None if hit is None else float(rounds["sim_time"].iloc[hit])


BREAKDOWN = ["compute_time", "comm_time", "wait_time"]


def breakdown_to_target(rounds, target, alpha=None):
    """Mean compute / communication / wait time per worker up to the first evaluation at or
    above target, from rounds.csv's mean_compute_time and mean_comm_time (waiting is the rest of
    sim_time); None if never reached or if rounds.csv predates those columns."""
    hit = first_hit(rounds, target, alpha)
    if hit is None or "mean_compute_time" not in rounds.columns:
        return None
    row = rounds.iloc[hit]
    compute, comm = float(row["mean_compute_time"]), float(row["mean_comm_time"])
    return compute, comm, max(0.0, float(row["sim_time"]) - compute - comm)


def add_tta(study, target, alpha=None):
    """Copy of study.runs with a "tta" column (NaN when unfinished or never reached)."""
    runs = study.runs.copy()
    runs["tta"] = [time_to_accuracy(study.rounds(r.run_id), target, alpha) if r.finished
                   else None for r in runs.itertuples()]
    runs["tta"] = pd.to_numeric(runs["tta"], errors="coerce")
    return runs


def add_breakdown_to_target(study, runs, target, alpha=None):
    """Copy of runs with BREAKDOWN + "_to_target" columns (NaN: unfinished, never reached, or
    results written before rounds.csv carried the breakdown)."""
    runs = runs.copy()
    values = [breakdown_to_target(study.rounds(r.run_id), target, alpha) if r.finished else None
              for r in runs.itertuples()]
    for i, name in enumerate(BREAKDOWN):
        runs[name + "_to_target"] = pd.to_numeric(pd.Series([v[i] if v else None for v in values],
                                                            index=runs.index, dtype=object), errors="coerce")
    return runs


def tta_stats(runs, by):
    """Per group of `by` columns: total, finished, reached, median, min, max (of reached tta)."""
    g = runs.assign(reached=runs["tta"].notna()).groupby(by, observed=True, sort=True)
    out = g.agg(total=("run_id", "size"), finished=("finished", "sum"),
                reached=("reached", "sum"), median=("tta", "median"),
                min=("tta", "min"), max=("tta", "max"))
    return out.reset_index()


def series_axes(study, x_axis=None):
    """Axes (other than x_axis) that must name a series besides its algorithm: those with
    several values of which some algorithm.name takes more than one among finished runs (an
    axis zipped with the algorithms, e.g. a learning rate per algorithm, names nothing more)."""
    done = study.runs[study.runs["finished"]]
    out = []
    for a in study.axes:
        name = a["name"]
        if name == x_axis or len(a.get("values") or []) < 2:
            continue
        pairs = done[[name, "algorithm.name"]].drop_duplicates()
        if pairs["algorithm.name"].is_unique:
            continue
        out.append(name)
    return out
