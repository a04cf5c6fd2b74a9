#!/usr/bin/python3
"""The Kubernetes manifest (deploy/kubernetes/check-job.yaml): a check of
the Job's fields, for want of kubeconform or kubectl in Debian 12: an
Indexed Job whose completions are the shards, each pod's command taking
its shard from JOB_COMPLETION_INDEX + 1 with the same --seed, the
capability syn mode needs, volumes that exist.  Then the pod's command
itself is run by /bin/sh with JOB_COMPLETION_INDEX 0..N-1 and a stub
`tapir` that prints its arguments: the shards must be 1/N .. N/N, the
seed and targets the same in each, and each writes its own XML file."""
import os
import subprocess
import sys
import tempfile

import yaml

root = sys.argv[1]
path = os.path.join(root, "deploy/kubernetes/check-job.yaml")
docs = [d for d in yaml.safe_load_all(open(path)) if d]
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


jobs = [d for d in docs if d.get("kind") == "Job"]
check(len(jobs) == 1, "one Job")
job = jobs[0]
check(job.get("apiVersion") == "batch/v1", "apiVersion batch/v1")
check(isinstance(job["metadata"].get("name"), str), "metadata.name")
spec = job["spec"]
check(spec.get("completionMode") == "Indexed", "completionMode: Indexed")
n = spec.get("completions")
check(isinstance(n, int) and n >= 1, "completions: a number")
check(isinstance(spec.get("parallelism"), int) and 1 <= spec["parallelism"] <= n,
      "parallelism from 1 to completions")
pod = spec["template"]["spec"]
check(pod.get("restartPolicy") in ("Never", "OnFailure"), "restartPolicy Never or OnFailure")
cs = pod["containers"]
check(len(cs) == 1, "one container")
c = cs[0]
check(isinstance(c.get("image"), str) and c["image"], "an image")
env = {e["name"]: e.get("value") for e in c.get("env", [])}
check(env.get("SHARDS") == str(n), "env SHARDS == completions (%r, %r)" % (env.get("SHARDS"), n))
check(env.get("SEED", "").isdigit(), "env SEED: a number")
script = " ".join(c.get("command", []) + c.get("args", []))
for w in ("JOB_COMPLETION_INDEX + 1", "--shard", "--seed", "$SEED", "$SHARDS", "tapir check"):
    check(w in script, "the command has %r" % w)
caps = c.get("securityContext", {}).get("capabilities", {})
check("NET_RAW" in caps.get("add", []), "capabilities add NET_RAW (--mode syn)")
check("ALL" in caps.get("drop", []), "capabilities drop ALL")
vols = {v["name"] for v in pod.get("volumes", [])}
for m in c.get("volumeMounts", []):
    check(m["name"] in vols, "volume %s exists" % m["name"])
claims = {v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes", [])
          if "persistentVolumeClaim" in v}
pvcs = {d["metadata"]["name"] for d in docs if d.get("kind") == "PersistentVolumeClaim"}
check(claims <= pvcs, "the claims are in the manifest (%s)" % (claims - pvcs))

# the pod's command, run as the pods would (a stub tapir)
with tempfile.TemporaryDirectory() as tmp:
    stub = os.path.join(tmp, "tapir")
    with open(stub, "w") as f:
        f.write('#!/bin/sh\necho "$@" >"%s/args.$JOB_COMPLETION_INDEX"\n'
                'while [ $# -gt 1 ]; do [ "$1" = -oX ] && echo "<nmaprun/>" >"$2"; shift; done\nexit 1\n' % tmp)
    os.chmod(stub, 0o755)
    seen = []
    for i in range(n):
        e = dict(os.environ, **{k: v for k, v in env.items() if v is not None})
        e.update(PATH=tmp + ":" + os.environ["PATH"], RESULTS=tmp, JOB_COMPLETION_INDEX=str(i))
        r = subprocess.run(c["command"] + c.get("args", []), env=e, capture_output=True, text=True)
        check(r.returncode == 0, "pod %d: exit %d (%s)" % (i, r.returncode, r.stderr.strip()))
        args = open(os.path.join(tmp, "args.%d" % i)).read().split()
        check(args[args.index("--shard") + 1] == "%d/%d" % (i + 1, n), "pod %d: --shard %d/%d" % (i, i + 1, n))
        seen.append((args[args.index("--seed") + 1], args[-len(env["TARGETS"].split()):]))
        check(os.path.exists(os.path.join(tmp, "shard-%d.xml" % (i + 1))), "pod %d: shard-%d.xml" % (i, i + 1))
    check(len(set(map(str, seen))) == 1, "every pod: the same seed and targets")
for e in errors:
    print("k8s_manifest: " + e, file=sys.stderr)
print("k8s_manifest: %s, %d checks failed" % (path, len(errors)))
sys.exit(1 if errors else 0)
