#!/usr/bin/python3
"""A packet-level model of the harness's same-size loop through one FIFO drop-tail bottleneck,
built from physical parameters only, to test offline what makes real contention rounds slow.

Two directions (client to server and back), each a link of rate C (whole IP packets) behind a
drop-tail queue of Q packets, then the one-way latency L. Every connection is a Linux-like
TCP sender (segments of MSS payload, IW10, slow start, CUBIC with HyStart's ACK-train and delay
signs and its round trips counted from the initial window, SACK loss detection with a duplicate threshold of 3 and a window cut to beta at the start
of recovery, retransmission timeout, restart after idle as tcp_cwnd_restart, window cap from the
buffers) and a receiver that acknowledges every second segment and the end of each message. ACKs
are 52-byte packets in the reverse direction's queue, behind the answers there. The client
writes each connection's request in connection order at the same instant (its burst enters the
FIFO first), the server answers a connection `gap` after its request is complete, and a round ends
when every answer is in; the next starts at once (as `ProbeConnection::round_together` does).

Nothing is fitted: the parameters are the profile's and the harness's. Deterministic: without
`jitter` no random numbers; with it (a sensitivity check, not part of the model's figures) every
application write and every ACK leaves up to `jitter` seconds late, uniformly, from a generator
seeded with `seed` (each endpoint's ACKs keep their order, the requests their write order), as
the endpoints' scheduling would delay them; with `offset` each leaves that much later still (a
constant processing delay, the same in every round). Standard library only.

    /usr/bin/python3 tests/netfidelity/contention_model.py tests/netfidelity/data/*/*-f[2-9].json
    /usr/bin/python3 tests/netfidelity/contention_model.py --jitter-us 300 --seeds 8 CELL.json   # rounds per seed
"""
import heapq
import json
import math
import random
import sys

MSS = 1448
HEADER = 52
ACK_BYTES = 52
IW = 10
CUBIC_C = 0.4
BETA = 0.7
RTO_MIN = 0.200
WINDOW_CAP = min(6291456 * 0.625, 4194304) / MSS  # segments: rcv-buffer share or wmem maximum
HYSTART_LOW_WINDOW = 16
HYSTART_ACK_DELTA = 0.002
DUPTHRESH = 3

IN_FLIGHT, SACKED, LOST, RETRANSMITTED = 0, 1, 2, 3


class Link:
    """One direction: FIFO at `rate` bytes/s behind a drop-tail queue of `queue` packets, then `latency`."""

    def __init__(self, sim, rate, latency, queue):
        self.sim, self.rate, self.latency, self.queue = sim, rate, latency, queue
        self.departures = []  # departure times of the packets in the queue, oldest first
        self.head = 0
        self.last_departure = 0.0
        self.drops = 0

    def send(self, now, size, deliver, *payload):
        while self.head < len(self.departures) and self.departures[self.head] <= now:
            self.head += 1
        if self.head > 4096:
            del self.departures[:self.head]
            self.head = 0
        if len(self.departures) - self.head >= self.queue:
            self.drops += 1
            return
        self.last_departure = max(now, self.last_departure) + size / self.rate
        self.departures.append(self.last_departure)
        self.sim.at(self.last_departure + self.latency, deliver, *payload)


