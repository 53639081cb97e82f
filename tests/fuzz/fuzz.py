#!/usr/bin/python3
"""Mutation fuzzer for every input dmlsim reads: scenario, study, platform, network profile, CSV,
LIBSVM and IDX data, region matrices (`dmlsim platform`), gossip edge lists, and the command line.

Each case starts from a shipped (or generated) valid input, applies a few random mutations with a
fixed seed, runs dmlsim on it in a fresh directory with a time limit, and checks dmlsim's promise:

  * the exit code is 0, 2 or 3 (never a crash, an abort, exit 1, or a hang), and no sanitizer
    report or segmentation fault inside a run (which dmlsim turns into exit 3);
  * an exit-2 message is one line (besides notes), holds no raw control character, and names a file
    (one of the case's inputs, or "command line");
  * exit 2 or 3 writes nothing: no output directory, no new file anywhere in the case directory.

Usage: fuzz.py --dmlsim BUILD/dmlsim [--cases N] [--seed S] [--jobs J] [--timeout SECONDS]
                [--keep DIR]   (failing cases are copied there to reproduce them)
Exit status 0 when every case kept the promise; the summary line gives the counts by exit code.
"""
import argparse
import collections
import concurrent.futures
import gzip
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Values that broke dmlsim or SimGrid before, and the classic edge cases.
INTERESTING = ["", " ", "0", "-1", "1", "2", "-0", "1e309", "-1e309", "nan", "inf", "1e-320", "4294967296",
               "99999999999999999999", "1073741824", "999999", "0.5", "abc", "\xe9t\xe9", "\U0001F600", "50", "10 50",
               "0Bps", "-1s", "0s", "1e6s", "5min", "0f", "1Gbps", "50ms", "true", "x" * 300, "../../etc/passwd",
               "5us", "Full", "None", "LV09", "ns-3", "CM02", "SMPI", "Lazy", "TI", "thread", "%s%n", "'", "\"", "<",
               "&amp;", "&bogus;", "0x10", "1,2", "node-*", "*", "wan-*", "us-east-0", "node-999",
               # Control characters a message must not print raw (XML character references give them in attributes).
               "a\nb", "1&#10;2", "node&#13;-0", "\x1b[2J", "ssgd\x1b[31m", "\x0c", "\x7f", "\x9b"]


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class Mutator:
    """Text and byte mutations driven by one random generator."""

    def __init__(self, rng):
        self.rng = rng

    def value(self):
        r = self.rng.random()
        if r < 0.7:
            return self.rng.choice(INTERESTING)
        if r < 0.85:
            return str(self.rng.choice([-1, 1]) * 10 ** self.rng.uniform(-12, 25))
        return "".join(chr(self.rng.randrange(32, 127)) for _ in range(self.rng.randrange(1, 12)))

    def text(self, text, count=None):
        for _ in range(count or self.rng.randrange(1, 4)):
            text = self.rng.choice([self.replace_attribute, self.replace_attribute, self.splice, self.flip,
                                    self.truncate, self.duplicate_line, self.delete_line])(text)
        return text

    def replace_attribute(self, text):
        """Replaces one quoted value (an XML attribute, a CSV cell between commas…)."""
        quotes = [i for i, c in enumerate(text) if c == '"']
        if len(quotes) < 2:
            return self.splice(text)
        k = self.rng.randrange(len(quotes) - 1)
        start, end = quotes[k] + 1, quotes[k + 1]
        if "\n" in text[start:end] or "<" in text[start:end]:
            return self.splice(text)
        return text[:start] + self.value().replace('"', "") + text[end:]

    def splice(self, text):
        at = self.rng.randrange(len(text) + 1)
        cut = self.rng.randrange(0, 8)
        return text[:at] + self.value() + text[at + cut:]

    def flip(self, text):
        if not text:
            return text
        at = self.rng.randrange(len(text))
        # A code point below 256, or (surrogate-escaped) a raw byte that is not UTF-8.
        byte = chr(self.rng.randrange(1, 256)) if self.rng.random() < 0.5 else chr(0xDC80 + self.rng.randrange(128))
        return text[:at] + byte + text[at + 1:]

    def truncate(self, text):
        return text[:self.rng.randrange(len(text) + 1)]

    def lines(self, text):
        lines = text.split("\n")
        return lines, self.rng.randrange(len(lines))

    def duplicate_line(self, text):
        lines, k = self.lines(text)
        lines.insert(k, lines[k])
        return "\n".join(lines)

    def delete_line(self, text):
        lines, k = self.lines(text)
        del lines[k]
        return "\n".join(lines)

    def bytes(self, data, count=None):
        data = bytearray(data)
        for _ in range(count or self.rng.randrange(1, 4)):
            kind = self.rng.randrange(4)
            if kind == 0 and data:  # a header field (the first 16 bytes hold the IDX sizes)
                at = self.rng.randrange(min(len(data), 16))
                data[at] = self.rng.choice([0, 1, 0x7F, 0x80, 0xFF, self.rng.randrange(256)])
            elif kind == 1 and data:
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
            elif kind == 2:
                data = data[:self.rng.randrange(len(data) + 1)]
            else:
                at = self.rng.randrange(len(data) + 1)
                data[at:at] = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 9)))
        return bytes(data)


