#!/bin/sh
# tapir check split into N shards run by GNU parallel, on this machine or
# over ssh on others (docs/check-and-ping.md, "A scan over many machines"):
#
#   deploy/parallel/check-shards.sh N SEED OUTDIR [tapir check options] TARGETS...
#
# runs `tapir check --seed SEED --shard I/N -oX - OPTIONS TARGETS` for I =
# 1..N and keeps shard I's nmap XML in OUTDIR/shard-I.xml (its stderr in
# shard-I.xml.err); then merges them into OUTDIR/scan.xml with
# deploy/merge.py.  SSHLOGINS=FILE: run the shards on the machines FILE
# lists (parallel's --sshloginfile: "1/root@scanner1" per line, the 1 one
# shard at a time there; tapir on their PATH); the XML comes back over
# ssh's stdout.  Without it, all N at once here.  FORMAT=json: JSON lines
# instead (OUTDIR/shard-I.jsonl, merged into OUTDIR/scan.jsonl).  Exit 0 when every shard
# finished (tapir check's exit 1, "some port not open", counts as done).
set -eu
[ $# -ge 4 ] || { echo "usage: $0 N SEED OUTDIR [tapir check options] TARGETS..." >&2; exit 2; }
n=$1 seed=$2 out=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
tapir=${TAPIR:-tapir}
fmt=${FORMAT:-xml}
case $fmt in
xml) how="-oX -" ext=xml ;;
json) how="--json" ext=jsonl ;; # (not .json: parallel --results would write its own JSON)
*) echo "$0: FORMAT=$fmt: xml or json" >&2; exit 2 ;;
esac
mkdir -p "$out"
if [ -n "${SSHLOGINS:-}" ]; then
	where="--sshloginfile $SSHLOGINS"
else
	where="-j $n"
fi
# (the command is run by a shell, here or remotely: its words quoted)
q=""
for a in "$@"; do
	q="$q '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
done
# shellcheck disable=SC2086
seq 1 "$n" | parallel $where --halt now,fail=1 --results "$out/shard-{}.$ext" \
	"$tapir check --seed $seed --shard {}/$n $how $q; [ \$? -le 1 ]"
/usr/bin/python3 "$here/../merge.py" "$out"/shard-*."$ext" >"$out/scan.$ext"
