#!/usr/bin/python3
"""Samples the kernel's TCP_INFO of every TCP connection on one port in this network namespace.

    tcp_sampler.py --port 5201 --period-ms 5 --out FILE     # run inside the namespace (ip netns exec)

It asks the kernel through the socket-diagnostics netlink interface (what `ss -tin` uses), one dump
per period, without starting a process per sample. A sample is kept when a connection has data in
flight or unsent, or when its window or threshold changed since its last kept sample; on SIGTERM or
SIGINT the samples are written to FILE as JSON: {"period": s, "samples": [[t, inode, local port,
remote port, ca_state, cwnd, ssthresh, srtt_us, unacked, lost, total_retrans, bytes_acked,
bytes_sent, notsent, delivery_rate, rto_us, rttvar_us], ...]} with t in seconds of CLOCK_MONOTONIC
(recordings made before rto_us and rttvar_us were added lack them; `fields` names what a file holds).
"""
import argparse
import json
import signal
import socket
import struct
import time

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
INET_DIAG_INFO = 2
TCP_LISTEN = 10
INFINITE_SSTHRESH = 0x7FFFFFFF
FIELDS = ["t", "inode", "lport", "rport", "ca_state", "cwnd", "ssthresh", "rtt_us", "unacked", "lost", "total_retrans",
          "bytes_acked", "bytes_sent", "notsent", "delivery_rate", "rto_us", "rttvar_us"]


def request(seq):
    states = 0xFFF & ~(1 << TCP_LISTEN)
    body = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0, states) + bytes(48)
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def parse_info(info):
    """The struct tcp_info fields this sampler keeps (offsets of linux/tcp.h)."""
    u32 = lambda off: struct.unpack_from("=I", info, off)[0]
    u64 = lambda off: struct.unpack_from("=Q", info, off)[0] if len(info) >= off + 8 else 0
    ssthresh = u32(76)
    return [info[1], u32(80), None if ssthresh >= INFINITE_SSTHRESH else ssthresh, u32(68), u32(24), u32(32), u32(100),
            u64(120), u64(200), u32(144) if len(info) >= 148 else 0, u64(160), u32(8), u32(72)]


def dump(sock, seq, port):
    """[(inode, local port, remote port, tcp_info fields)] of the connections on `port`."""
    sock.send(request(seq))
    out = []
    while True:
        data = sock.recv(1 << 20)
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            if kind == NLMSG_DONE:
                return out
            if kind == NLMSG_ERROR:
                raise OSError("sock_diag dump failed")
            msg = off + 16
            sport, dport = struct.unpack_from(">HH", data, msg + 4)
            inode = struct.unpack_from("=I", data, msg + 68)[0]
            attr = msg + 72
            while attr + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", data, attr)
                if alen < 4:
                    break
                if atype == INET_DIAG_INFO and port in (sport, dport):
                    out.append((inode, sport, dport, parse_info(data[attr + 4:attr + alen])))
                attr += (alen + 3) & ~3
            off += (length + 3) & ~3


# ---------------------------------------------------------------- per round and connection

REQUEST_HEADER = 24  # `calibrate probe`'s request header (tcp_link.cpp kHeader), sent with each payload
FIRST_EXCHANGE = 26  # bytes a connection has acked before its first round: a 1-byte exchange (+ its header)


def rows(recording):
    fields = recording["fields"]
    return [dict(zip(fields, s)) for s in recording["samples"]]


def connections(recording, port, side):
    """{inode: [samples in time order]} of one side: "request" (the probe's sockets, remote port
    `port`) or "answer" (serve's, local port `port`)."""
    out = {}
    for s in rows(recording):
        # Sockets no process holds any more (TIME_WAIT, orphaned FIN_WAIT) report inode 0: without
        # this check every closed connection of a namespace would merge into one.
        if s["inode"] and (s["rport"] if side == "request" else s["lport"]) == port:
            out.setdefault(s["inode"], []).append(s)
    return out


