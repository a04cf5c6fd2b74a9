#!/usr/bin/env python3
"""Checks a `tapir ping --json` output for the ping tests:

    ping_results.py FILE COUNT ROWS [alive=RANGES] [unreach=RANGES]

RANGES is a comma list of networks (10.201.1.0/24, fd00:201:1::/64) or
address ranges (10.201.1.1-10.201.1.100).  Every host must have been sent
COUNT requests, with no duplicate; an alive host answered them all (0%
loss, ordered RTTs), any other none (100%, null RTTs); an unreach host, and
no other, reported an ICMP error.  Exactly ROWS hosts, each printed
canonically.  Exit 0, or 1 listing the bad rows."""
import ipaddress
import json
import sys


def ranges(spec):
    out = []
    for part in filter(None, spec.split(",")):
        if "-" in part:
            lo, hi = (ipaddress.ip_address(x) for x in part.split("-"))
        else:
            net = ipaddress.ip_network(part)
            lo, hi = net[0], net[-1]
        out.append((lo, hi))
    return out


def within(a, rs):
    return any(lo.version == a.version and lo <= a <= hi for lo, hi in rs)


rows = [json.loads(l) for l in open(sys.argv[1])]
count, nrows = int(sys.argv[2]), int(sys.argv[3])
opt = dict(arg.split("=", 1) for arg in sys.argv[4:])
alive_r, unreach_r = ranges(opt.get("alive", "")), ranges(opt.get("unreach", ""))
assert len(rows) == nrows and len({r["host"] for r in rows}) == nrows, f"{len(rows)} rows"
bad = []
for r in rows:
    a = ipaddress.ip_address(r["host"])
    alive, unreach = within(a, alive_r), within(a, unreach_r)
    if str(a) != r["host"] or r["sent"] != count or r["duplicates"] != 0:
        bad.append(r)
    elif r["received"] != (count if alive else 0) or r["loss_pct"] != (0 if alive else 100):
        bad.append(r)
    elif alive and not (0 <= r["rtt_min_ms"] <= r["rtt_avg_ms"] <= r["rtt_max_ms"]):
        bad.append(r)
    elif not alive and r["rtt_avg_ms"] is not None:
        bad.append(r)
    elif unreach != (r["unreachable"] >= 1):
        bad.append(r)
for r in bad[:10]:
    print("bad:", r, file=sys.stderr)
sys.exit(1 if bad else 0)
