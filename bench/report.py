#!/usr/bin/env python3
"""bench/report.py RAW OUTDIR: the table, bench.json and bench.png of
`make bench` from the raw lines bench/bench.sh wrote ("SYSTEM METRIC k=v ...").
Figures only: no thresholds, nothing passes or fails."""
import json
import os
import shutil
import subprocess
import sys

SYSTEMS = ["tapir-host", "tapir-run", "tapir-raw", "lwip", "kernel", "tap-ceiling"]
BIG = "65520"


def parse(path):
    res, meta = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            kv = {}
            for p in parts[2:]:
                k, _, v = p.partition("=")
                try:
                    kv[k] = float(v)
                except ValueError:
                    kv[k] = v
            if parts[0] == "meta":
                meta[parts[1]] = kv
            else:
                res.setdefault(parts[0], {})[parts[1]] = kv
    return res, meta


def get(res, sys_, metric, key):
    v = res.get(sys_, {}).get(metric, {}).get(key)
    return v if isinstance(v, float) else None


def figures(res):
    """{metric: {system: value or None}}, in table order, with units."""
    rows = []

    def row(name, unit, fn):
        rows.append((name, unit, {s: fn(s) for s in SYSTEMS}))

    for d, label in (("k2s", "kernel->stack"), ("s2k", "stack->kernel")):
        for mtu in ("1500", BIG):
            def tput(s, d=d, mtu=mtu):
                # the reflector's figure is both directions at once
                m = "tput_k2s_" + mtu if s == "tap-ceiling" else "tput_%s_%s" % (d, mtu)
                return get(res, s, m, "gbps")
            row("bulk %s MTU %s" % (label, mtu), "Gbit/s", tput)
    row("RR 1 byte p50", "us", lambda s: get(res, s, "rr", "p50_us"))
    row("RR 1 byte p99", "us", lambda s: get(res, s, "rr", "p99_us"))
    row("connections/s (CRR)", "1/s", lambda s: get(res, s, "crr", "cps"))

    def mem_per_1000(s):
        v = mem_at(res, s, 1000)
        return v * 1024 if v is not None else None

    row("memory per 1000 idle conns", "KiB", mem_per_1000)
    row("connections held (of 10000)", "conns", lambda s: held_at(res, s, 10000))
    row("memory at 10000 conns held", "MiB", lambda s: mem_at(res, s, 10000))
    return rows


def bulk_cpu_rows(res, rows):
    def row(name, unit, fn):
        rows.append((name, unit, {s: fn(s) for s in SYSTEMS}))

    def cpu(metric, total):
        def f(s):
            if s == "tap-ceiling":
                metric_ = "tput_k2s_1500"
            else:
                metric_ = metric
            g = get(res, s, metric_, "gbps")
            sc, cc = get(res, s, metric_, "srv_cpu"), get(res, s, metric_, "cli_cpu")
            if not g or sc is None or sc < 0:
                return None
            return ((sc + (cc or 0)) if total else sc) / g
        return f

    row("CPU/Gbit/s k->s 1500, stack process", "cores", cpu("tput_k2s_1500", False))
    row("CPU/Gbit/s s->k 1500, stack process", "cores", cpu("tput_s2k_1500", False))
    row("CPU/Gbit/s k->s 1500, both ends", "cores", cpu("tput_k2s_1500", True))
    row("CPU/Gbit/s s->k 1500, both ends", "cores", cpu("tput_s2k_1500", True))
    return rows


# ---- the scale rows: load.c's scale mode, "n<i>= have<i>= rss<i>_kb=
# kmem<i>= cpu<i>_us= rr<i>=" for i = 0 (no connection) .. points-1
SCALE_N = (1000, 10000, 100000)


def points(res, s):
    """[(n, have, MiB of memory above the start, CPU us per request)]."""
    kv = res.get(s, {}).get("scale", {})
    pts = []
    for i in range(int(kv.get("points", 0) or 0)):
        n, have, rss = kv.get("n%d" % i), kv.get("have%d" % i), kv.get("rss%d_kb" % i)
        if not all(isinstance(x, float) for x in (n, have, rss)) or rss < 0:
            break
        mem = rss - kv["rss0_kb"]
        if s == "kernel" and kv.get("kmem0"):
            # both ends are the kernel's: the server's half of the slab growth
            mem += (kv["kmem%d" % i] - kv["kmem0"]) / 2 / 1024
        cpu = kv.get("cpu%d_us" % i)
        pts.append((n, have, mem / 1024, cpu if isinstance(cpu, float) and cpu >= 0 else None))
    return pts