def round_index(sample, message):
    """The round a busy sample belongs to: bytes acked so far, in messages after the first exchange
    (a sample at a round's very start, nothing of it acked yet, belongs to that round)."""
    return int((sample["bytes_acked"] + 4) // message) if sample["bytes_acked"] >= FIRST_EXCHANGE else 0


def busy(sample):
    """Data in flight or unsent, of a round (not of the connection's first 1-byte exchange)."""
    return (sample["unacked"] > 0 or sample["notsent"] > 0) and sample["bytes_sent"] > FIRST_EXCHANGE


def idle_restart(before, first, last_send):
    """What the restart after idle had to go on at a round's start: the window before it (`before`,
    the last sample before the round's first busy one), the time since the connection last sent
    new data (`last_send`: the first sample showing its final bytes_sent; Linux's lsndtime, to
    within a sampling period) and the retransmission timeout then. Linux restarts when that idle
    exceeds the RTO and halves the window once per whole RTO in it (tcp_cwnd_restart: one halving
    for an idle between 1 and 2 RTOs, two for 2 to 3, ...), down to the initial window."""
    if before is None or last_send is None:
        return {}
    out = {"cwnd_before": before["cwnd"], "idle_s": round(first["t"] - last_send["t"], 4)}
    if before.get("rto_us"):
        out["rto_ms"] = before["rto_us"] / 1e3
    return out


def connection_rounds(samples, message, starts):
    """Per round of one connection: window at its start and largest, slow-start threshold at start
    and end, where slow start ended (threshold newly set or lowered), retransmissions, largest RTT,
    and what the restart after idle started from (idle_restart)."""
    by_round, previous, last_send, idle_from = {}, None, None, {}
    out = []
    for s in samples:
        if busy(s):
            k = round_index(s, message)
            if k not in by_round:
                idle_from[k] = last_send
            by_round.setdefault(k, []).append((previous, s))
        if previous is not None and s["bytes_sent"] > previous["bytes_sent"]:
            last_send = s
        previous = s
    for k in sorted(by_round):
        pairs = by_round[k]
        first, last = pairs[0][1], pairs[-1][1]
        before = pairs[0][0]
        exits = [(p, s) for p, s in pairs if p is not None and s["ssthresh"] is not None
                 and (p["ssthresh"] is None or s["ssthresh"] < p["ssthresh"])]
        t0 = starts.get(k, first["t"])
        record = {"round": k, "cwnd_start": first["cwnd"], "cwnd_max": max(s["cwnd"] for _, s in pairs),
                  "ssthresh_start": first["ssthresh"], "ssthresh_end": last["ssthresh"],
                  "retrans": last["total_retrans"] - (before["total_retrans"] if before else 0),
                  "lost_max": max(s["lost"] for _, s in pairs), "ca_state_max": max(s["ca_state"] for _, s in pairs),
                  "rtt_max_ms": max(s["rtt_us"] for _, s in pairs) / 1e3, "samples": len(pairs),
                  "busy_s": round(last["t"] - t0, 4), "start_s": round(first["t"] - t0, 4),
                  **idle_restart(before, first, idle_from.get(k))}
        if exits:
            p, s = exits[0]
            record["exit"] = {"cwnd": s["cwnd"], "ssthresh": s["ssthresh"], "previous_cwnd": p["cwnd"],
                              "at_s": round(s["t"] - t0, 4), "ca_state": s["ca_state"], "retrans": s["total_retrans"]}
        out.append(record)
    return out


def summarise(request_recording, answer_recording, port, size, flows):
    """{"requests": [per flow, in write order: rounds], "answers": [...]} from the two namespaces'
    recordings. Flow order: the probe creates (and writes) its sockets in order, so by inode."""
    requests = connections(request_recording, port, "request")
    answers = connections(answer_recording, port, "answer")
    order = sorted(requests)[-flows:]
    ports = [requests[i][0]["lport"] for i in order]
    answer_of = {conn[0]["rport"]: conn for conn in answers.values()}
    # A round starts when its first request is seen busy (within a sampling period of the write).
    starts = {}
    for inode in order:
        for s in requests[inode]:
            if busy(s):
                k = round_index(s, size + REQUEST_HEADER)
                starts[k] = min(starts.get(k, s["t"]), s["t"])
    return {"requests": [connection_rounds(requests[i], size + REQUEST_HEADER, starts) for i in order],
            "answers": [connection_rounds(answer_of.get(p, []), size, starts) for p in ports]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--period-ms", type=float, default=5.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    period = args.period_ms / 1e3
    samples, last = [], {}
    print("sampling", flush=True)
    seq, next_t = 0, time.monotonic()
    while not stop:
        seq += 1
        t = time.monotonic()
        for inode, lport, rport, info in dump(sock, seq, args.port):
            busy = info[4] > 0 or info[9] > 0  # unacked or notsent
            key = (info[1], info[2], info[6])
            if busy or last.get(inode) != key:
                samples.append([round(t, 6), inode, lport, rport] + info)
                last[inode] = key
        next_t = max(next_t + period, time.monotonic())
        time.sleep(max(0.0, next_t - time.monotonic()))
    with open(args.out, "w") as f:
        json.dump({"fields": FIELDS, "period": period, "samples": samples}, f)


if __name__ == "__main__":
    main()