def write(path, content):
    with open(path, "wb" if isinstance(content, bytes) else "w", encoding=None if isinstance(content, bytes) else "utf-8",
              errors=None if isinstance(content, bytes) else "surrogateescape") as f:
        f.write(content)


def idx(magic, sizes, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in sizes) + payload


def relocate(scenario_text, scenario_path):
    """Makes the relative paths of a shipped scenario absolute, so its copy can live anywhere."""
    base = os.path.dirname(scenario_path)
    out = scenario_text
    for attr in ("file", "train", "test", "train-labels", "test-labels"):
        pos = 0
        while True:
            at = out.find(f' {attr}="', pos)
            if at < 0:
                break
            start = at + len(attr) + 3
            end = out.find('"', start)
            value = out[start:end]
            if value and not value.startswith("/"):
                value = os.path.normpath(os.path.join(base, value))
            out = out[:start] + value + out[end:]
            pos = start
    return out


class Cases:
    """Builds one case: files in `workdir` and the dmlsim arguments that use them."""

    SCENARIOS = ["scenarios/seed/ma.xml", "scenarios/seed/ssgd.xml", "scenarios/seed/bmuf.xml", "scenarios/seed/easgd.xml",
                 "scenarios/wan/ma.xml", "scenarios/wan/bmuf.xml",
                 # the algorithms, topologies and world elements added since (issues 10 and 12)
                 "scenarios/wan/asgd.xml", "scenarios/wan/ssp.xml", "scenarios/wan/easgd-async.xml", "scenarios/wan/dpsgd.xml",
                 "scenarios/wan/adpsgd.xml", "scenarios/wan/fedavg.xml", "scenarios/wan/ssgd-backup.xml",
                 "scenarios/wan/diloco.xml", "scenarios/wan/streaming-diloco.xml", "scenarios/wan/ma-failures.xml",
                 "scenarios/aws/background.xml", "scenarios/aws/failure.xml"]

    def __init__(self, rng):
        self.rng = rng
        self.m = Mutator(rng)

    def base_scenario(self):
        path = os.path.join(ROOT, self.rng.choice(self.SCENARIOS))
        text = relocate(read(path), path)
        # Small runs: the fuzzer checks behaviour on bad input, not training.
        for rounds in ("300", "200", "1200", "75"):
            text = text.replace(f'rounds="{rounds}"', 'rounds="3"')
        return text

    def run_args(self, workdir, scenario):
        out = os.path.join(workdir, "out")
        if self.rng.random() < 0.5:
            return ["validate", scenario]
        return ["run", scenario, "-q", "-o", out, "--set", "training.rounds=3"]

    def scenario(self, workdir):
        path = os.path.join(workdir, "scenario.xml")
        write(path, self.m.text(self.base_scenario()))
        return self.run_args(workdir, path), [path]

    def platform(self, workdir):
        source = os.path.join(ROOT, self.rng.choice(["platforms/lan.xml", "platforms/wan-geo.xml"]))
        text = read(source)
        body = text.find("<platform")
        path = os.path.join(workdir, "platform.xml")
        write(path, text[:body] + self.m.text(text[body:]))
        scenario = os.path.join(workdir, "scenario.xml")
        base = self.base_scenario()
        write(scenario, base)
        return self.run_args(workdir, scenario) + ["--set", "platform.file=" + path], [path, scenario]

    def profile(self, workdir):
        text = read(os.path.join(ROOT, "profiles", self.rng.choice(["linux-tcp.xml", "cm02.xml", "lv08.xml"])))
        path = os.path.join(workdir, "profile.xml")
        write(path, self.m.text(text))
        scenario = os.path.join(workdir, "scenario.xml")
        write(scenario, self.base_scenario())
        return self.run_args(workdir, scenario) + ["--network-profile", path], [path, scenario]

    def csv(self, workdir):
        lines = read(os.path.join(ROOT, "data/breast_cancer_seed_train.csv")).split("\n")
        text = "\n".join(lines[:60]) + "\n"
        if self.rng.random() < 0.2:  # R's and pandas' quoted headers
            header, rest = text.split("\n", 1)
            text = ",".join('"%s"' % h for h in header.split(",")) + "\n" + rest
        path = os.path.join(workdir, "train.csv")
        write(path, self.m.text(text))
        scenario = os.path.join(workdir, "scenario.xml")
        write(scenario, self.base_scenario())
        args = self.run_args(workdir, scenario) + ["--set", "data.train=" + path]
        if self.rng.random() < 0.3:
            args += ["--set", "data.label=" + self.m.value()]
        return args, [path, scenario]

    def data_scenario(self, workdir, data_element, model="softmax"):
        path = os.path.join(workdir, "scenario.xml")
        write(path, f"""<scenario name="fuzz" seed="1">
  <platform file="{ROOT}/platforms/lan.xml"/>
  <network model="CM02"/>
  {data_element}
  <model type="{model}"/>
  <workers count="2" placement="pattern" pattern="node-*"/>
  <server host="node-0"/>
  <algorithm name="ma" eta="0.1"/>
  <training rounds="2"/>
</scenario>
""")
        return path

    def libsvm(self, workdir):
        rows = []
        for i in range(30):
            features = sorted(self.rng.sample(range(1, 9), 3))
            rows.append(f"{self.rng.choice(['+1', '-1'])} " + " ".join(f"{f}:{self.rng.uniform(-1, 1):.3f}" for f in features))
        path = os.path.join(workdir, "data.svm")
        write(path, self.m.text("\n".join(rows) + "\n"))
        features = f' features="{self.m.value()}"' if self.rng.random() < 0.3 else ""
        scenario = self.data_scenario(workdir, f'<data format="libsvm" file="{path}"{features}/>', "logistic")
        return self.run_args(workdir, scenario), [path, scenario]

    def idx(self, workdir):
        n, side = 12, 3
        images = idx(0x803, [n, side, side], bytes(self.rng.randrange(256) for _ in range(n * side * side)))
        labels = idx(0x801, [n], bytes(self.rng.randrange(3) for _ in range(n)))
        files = {}
        for name, data in (("train-images", images), ("train-labels", labels), ("test-images", images), ("test-labels", labels)):
            mutated = self.m.bytes(data) if self.rng.random() < 0.5 else data
            if self.rng.random() < 0.4:
                mutated = gzip.compress(mutated, mtime=0)
                if self.rng.random() < 0.5:
                    mutated = mutated[:self.rng.randrange(len(mutated) + 1)]  # truncated .gz
                name += ".gz"
            files[name] = os.path.join(workdir, name)
            write(files[name], mutated)
        keys = sorted(files)
        element = ('<data format="idx" train="{}" train-labels="{}" test="{}" test-labels="{}"/>'
                   .format(files[keys[2]], files[keys[3]], files[keys[0]], files[keys[1]]))
        scenario = self.data_scenario(workdir, element)
        return self.run_args(workdir, scenario), list(files.values()) + [scenario]

    def study(self, workdir):
        source = os.path.join(ROOT, "scenarios/studies/ci-small.xml")
        path = os.path.join(workdir, "study.xml")
        write(path, self.m.text(relocate(read(source), source)))
        return ["sweep", path, "--list", "--out", os.path.join(workdir, "out")], [path]

    def command_line(self, workdir):
        scenario = os.path.join(workdir, "scenario.xml")
        write(scenario, self.base_scenario())
        args = self.run_args(workdir, scenario)
        options = ["--set", "--cfg", "--link", "--network-profile", "-o", "--save-weights", "--bare", "-q", "--log=x",
                   "--set=algorithm.eta=0.1", "--cfg=network/model:CM02", "--link=wan-*:latency=1ms", "table", "-t"]
        values = ["algorithm.eta=" + self.m.value(), "workers.count=" + self.m.value(), "network/model:" + self.m.value(),
                  "cpu/optim:" + self.m.value(), "contexts/factory:" + self.m.value(), "host/model:" + self.m.value(),
                  "wan-*:latency=" + self.m.value(), "*:bandwidth=" + self.m.value(), "stop.max-time=" + self.m.value(),
                  "report.targets=" + self.m.value(), "scenario.name=" + self.m.value(), self.m.value()]
        for _ in range(self.rng.randrange(1, 4)):
            at = self.rng.randrange(1, len(args) + 1)
            kind = self.rng.randrange(4)
            if kind == 0:
                args[at:at] = [self.rng.choice(options), self.rng.choice(values)]
            elif kind == 1 and len(args) > 2:
                del args[self.rng.randrange(1, len(args))]
            elif kind == 2:
                args[at:at] = [self.rng.choice(values)]
            else:
                args[at:at] = [self.rng.choice(options)]
        return args, [scenario]

    def regions(self, workdir):
        """`dmlsim platform` on a mutated region matrix (a few rows of the shipped one) and options."""
        lines = read(os.path.join(ROOT, "data/regions/aws-6region.csv")).split("\n")
        text = "\n".join(lines[:1] + self.rng.sample(lines[1:16], self.rng.randrange(1, 8))) + "\n"
        path = os.path.join(workdir, "regions.csv")
        write(path, self.m.text(text))
        args = ["platform", "--regions", path, "--hosts-per-region", self.rng.choice(["1", "2", "3", self.m.value()]),
                "-o", os.path.join(workdir, "out.xml")]
        for option, values in (("--rtt-column", ["rtt_ms_dtfm", "rtt_ms_skyplane_ping", "gbps_single_flow_dtfm:ms"]),
                               ("--bw-column", ["gbps_single_flow_dtfm", "gbps_64_streams_skyplane", "rtt_ms_dtfm:Gbps"]),
                               ("--lan", ["10Gbps:20us", "1Gbps"]), ("--backbone", ["100Gbps:5us", "0Gbps:1us"])):
            if self.rng.random() < 0.3:
                args += [option, self.rng.choice(values + [self.m.value()])]
        return args, [path]

    def graph(self, workdir):
        """A D-PSGD run on a mutated edge list of the 4 workers (graph="file")."""
        edges = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]
        path = os.path.join(workdir, "graph.txt")
        write(path, self.m.text("# an edge list\n" + "".join(f"{a} {b}\n" for a, b in self.rng.sample(edges, 4))))
        base = os.path.join(ROOT, "scenarios/wan/dpsgd.xml")
        text = relocate(read(base), base).replace('rounds="300"', 'rounds="3"')
        scenario = os.path.join(workdir, "scenario.xml")
        write(scenario, text.replace('graph="ring"', f'graph="file" file="{path}"'))
        return self.run_args(workdir, scenario), [path, scenario]

    # The world around a run (README, Failures and Competing traffic) on wan-geo.xml: some of these
    # elements, valid as written, then mutated among themselves.
    WORLD = ['<host name="eu-west-0" round="2" for="1s"/>', '<host name="ap-northeast-0" at="0.2s"/>',
             '<link name="wan-us-east-ap-northeast" at="0.1s" for="5s"/>', '<random mtbf="1s" mttr="0.5s"/>']
    BACKGROUND = ['<flow from="us-east-5" to="eu-west-5"/>', '<flow from="eu-west-6" to="ap-northeast-7" on="2s" off="8s"/>',
                  '<flow from="us-east-6" to="ap-northeast-6" rate="500Mbps"/>']

    def world(self, workdir):
        path = os.path.join(workdir, "scenario.xml")
        base = relocate(read(os.path.join(ROOT, "scenarios/wan/ma.xml")), os.path.join(ROOT, "scenarios/wan/ma.xml"))
        base = base.replace('rounds="300"', 'rounds="3"')
        pick = lambda items: [item for item in items if self.rng.random() < 0.5] or [self.rng.choice(items)]
        block = '<topology kind="%s"/>\n' % self.rng.choice(["parameter-server", "ring-allreduce"])
        if self.rng.random() < 0.7:
            block += '<failures timeout="2s">\n  %s\n</failures>\n' % "\n  ".join(pick(self.WORLD))
        if self.rng.random() < 0.5:
            block += "<background>\n  %s\n</background>\n" % "\n  ".join(pick(self.BACKGROUND))
        end = base.rindex("</scenario>")
        write(path, base[:end] + self.m.text(block) + "\n" + base[end:])
        return self.run_args(workdir, path), [path]

    # "world" replaced one of two "scenario" entries, so the budget's mix of run kinds stays close.
    KINDS = ["scenario", "world", "platform", "profile", "csv", "libsvm", "idx", "study", "command_line", "command_line",
             "regions", "graph"]

    def make(self, workdir):
        kind = self.rng.choice(self.KINDS)
        args, inputs = getattr(self, kind)(workdir)
        return kind, args, inputs