class Sender:
    """One socket's sending side."""

    def __init__(self, sim, link, receiver, rtt0, on_idle_restart=True, hystart_delay=True, rounds_from_iw=True):
        self.sim, self.link, self.receiver = sim, link, receiver
        self.state = bytearray()
        self.sent_at = []
        self.app_end = 0       # segments written by the application so far
        self.snd_nxt = 0
        self.snd_una = 0
        self.in_flight = 0
        self.highest_sacked = -1
        self.lost_scan = 0
        self.retransmit_queue = []
        self.cwnd = float(IW)
        self.ssthresh = math.inf
        # tcp_rtt_estimator after the handshake's sample: mdev is four mean deviations
        self.srtt, self.mdev = rtt0, 2 * rtt0
        self.rttvar = self.mdev_max = max(self.mdev, RTO_MIN)
        self.rtt_seq = 0
        self.rto = self.srtt + self.rttvar
        self.backoff = 1
        self.timer_gen = 0
        self.max_out = self.max_out_seq = 0
        self.window_full = False
        self.armed = False
        self.in_recovery = False
        self.recovery_point = 0
        self.last_send = 0.0
        # CUBIC and HyStart
        self.epoch_start = None
        self.last_max = 0.0
        self.origin = 0.0
        self.k = 0.0
        self.delay_min = math.inf
        self.found = False
        self.round_start = self.last_ack = 0.0
        self.end_seq = 0
        self.curr_rtt = math.inf
        self.samples = 0
        self.restart = on_idle_restart
        self.hystart_delay = hystart_delay
        # HyStart counts round trips at every window and reads its signs from HYSTART_LOW_WINDOW on
        # (Linux since "tcp_cubic: fix incorrect HyStart round start detection", 25c1a9ca53db), so a
        # round trip of slow start begins at IW * 2^k, as on the measured kernel; False: rounds counted
        # only from that window on, as before that commit.
        self.rounds_from_iw = rounds_from_iw
        self.exits = []  # (how, window) each time slow start ended: "ack train", "delay" or "loss"
        self.restarts = []  # per message written after an idle: (idle s, RTO s, halvings of the window)

    # --- the application
    def write(self, now, segments):
        if self.snd_nxt == self.snd_una and not self.retransmit_queue:
            idle = now - self.last_send
            if self.epoch_start is not None:
                self.epoch_start += idle  # CUBIC's CA_EVENT_TX_START
            before = self.cwnd
            if self.restart and idle > self.rto:
                self.restart_after_idle(idle)
            self.restarts.append((idle, self.rto, round(math.log2(before / self.cwnd))))
            self.hystart_reset(now)
        self.app_end += segments
        self.state.extend(bytes(segments))
        self.sent_at.extend([0.0] * segments)
        self.try_send(now)

    def restart_after_idle(self, idle):
        """tcp_cwnd_restart: halve the window once per RTO idle, not below the initial window,
        remembering three quarters of it as ssthresh."""
        restart_window = min(IW, self.cwnd)
        self.ssthresh = max(self.ssthresh, math.floor(self.cwnd * 0.75))
        left, cwnd = idle - self.rto, self.cwnd
        while left > 0 and cwnd > restart_window:
            cwnd = math.floor(cwnd / 2)
            left -= self.rto
        self.cwnd = max(cwnd, restart_window)

    def try_send(self, now):
        while self.in_flight < max(1, math.floor(self.cwnd)):
            if self.retransmit_queue:
                seq = self.retransmit_queue.pop(0)
                if self.state[seq] != LOST:
                    continue
                self.state[seq] = RETRANSMITTED
            elif self.snd_nxt < self.app_end and self.snd_nxt - self.snd_una < WINDOW_CAP:
                seq = self.snd_nxt
                self.snd_nxt += 1
            else:
                break
            self.in_flight += 1
            # tcp_cwnd_validate: the most packets out during the latest window, and whether the
            # window was full then
            if self.snd_una >= self.max_out_seq or self.in_flight > self.max_out:
                self.max_out, self.max_out_seq, self.window_full = self.in_flight, self.snd_nxt, False
            self.window_full |= self.in_flight >= math.floor(self.cwnd)
            self.sent_at[seq] = now
            self.last_send = now
            self.link.send(now, MSS + HEADER, self.receiver.on_segment, seq)
            if not self.armed:
                self.arm_timer(now)

    def arm_timer(self, now):
        self.timer_gen += 1
        self.armed = True
        self.sim.at(now + self.rto * self.backoff, self.on_timer, self.timer_gen)

    # --- ACKs
    def on_ack(self, now, cum, newly):
        acked, sample = 0, None
        for seq in range(self.snd_una, cum):
            acked += self.mark_delivered(seq)
            if self.state[seq] != RETRANSMITTED:
                sample = self.sent_at[seq]
        for seq in newly:
            if seq >= self.snd_una and self.state[seq] != SACKED:
                if self.state[seq] == IN_FLIGHT:
                    sample = max(sample or 0.0, self.sent_at[seq])
                acked += self.mark_delivered(seq)
                self.highest_sacked = max(self.highest_sacked, seq)
        progressed = cum > self.snd_una
        self.snd_una = max(self.snd_una, cum)
        if sample is not None:
            self.rtt_sample(now, now - sample)
        self.detect_losses(now)
        if self.in_recovery and self.snd_una >= self.recovery_point:
            self.in_recovery = False
            self.cwnd = max(self.cwnd, self.ssthresh)
        if acked and not self.in_recovery:
            self.grow(now, acked)
        if progressed:
            self.backoff = 1
            self.armed = False
            self.timer_gen += 1
            if self.snd_una < self.snd_nxt:
                self.arm_timer(now)
        self.try_send(now)

    def mark_delivered(self, seq):
        s = self.state[seq]
        if s == SACKED:
            return 0
        if s in (IN_FLIGHT, RETRANSMITTED):
            self.in_flight -= 1
        self.state[seq] = SACKED
        return 1

    def detect_losses(self, now):
        self.lost_scan = max(self.lost_scan, self.snd_una)
        newly_lost = False
        while self.lost_scan < self.highest_sacked - DUPTHRESH + 1:
            seq = self.lost_scan
            if self.state[seq] == IN_FLIGHT:
                self.state[seq] = LOST
                self.in_flight -= 1
                self.retransmit_queue.append(seq)
                newly_lost = True
            self.lost_scan += 1
        if newly_lost and not self.in_recovery:
            self.in_recovery = True
            self.recovery_point = self.snd_nxt
            self.cut()

    def cut(self):
        if self.cwnd < self.ssthresh:
            self.exits.append(("loss", self.cwnd))
        self.epoch_start = None
        self.last_max = self.cwnd * (1 + BETA) / 2 if self.cwnd < self.last_max else self.cwnd
        self.ssthresh = max(math.floor(self.cwnd * BETA), 2)
        self.cwnd = self.ssthresh
        self.found = True  # leaving slow start by loss: HyStart has nothing more to find

    def on_timer(self, now, gen):
        if gen != self.timer_gen or self.snd_una >= self.snd_nxt:
            return
        self.cut()
        self.cwnd = 1.0
        self.found = False
        self.in_recovery = True
        self.recovery_point = self.snd_nxt
        for seq in range(self.snd_una, self.snd_nxt):
            if self.state[seq] in (IN_FLIGHT, RETRANSMITTED):
                self.state[seq] = LOST
                self.retransmit_queue.append(seq)
        self.retransmit_queue = sorted(set(self.retransmit_queue))
        self.in_flight = 0
        self.backoff = min(self.backoff * 2, 64)
        self.armed = False
        self.timer_gen += 1
        self.try_send(now)
        if not self.armed:
            self.arm_timer(now)

    def rtt_sample(self, now, rtt):
        # Linux tcp_rtt_estimator: rttvar follows the largest deviation of the latest round trip
        # and decays by a quarter of its excess once per round trip, never below the minimum RTO.
        err = rtt - self.srtt
        self.srtt += err / 8
        if err < 0 and -err > self.mdev / 4:
            err /= 8  # a sample well below srtt barely moves mdev (the Eifel-like damping)
        self.mdev += abs(err) - self.mdev / 4
        if self.mdev > self.mdev_max:
            self.mdev_max = self.mdev
            self.rttvar = max(self.rttvar, self.mdev_max)
        if self.snd_una > self.rtt_seq:
            if self.mdev_max < self.rttvar:
                self.rttvar -= (self.rttvar - self.mdev_max) / 4
            self.rtt_seq = self.snd_nxt
            self.mdev_max = RTO_MIN
        self.rto = self.srtt + self.rttvar
        self.delay_min = min(self.delay_min, rtt)
        if self.cwnd < self.ssthresh and not self.found and (self.rounds_from_iw or self.cwnd >= HYSTART_LOW_WINDOW):
            self.hystart(now, rtt)

    # --- window growth
    def hystart_reset(self, now):
        self.round_start = self.last_ack = now
        self.end_seq = self.snd_nxt
        self.curr_rtt = math.inf
        self.samples = 0

    def hystart(self, now, rtt):
        if self.snd_una > self.end_seq:
            self.hystart_reset(now)
        if self.cwnd < HYSTART_LOW_WINDOW:
            return
        if now - self.last_ack <= HYSTART_ACK_DELTA:
            self.last_ack = now
            if now - self.round_start > self.delay_min / 2:
                self.leave_slow_start("ack train")
                return
        if not self.hystart_delay:
            return
        self.curr_rtt = min(self.curr_rtt, rtt)
        if self.samples < 8:
            self.samples += 1
        elif self.curr_rtt > self.delay_min + min(max(self.delay_min / 8, 0.004), 0.016):
            self.leave_slow_start("delay")

    def leave_slow_start(self, how):
        self.exits.append((how, self.cwnd))
        self.found, self.ssthresh = True, self.cwnd

    def cwnd_limited(self):
        # tcp_is_cwnd_limited
        return self.cwnd < 2 * self.max_out if self.cwnd < self.ssthresh else self.window_full

    def grow(self, now, acked):
        if not self.cwnd_limited():
            return
        if self.cwnd < self.ssthresh:
            use = min(acked, self.ssthresh - self.cwnd)
            self.cwnd += use
            acked -= use
            if acked <= 0:
                return
        if self.epoch_start is None:
            self.epoch_start = now
            if self.last_max <= self.cwnd:
                self.k, self.origin = 0.0, self.cwnd
            else:
                self.k, self.origin = ((self.last_max - self.cwnd) / CUBIC_C) ** (1 / 3), self.last_max
        t = now - self.epoch_start + (self.delay_min if self.delay_min < math.inf else self.srtt)
        target = self.origin + CUBIC_C * (t - self.k) ** 3
        cnt = self.cwnd / (target - self.cwnd) if target > self.cwnd else 100 * self.cwnd
        if self.last_max == 0 and cnt > 20:
            cnt = 20
        self.cwnd += acked / max(cnt, 2)


