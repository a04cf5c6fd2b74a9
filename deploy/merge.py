#!/usr/bin/python3
"""Merges the outputs of `tapir check --shard I/N` runs into one result.

    deploy/merge.py shard-*.json  > all.json    # --json lines
    deploy/merge.py shard-*.txt   > all.txt     # text lines
    deploy/merge.py shard-*.xml   > all.xml     # -oX: one nmap XML file

Each file's kind is told by its first byte ('<' XML, '{' JSON, else text);
all must be of one kind.  Lines and ports come out sorted by address and
port.  A (host, port) found in two files means two shards probed it (not
the same --seed or targets): an error, exit 1.

XML: one <host> per address with the ports of every shard, folded again as
tapir check (and nmap) folds them: a state with more than 25 ports of a
host (every state but open with --open-only, seen as a fold of 25 or
fewer in an input) goes into <extraports> with its <extrareasons>.  ndiff
and the other readers of nmap XML take the result.  Python's standard
library only.
"""
import ipaddress
import json
import sys
import xml.etree.ElementTree as ET

FOLD = 25  # output.c's XML_MAX_PER_STATE, nmap's too


def die(msg):
    print("merge: " + msg, file=sys.stderr)
    sys.exit(1)


def host_key(h):
    try:
        a = ipaddress.ip_address(h)
        return (0, a.version, int(a), "")
    except ValueError:
        return (1, 0, 0, h)


def merge_lines(files, as_json):
    seen = {}
    for f in files:
        for n, line in enumerate(open(f), 1):
            if not line.strip():
                continue
            if as_json:
                r = json.loads(line)
                key = (r["host"], int(r["port"]))
            else:
                w = line.split()
                if len(w) < 3:
                    die("%s:%d: not a tapir check line" % (f, n))
                key = (w[0], int(w[1]))
            if key in seen:
                die("%s %u is in %s and %s: two shards probed it" % (key[0], key[1], seen[key][0], f))
            seen[key] = (f, line if line.endswith("\n") else line + "\n")
    for key in sorted(seen, key=lambda k: (host_key(k[0]), k[1])):
        sys.stdout.write(seen[key][1])


def ranges(ports):
    out, ports = [], sorted(ports)
    i = 0
    while i < len(ports):
        j = i
        while j + 1 < len(ports) and ports[j + 1] == ports[j] + 1:
            j += 1
        out.append(str(ports[i]) if i == j else "%d-%d" % (ports[i], ports[j]))
        i = j + 1
    return ",".join(out)


def unranges(s):
    for part in s.split(","):
        if "-" in part:
            a, b = part.split("-")
            yield from range(int(a), int(b) + 1)
        elif part:
            yield int(part)


class Host:
    def __init__(self):
        self.el = None       # the first <host> seen: address, hostnames
        self.up = False
        self.reason = None
        self.ports = {}      # (proto, port) -> (state, reason, <port> or None, file)
        self.start = self.end = None


def merge_xml(files):
    hosts, roots, open_only, total = {}, [], False, 0
    for f in files:
        root = ET.parse(f).getroot()
        if root.tag != "nmaprun":
            die("%s: not nmap XML" % f)
        roots.append(root)
        hs = root.find("runstats/hosts")
        if hs is not None:
            total = max(total, int(hs.get("total", "0")))
        for h in root.iter("host"):
            addr = h.find("address").get("addr")
            x = hosts.setdefault(addr, Host())
            if x.el is None:
                x.el = h
            st = h.find("status")
            if st is not None and st.get("state") == "up":
                if not x.up or st.get("reason") in ("syn-ack", "udp-response"):
                    x.reason = st.get("reason")
                x.up = True
            for t, attr in (("start", "starttime"), ("end", "endtime")):
                v = h.get(attr)
                if v:
                    cur = getattr(x, t)
                    setattr(x, t, v if cur is None else (min if t == "start" else max)(cur, v, key=int))

            def add(key, val):
                if key in x.ports:
                    die("%s %s/%u is in %s and %s: two shards probed it"
                        % (addr, key[0], key[1], x.ports[key][3], f))
                x.ports[key] = val + (f,)

            for p in h.iter("port"):
                s = p.find("state")
                add((p.get("protocol"), int(p.get("portid"))), (s.get("state"), s.get("reason"), p))
            for e in h.iter("extraports"):
                if int(e.get("count")) <= FOLD:
                    open_only = True
                for r in e.iter("extrareasons"):
                    for port in unranges(r.get("ports")):
                        add((r.get("proto"), port), (e.get("state"), r.get("reason"), None))
    first = roots[0]
    out = ET.Element("nmaprun", dict(first.attrib))
    out.set("args", "deploy/merge.py " + " ".join(files))
    for tag in ("scaninfo", "verbose", "debugging"):
        e = first.find(tag)
        if e is not None:
            out.append(e)
    up = 0
    for addr in sorted(hosts, key=host_key):
        x = hosts[addr]
        up += x.up
        out.append(host_xml(x, open_only))
    last = max(roots, key=lambda r: int(r.find("runstats/finished").get("time", "0")))
    rs = ET.SubElement(out, "runstats")
    rs.append(last.find("runstats/finished"))
    total = max(total, len(hosts))
    ET.SubElement(rs, "hosts", {"up": str(up), "down": str(total - up), "total": str(total)})
    sys.stdout.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n')
    sys.stdout.write(ET.tostring(out, encoding="unicode") + "\n")


def host_xml(x, open_only):
    h = ET.Element("host", {k: v for k, v in (("starttime", x.start), ("endtime", x.end)) if v})
    ET.SubElement(h, "status", {"state": "up" if x.up else "down",
                                "reason": x.reason if x.up else "no-response", "reason_ttl": "0"})
    for tag in ("address", "hostnames"):
        for e in x.el.findall(tag):
            h.append(e)
    ports = ET.SubElement(h, "ports")
    by_state = {}
    for key, (state, reason, el, _) in x.ports.items():
        by_state.setdefault(state, []).append((key, reason, el))
    folded = {s for s, v in by_state.items()
              if s not in ("open",) and (len(v) > FOLD or (open_only and s != "open|filtered"))}
    for s in sorted(folded):
        v = by_state[s]
        e = ET.SubElement(ports, "extraports", {"state": s, "count": str(len(v))})
        reasons = {}
        for (proto, port), reason, _ in v:
            reasons.setdefault((reason, proto), []).append(port)
        for (reason, proto), ps in sorted(reasons.items()):
            ET.SubElement(e, "extrareasons", {"reason": reason, "count": str(len(ps)),
                                              "proto": proto, "ports": ranges(ps)})
    for key in sorted(x.ports):
        state, reason, el, _ = x.ports[key]
        if state in folded:
            continue
        if el is None:  # folded in its shard, not here: a <port> of its own
            el = ET.Element("port", {"protocol": key[0], "portid": str(key[1])})
            ET.SubElement(el, "state", {"state": state, "reason": reason, "reason_ttl": "0"})
        ports.append(el)
    return h


def main():
    files = sys.argv[1:]
    if not files or files[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if files else 2
    kinds = set()
    for f in files:
        try:
            with open(f, "rb") as fh:
                b = fh.read(1)
        except OSError as e:
            die("%s: %s" % (f, e.strerror))
        kinds.add({b"<": "xml", b"{": "json"}.get(b, "text"))
    if len(kinds) != 1:
        die("the files are not all of one kind (XML, JSON or text lines)")
    kind = kinds.pop()
    if kind == "xml":
        merge_xml(files)
    else:
        merge_lines(files, kind == "json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
