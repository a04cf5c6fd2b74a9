#!/usr/bin/env python3
"""bench/report.py RAW OUTDIR: the table, bench.json and bench.png of
`make bench` from the raw lines bench/bench.sh wrote ("SYSTEM METRIC k=v ...").
Figures only: no thresholds, nothing passes or fails."""
import json
import os
import shutil
import subprocess
import sys

SYSTEMS = ["tapir-host", "tapir-raw", "lwip", "kernel", "tap-ceiling"]
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
        r0, r1 = get(res, s, "mem", "rss0_kb"), get(res, s, "mem", "rss1_kb")
        if r0 is None or r1 is None or r0 < 0:
            return None
        v = r1 - r0
        if s == "kernel":  # the server's half of the slab growth, both ends being kernel
            k0, k1 = get(res, s, "mem", "kmem0"), get(res, s, "mem", "kmem1")
            if k0 and k1:
                v += (k1 - k0) / 2 / 1024
        return v

    def mem_10k(s):
        r0, r2 = get(res, s, "mem", "rss0_kb"), get(res, s, "mem", "rss2_kb")
        if r0 is None or r2 is None or r0 < 0:
            return None
        v = r2 - r0
        if s == "kernel":
            k0, k2 = get(res, s, "mem", "kmem0"), get(res, s, "mem", "kmem2")
            if k0 and k2:
                v += (k2 - k0) / 2 / 1024
        return v / 1024

    row("memory per 1000 idle conns", "KiB", mem_per_1000)
    row("connections held (of 10000)", "conns", lambda s: get(res, s, "mem", "held"))
    row("memory at 10000 conns held", "MiB", mem_10k)

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


RATIOS = [("host/lwIP", "tapir-host", "lwip"), ("host/kern", "tapir-host", "kernel"),
          ("host/TAP", "tapir-host", "tap-ceiling"), ("raw/lwIP", "tapir-raw", "lwip"),
          ("raw/kern", "tapir-raw", "kernel"), ("raw/TAP", "tapir-raw", "tap-ceiling")]


def main():
    raw, out = sys.argv[1], sys.argv[2]
    res, meta = parse(raw)
    rows = figures(res)
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

    doc = {"meta": {k: v for k, v in st.items()}, "meta_end": en,
           "figures": [{"figure": n, "unit": u, "values": v,
                        "ratios": {r[0]: ratio(v[r[1]], v[r[2]]) for r in RATIOS}}
                       for n, u, v in rows],
           "raw": res}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
    print("wrote %s" % os.path.join(out, "bench.json"))
    plot(rows, out)


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
    gpf = os.path.join(out, "bench.gp")
    with open(gpf, "w") as f:
        f.write(gp)
    r = subprocess.run(["gnuplot", gpf], capture_output=True, text=True)
    if r.returncode:
        print("bench: gnuplot failed: " + r.stderr.strip()[:300])
    else:
        print("wrote %s" % os.path.join(out, "bench.png"))


if __name__ == "__main__":
    main()