class Receiver:
    def __init__(self, sim, link, on_message, delay=None):
        self.sim, self.link, self.on_message = sim, link, on_message
        self.delay = delay  # None, or a function giving each ACK's scheduling delay (seconds)
        self.last_ack_at = 0.0
        self.sender = None
        self.got = bytearray()
        self.rcv_nxt = 0
        self.highest = -1
        self.unacked = []
        self.ends = []  # segment index after each message, in order
        self.delivered_messages = 0

    def expect(self, segments):
        start = self.ends[-1] if self.ends else 0
        self.ends.append(start + segments)
        self.got.extend(bytes(segments))

    def on_segment(self, now, seq):
        if self.got[seq]:
            self.ack(now)
            return
        self.got[seq] = 1
        self.unacked.append(seq)
        in_order = seq == self.rcv_nxt
        while self.rcv_nxt < len(self.got) and self.got[self.rcv_nxt]:
            self.rcv_nxt += 1
        self.highest = max(self.highest, seq)
        completed = False
        while self.delivered_messages < len(self.ends) and self.rcv_nxt >= self.ends[self.delivered_messages]:
            self.delivered_messages += 1
            completed = True
        if not in_order or self.rcv_nxt <= self.highest or len(self.unacked) >= 2 or completed:
            self.ack(now)
        if completed:
            self.on_message(now)

    def ack(self, now):
        newly, self.unacked = self.unacked, []
        if self.delay is None:
            self.link.send(now, ACK_BYTES, self.sender.on_ack, self.rcv_nxt, newly)
            return
        self.last_ack_at = max(now + self.delay(), self.last_ack_at)  # late, but in order
        self.sim.at(self.last_ack_at, lambda t, cum, acked: self.link.send(t, ACK_BYTES, self.sender.on_ack, cum, acked),
                    self.rcv_nxt, newly)