def point(res, s, n):
    for p in points(res, s):
        if p[0] == n:
            return p
    return None


def held_at(res, s, n):
    p = point(res, s, n)
    return p[1] if p else None


# a count counts as reached at 99 %: the last few handshakes of 100,000 may
# still be in SYN retransmission when the client stops waiting (load.c STALL)
REACHED = 0.99


def mem_have(res, s, n):
    """(MiB above the start, connections held) at count N; None if short."""
    p = point(res, s, n)
    return (p[2], p[1]) if p and p[1] >= n * REACHED else None


def mem_at(res, s, n):
    """MiB above the start with N idle connections; None if not all held."""
    m = mem_have(res, s, n)
    return m[0] if m else None


def scale_counts(res):
    """The counts of the run (BENCH_SCALE), else the default ones."""
    ns = sorted({p[0] for s in SYSTEMS for p in points(res, s) if p[0] > 0})
    return tuple(int(n) for n in ns) or SCALE_N


def scale_rows(res):
    rows = []
    counts = scale_counts(res)

    def row(name, unit, fn):
        rows.append((name, unit, {s: fn(s) for s in SYSTEMS}))

    row("connections/s (CRR), 16 parallel", "1/s", lambda s: get(res, s, "crr16", "cps"))
    row("connections/s (CRR), 256 parallel", "1/s", lambda s: get(res, s, "crr256", "cps"))
    for n in counts:
        if n != 10000:  # the memory rows above have that one
            row("connections held (of %d)" % n, "conns", lambda s, n=n: held_at(res, s, n))
    for n in counts:
        def per(s, n=n):
            m = mem_have(res, s, n)
            return m[0] * 1024 / m[1] if m else None
        row("memory per idle conn at %d" % n, "KiB", per)
    for a, b in zip(counts, counts[1:]):
        def growth(s, a=a, b=b):
            ma, mb = mem_have(res, s, a), mem_have(res, s, b)
            return (mb[0] - ma[0]) * 1024 / (mb[1] - ma[1]) if ma and mb and mb[1] > ma[1] else None
        row("growth per conn %d->%d" % (a, b), "KiB", growth)
    for n in (0,) + counts:
        def cpu(s, n=n):
            p = point(res, s, n)
            return p[3] if p and p[1] >= n * REACHED else None
        row("CPU per 1-byte request, %d idle" % n, "us", cpu)
    return rows


# what bounds each server's connections (docs/performance.md, "The host's
# connections: limits and how to set them")
LIMITS = {
    "tapir-host": "--max-sockets (the bench: the largest count + 1024), the core's "
                  "tcp_sockets and tcp_mem_max (256 MiB; tapir host has no option for it: "
                  "about 1,365 connections while a connection's 192 KiB of rings are "
                  "reserved at open)",
    "tapir-raw": "its TCP_SOCKETS and TCP_MEM_MAX_MIB arguments (the bench: the largest "
                 "count + 1024, and 192 KiB per connection)",
    "lwip": "lwIP's malloc'd pools and its listen backlog (255)",
    "kernel": "ksrv's processes (one per 10,000) x RLIMIT_NOFILE, 8 client addresses "
              "x 64k ports",
}


def scale_notes(res):
    """Why a scale row is n/a: the count a system stopped at."""
    notes = []
    for s in SYSTEMS:
        kv = res.get(s, {}).get("scale")
        if s == "tap-ceiling" or kv is None:
            continue
        if "error" in kv:
            notes.append("%s: scale run failed: %s" % (s, kv["error"]))
            continue
        pts = points(res, s)
        if pts and pts[-1][1] < pts[-1][0] * REACHED:
            notes.append("%s: held %d of %d idle connections, the rows beyond are n/a; "
                         "its limits: %s" % (s, pts[-1][1], pts[-1][0], LIMITS.get(s, "?")))
    return notes


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "conns" or (abs(v) >= 1000):
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