def listing(directory):
    return sorted(os.path.relpath(os.path.join(d, f), directory) for d, _, files in os.walk(directory) for f in files)


def printable(text):
    """A file name as dmlsim's messages show it (src/util/quote.hpp): control characters escaped."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

    def shown(c):
        if c in named:
            return named[c]
        if c < " " or c == "\x7f":
            return f"\\x{ord(c):02x}"
        return f"\\u{ord(c):04x}" if "\x80" <= c <= "\x9f" else c
    return "".join(shown(c) for c in text)


def names_a_file(out, inputs, args, workdir):
    """An exit-2 message starts "dmlsim: FILE[:LINE]: …" with FILE one of the case's inputs, a file
    the inputs name (a mutated scenario may point at /etc/passwd), a value the mutated command line
    gave for a file, or "command line"; CLI11's own usage errors say "Run with --help"."""
    if "Run with --help" in out or "dmlsim: command line:" in out:
        return True
    for line in out.splitlines():
        if not line.startswith("dmlsim: "):
            continue
        rest = line[len("dmlsim: "):]
        if any(rest.startswith(arg + ":") or rest.startswith(printable(arg) + ":") for arg in args if arg):
            return True
        named = rest.split(":", 1)[0]
        if named in inputs or named in args or os.path.exists(os.path.join(workdir, named)):
            return True
        if named.startswith("sweep ") and named[len("sweep "):] in inputs:
            return True
    return False