class Sim:
    def __init__(self):
        self.events = []
        self.seq = 0
        self.now = 0.0

    def at(self, t, fn, *args):
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, fn, args))

    def run(self, until_done):
        while self.events and not until_done():
            t, _, fn, args = heapq.heappop(self.events)
            self.now = t
            fn(t, *args)


def simulate_cell(rate, latency, size, flows, gap, rounds, queue=1000, hystart_delay=True, rounds_from_iw=True,
                  jitter=0.0, seed=0, offset=0.0):
    """{"results": per round the list of each flow's finish time after the round's start (seconds),
    "exits": per request connection how and at which window each of its slow starts ended}, and
    the drops of both queues. `jitter` > 0: writes and ACKs up to that late (seeded, see above);
    `offset`: each of them that much later still, a constant processing delay."""
    sim = Sim()
    rng = random.Random(seed)
    delay = (lambda: offset + (rng.uniform(0.0, jitter) if jitter > 0 else 0.0)) if jitter > 0 or offset > 0 else None
    late = delay or (lambda: 0.0)
    up = Link(sim, rate, latency, queue)
    down = Link(sim, rate, latency, queue)
    segments = math.ceil(size / MSS)
    rtt0 = 2 * latency + 2 * (MSS + HEADER) / rate
    state = {"round": -1, "start": 0.0, "finish": [], "results": []}

    def start_round(now):
        state["round"] += 1
        state["start"] = now
        state["finish"] = [None] * flows
        for i in range(flows):
            servers[i].expect(segments)
            clients[i].expect(segments)
        # Connection order: flow 0's burst enters the FIFO first (with jitter too: the client writes in order).
        for i, d in enumerate(sorted(late() for _ in range(flows))):
            if delay is None:
                requests[i].write(now, segments)
            else:
                sim.at(now + d, lambda t, i: requests[i].write(t, segments), i)

    def request_done(i):
        return lambda now: sim.at(now + gap + late(), lambda t: answers[i].write(t, segments))

    def answer_done(i):
        def done(now):
            state["finish"][i] = now - state["start"]
            if all(f is not None for f in state["finish"]):
                state["results"].append(state["finish"])
                if len(state["results"]) < rounds:
                    start_round(now)
        return done

    servers = [Receiver(sim, down, request_done(i), delay) for i in range(flows)]
    clients = [Receiver(sim, up, answer_done(i), delay) for i in range(flows)]
    senders = lambda link, receivers: [Sender(sim, link, receivers[i], rtt0, hystart_delay=hystart_delay,
                                              rounds_from_iw=rounds_from_iw) for i in range(flows)]
    requests, answers = senders(up, servers), senders(down, clients)
    for i in range(flows):
        servers[i].sender, clients[i].sender = requests[i], answers[i]
    start_round(0.0)
    sim.run(lambda: len(state["results"]) >= rounds)
    state["exits"] = [s.exits for s in requests]
    state["restarts"] = [s.restarts for s in requests + answers]  # requests then answers, per message
    return state, up.drops + down.drops


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def model_cell(record, hystart_delay=True, rounds_from_iw=True, jitter=0.0, seed=0, offset=0.0):
    """Simulated k-th-flow finish medians and round median for a measured cell (hystart_delay=False:
    HyStart leaves slow start on its ACK-train sign only, a sensitivity check; jitter, seed: see above)."""
    warm, measured = record["warmup"], record.get("rounds_per_repetition", len(record["rounds"]))
    state, drops = simulate_cell(record["bandwidth"], record["latency"], record["bytes"], record["flows"],
                                 record["gap"], warm + measured, hystart_delay=hystart_delay, rounds_from_iw=rounds_from_iw,
                                 jitter=jitter, seed=seed, offset=offset)
    results = state["results"]
    kept = results[warm:]
    ranked = [sorted(r) for r in kept]
    return {"ranked": [median([r[k] for r in ranked]) for k in range(record["flows"])], "finish": kept,
            "median": median([max(r) for r in kept]), "drops": drops, "rounds": [max(r) for r in results],
            "first_exits": [e[0] if e else None for e in state["exits"]], "restarts": state["restarts"]}