# ---- IPv6 (issue 14): tapir host over IPv6 ("tapir-host6", bench.sh's
# host6_rows) beside its IPv4 figures of the same run
V6_METRICS = [("bulk kernel->stack MTU 1500", "Gbit/s", "tput_k2s_1500", "gbps"),
              ("bulk stack->kernel MTU 1500", "Gbit/s", "tput_s2k_1500", "gbps"),
              ("bulk kernel->stack MTU " + BIG, "Gbit/s", "tput_k2s_" + BIG, "gbps"),
              ("bulk stack->kernel MTU " + BIG, "Gbit/s", "tput_s2k_" + BIG, "gbps"),
              ("RR 1 byte p50", "us", "rr", "p50_us"),
              ("RR 1 byte p99", "us", "rr", "p99_us"),
              ("connections/s (CRR)", "1/s", "crr", "cps"),
              ("connections/s (CRR), 16 parallel", "1/s", "crr16", "cps"),
              ("connections/s (CRR), 256 parallel", "1/s", "crr256", "cps")]


def ipv6_rows(res):
    """[(figure, unit, IPv4, IPv6, IPv6/IPv4)] for the rows measured."""
    rows = []
    for name, unit, metric, key in V6_METRICS:
        v4, v6 = get(res, "tapir-host", metric, key), get(res, "tapir-host6", metric, key)
        if v6 is not None or metric in res.get("tapir-host6", {}):
            rows.append((name, unit, v4, v6, ratio(v6, v4)))
    return rows


def print_ipv6(rows):
    if not rows:
        return
    print("\ntapir host over IPv6 against its IPv4 figures (this run; for latency "
          "above 1 means IPv6 takes longer)")
    head = "%-38s %-6s %12s %12s %10s" % ("figure", "unit", "IPv4", "IPv6", "IPv6/IPv4")
    print(head)
    print("-" * len(head))
    for name, unit, v4, v6, r in rows:
        print("%-38s %-6s %12s %12s %10s" % (name, unit, fmt(v4, unit), fmt(v6, unit),
                                              "n/a" if r is None else "%.2f" % r))


RATIOS = [("run/host", "tapir-run", "tapir-host"),
          ("host/lwIP", "tapir-host", "lwip"), ("host/kern", "tapir-host", "kernel"),
          ("host/TAP", "tapir-host", "tap-ceiling"), ("raw/lwIP", "tapir-raw", "lwip"),
          ("raw/kern", "tapir-raw", "kernel"), ("raw/TAP", "tapir-raw", "tap-ceiling")]


def main():
    raw, out = sys.argv[1], sys.argv[2]
    res, meta = parse(raw)
    rows = bulk_cpu_rows(res, figures(res)) + scale_rows(res)
    head = "%-38s %-6s" % ("figure", "unit") + "".join("%12s" % s for s in SYSTEMS) + \
        "".join("%10s" % r[0] for r in RATIOS)
    print()
    print(head)
    print("-" * len(head))
    for name, unit, vals in rows:
        line = "%-38s %-6s" % (name, unit) + "".join("%12s" % fmt(vals[s], unit) for s in SYSTEMS)
        for _, a, b in RATIOS:
            r = ratio(vals[a], vals[b])
            line += "%10s" % ("n/a" if r is None else "%.2f" % r)
        print(line)
    st, en = meta.get("start", {}), meta.get("end", {})
    print("\nload average at start %s, at end %s; %s cores; kernel %s; tapir %s" % (
        st.get("loadavg"), en.get("loadavg"), fmt(st.get("cores")), st.get("kernel"),
        st.get("commit")))
    for n in scale_notes(res):
        print("note: " + n)
    v6 = ipv6_rows(res)
    print_ipv6(v6)

    doc = {"meta": {k: v for k, v in st.items()}, "meta_end": en,
           "figures": [{"figure": n, "unit": u, "values": v,
                        "ratios": {r[0]: ratio(v[r[1]], v[r[2]]) for r in RATIOS}}
                       for n, u, v in rows],
           "ipv6": [{"figure": n, "unit": u, "ipv4": a, "ipv6": b, "ratio": r}
                    for n, u, a, b, r in v6],
           "raw": res}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
    print("wrote %s" % os.path.join(out, "bench.json"))
    plot(rows, out)
    plot_scale(res, out)