def check(dmlsim, kind, args, inputs, workdir, timeout):
    """Runs one case; returns (exit code, problem or None, output)."""
    before = listing(workdir)
    try:
        done = subprocess.run([dmlsim] + args, cwd=workdir, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"no answer within {timeout} s (hang)", ""
    out = (done.stdout + done.stderr).decode("utf-8", "replace")
    code = done.returncode
    args = [a for a in args if a]
    if code not in (0, 2, 3):
        return code, f"exit code {code} (only 0, 2 and 3 are allowed)", out
    # A run ended by a signal inside the simulation is exit 3; only SimGrid's abort may end it so.
    for crash in ("ERROR: AddressSanitizer", "runtime error:", "inside SimGrid (killed by signal: Segmentation"):
        if crash in out:
            return code, f"crashed ({crash})", out
    if code == 0:
        return code, None, out
    if code == 2 and not names_a_file(out, inputs, args, workdir):
        return code, "the exit-2 message names no file", out
    if code == 2 and len([line for line in out.split("\n") if line.strip() and ": note: " not in line]) != 1:
        return code, "the exit-2 message is not one line (notes aside)", out
    # A message shows input text with escapes: no control character reaches the terminal.
    if code == 2 and any((c < " " and c != "\n") or "\x7f" <= c <= "\x9f" for c in out):
        return code, "the exit-2 message holds a raw control character", out
    after = listing(workdir)
    if after != before:
        return code, f"exit {code} but files were written: {sorted(set(after) - set(before))}", out
    return code, None, out


def run_case(dmlsim, seed, index, timeout, keep):
    rng = random.Random(f"{seed}-{index}")
    workdir = tempfile.mkdtemp(prefix="dmlsim-fuzz-")
    try:
        kind, args, inputs = Cases(rng).make(workdir)
        code, problem, out = check(dmlsim, kind, args, inputs, workdir, timeout)
        if problem and keep:
            target = os.path.join(keep, f"case-{seed}-{index}")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(workdir, target)
            write(os.path.join(target, "REPRODUCE"), "cd %s && %s %s\n# %s\n%s" % (
                workdir, dmlsim, " ".join("'%s'" % a.replace("'", "'\\''") for a in args), problem, out))
        return index, kind, code, problem, out, args
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dmlsim", required=True)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--keep", help="directory to copy failing cases into")
    args = parser.parse_args()
    dmlsim = os.path.abspath(args.dmlsim)

    by_code = collections.Counter()
    by_kind = collections.Counter()
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_case, dmlsim, args.seed, i, args.timeout, args.keep) for i in range(args.cases)]
        for future in concurrent.futures.as_completed(futures):
            index, kind, code, problem, out, case_args = future.result()
            by_code[code] += 1
            by_kind[kind] += 1
            if problem:
                failures.append((index, kind, problem, out, case_args))
    for index, kind, problem, out, case_args in sorted(failures)[:20]:
        print(f"FAIL case {index} ({kind}): {problem}\n  dmlsim {' '.join(case_args)}\n  " +
              "\n  ".join(out.strip().splitlines()[-6:]))
    codes = ", ".join(f"exit {c}: {n}" for c, n in sorted(by_code.items(), key=lambda item: str(item[0])))
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
    print(f"fuzz: {args.cases} cases (seed {args.seed}): {codes}; inputs: {kinds}; {len(failures)} broke the promise")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