def first_restart_difference(a, b):
    """(round, connection, (idle, RTO, halvings) in a, same in b) of the first restart after idle
    whose halvings differ between two runs of the model, in round order; None if none does."""
    rounds = max(len(c) for c in a["restarts"])
    for k in range(rounds):
        for i, (x, y) in enumerate(zip(a["restarts"], b["restarts"])):
            if k < len(x) and k < len(y) and x[k][2] != y[k][2]:
                return k, i, x[k], y[k]
    return None


def jitter_runs(paths, jitter_us, seeds):
    """Per cell, the model's rounds under `seeds` seeded jitters: does a small perturbation give
    discrete states, as the real repetitions do? Each seed's first restart that differs from the
    unperturbed model's: round, connection (requests first), idle / RTO on both sides."""
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        print(f"{r['id']}: real median {r['median']:.3f} s; model, writes and ACKs up to {jitter_us:g} us late")
        base = model_cell(r)
        for seed in range(seeds):
            m = model_cell(r, jitter=jitter_us * 1e-6, seed=seed)
            exits = " ".join(f"{e[1]:.0f}" if e else "-" for e in m["first_exits"])
            d = first_restart_difference(base, m)
            where = "no restart differs" if d is None else (
                f"round {d[0]} connection {d[1]}: idle/RTO {d[2][0] / d[2][1]:.3f} -> {d[3][0] / d[3][1]:.3f}, "
                f"halvings {d[2][2]} -> {d[3][2]}")
            print(f"  seed {seed}: median {m['median']:.3f} rounds {' '.join(f'{x:.3f}' for x in m['rounds'])} "
                  f"request exits {exits}; first different restart: {where}", flush=True)