def gnuplot(script, out, name):
    """Runs SCRIPT (kept as OUT/NAME.gp), which draws OUT/NAME.png."""
    gpf = os.path.join(out, name + ".gp")
    with open(gpf, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", gpf], capture_output=True, text=True)
    if r.returncode:
        print("bench: gnuplot failed: " + r.stderr.strip()[:300])
    else:
        print("wrote %s" % os.path.join(out, name + ".png"))


def plot(rows, out):
    if not shutil.which("gnuplot"):
        print("bench: no gnuplot: no chart")
        return
    byname = {n: v for n, _, v in rows}

    def dat(name, metrics, labels):
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write("# group " + " ".join(SYSTEMS) + "\n")
            for m, lab in zip(metrics, labels):
                f.write('"%s" ' % lab + " ".join(
                    "%g" % byname[m][s] if byname[m][s] is not None else "0" for s in SYSTEMS) + "\n")
        return path

    t = dat("tput.dat", ["bulk kernel->stack MTU 1500", "bulk stack->kernel MTU 1500",
                         "bulk kernel->stack MTU " + BIG, "bulk stack->kernel MTU " + BIG],
            ["k->s 1500", "s->k 1500", "k->s " + BIG, "s->k " + BIG])
    lat = dat("lat.dat", ["RR 1 byte p50", "RR 1 byte p99"], ["p50", "p99"])
    cps = dat("cps.dat", ["connections/s (CRR)"], ["CRR"])
    mem = dat("mem.dat", ["memory per 1000 idle conns"], ["KiB/1000 conns"])
    cols = " ".join(
        "'%s' using %d:xtic(1) title '%s'," % ("{f}", i + 2, s) for i, s in enumerate(SYSTEMS))
    gp = """set terminal pngcairo size 1400,900 font ',10'
set output '{out}/bench.png'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set multiplot layout 2,2 title 'make bench: tapir vs lwIP vs Linux vs the TAP ceiling (figures only)'
set title 'bulk throughput (Gbit/s; n/a drawn as 0)'
plot {tput}
set title 'RR latency, 1 byte (us, log scale)'
set logscale y
plot {lat}
unset logscale y
set title 'connections per second (connect, 1 byte, 1 byte, close)'
plot {cps}
set title 'memory per 1000 idle connections (KiB)'
plot {mem}
unset multiplot
""".format(out=out, tput=cols.replace("{f}", t).rstrip(","), lat=cols.replace("{f}", lat).rstrip(","),
           cps=cols.replace("{f}", cps).rstrip(","), mem=cols.replace("{f}", mem).rstrip(","))
    gnuplot(gp, out, "bench")


def plot_scale(res, out):
    """scale.png: memory and CPU per request against the idle connections
    held, one line per system (log x: 1k, 10k, 100k)."""
    if not shutil.which("gnuplot"):
        return
    plots = {"mem": [], "per": [], "cpu": []}
    for s in SYSTEMS:
        pts = [p for p in points(res, s) if p[0] > 0 and p[1] >= p[0] * REACHED]
        if not pts:
            continue
        path = os.path.join(out, "scale-%s.dat" % s)
        with open(path, "w") as f:
            f.write("# conns MiB KiB_per_conn cpu_us_per_request\n")
            for n, have, mem, cpu in pts:
                f.write("%d %g %g %s\n" % (n, mem, mem * 1024 / have, "%g" % cpu if cpu else "NaN"))
        for k, col in (("mem", 2), ("per", 3), ("cpu", 4)):
            plots[k].append("'%s' using 1:%d with linespoints lw 2 title '%s'" % (path, col, s))
    if not plots["mem"]:
        print("bench: no scale points: no scale.png")
        return
    gp = """set terminal pngcairo size 1500,500 font ',10'
set output '{out}/scale.png'
set logscale x
set xlabel 'idle connections held'
set grid
set key top left
set multiplot layout 1,3 title 'make bench: scale (figures only; a flat middle panel is linear memory)'
set title 'memory above the start (MiB, log)'
set logscale y
plot {mem}
unset logscale y
set title 'memory per idle connection (KiB)'
set yrange [0:*]
plot {per}
set title 'server CPU per 1-byte request (us), idle connections beside'
plot {cpu}
unset multiplot
""".format(out=out, mem=", ".join(plots["mem"]), per=", ".join(plots["per"]),
           cpu=", ".join(plots["cpu"]))
    gnuplot(gp, out, "scale")


if __name__ == "__main__":
    main()