def main(args):
    """contention_model.py [--rounds-from-16] CELL.json…  (--rounds-from-16: HyStart as in Linux before 25c1a9ca53db)
    contention_model.py --jitter-us J [--seeds N] CELL.json…"""
    if "--jitter-us" in args:
        i = args.index("--jitter-us")
        jitter, rest = float(args[i + 1]), args[:i] + args[i + 2:]
        seeds = 8
        if "--seeds" in rest:
            j = rest.index("--seeds")
            seeds, rest = int(rest[j + 1]), rest[:j] + rest[j + 2:]
        jitter_runs(rest, jitter, seeds)
        return
    rounds_from_iw = "--rounds-from-16" not in args
    for path in (a for a in args if a != "--rounds-from-16"):
        with open(path) as f:
            r = json.load(f)
        if r.get("flagged"):
            continue
        m = model_cell(r, rounds_from_iw=rounds_from_iw)
        real = [median([sorted(x["finish"])[k] for x in r["rounds"]]) for k in range(r["flows"])]
        err = 100 * (m["median"] - r["median"]) / r["median"]
        print(f"{r['id']:28} real {r['median']:.3f} model {m['median']:.3f} ({err:+.1f} %) drops real {r['drops']['queue']} "
              f"model {m['drops']}\n   real k-th {' '.join(f'{x:.3f}' for x in real)}\n  model k-th "
              f"{' '.join(f'{x:.3f}' for x in m['ranked'])}\n  model rounds {' '.join(f'{x:.3f}' for x in m['rounds'])}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
