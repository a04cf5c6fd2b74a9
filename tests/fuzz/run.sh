#!/usr/bin/env bash
# The fuzz harnesses' two runs (docs/fuzzing.md):
#   tests/fuzz/run.sh smoke        each harness briefly over its seed corpus
#                                  (fixed seed), then every saved crash input
#                                  replayed; what `make test` runs
#   tests/fuzz/run.sh long [SECS]  each harness SECS seconds (default 60) over
#                                  a scratch copy of its corpus; `make fuzz`
# Both build build-fuzz first (clang, -DTAPIR_FUZZ=ON).  Scratch corpora and
# crash artifacts go under build-fuzz/, never into the repo.  The last line
# is "fuzz: N passed, N failed" (one per harness), for CI.
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-smoke}
secs=${2:-${FUZZ_SECONDS:-60}}
harnesses=(ether arp ipv4 reasm icmp udp tcp stack dhcp dhcp6 ipv6 icmp6 nd)
# leaks are checked per input by libFuzzer; abort so a UBSan report is a crash
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (scripts/deps.sh installs it)" >&2
  echo "fuzz: 0 passed, ${#harnesses[@]} failed"
  exit 1
fi
if ! { cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DTAPIR_FUZZ=ON >/dev/null &&
       cmake --build build-fuzz --target fuzzers -j"$(nproc)" >/dev/null; }; then
  echo "fuzz: build-fuzz failed to build" >&2
  echo "fuzz: 0 passed, ${#harnesses[@]} failed"
  exit 1
fi

bin=build-fuzz/tests/fuzz
work=build-fuzz/fuzz-$mode
passed=0 failed=0
for h in "${harnesses[@]}"; do
  rm -rf "$work/$h"
  mkdir -p "$work/$h/corpus" "$work/$h/artifacts"
  cp tests/fuzz/corpus/$h/* "$work/$h/corpus/"
  log=$work/$h/log
  start=$SECONDS
  if [ "$mode" = smoke ]; then
    # the seeds plus some thousands of mutations, then the regressions
    "$bin/fuzz_$h" -seed=1 -runs=30000 -max_total_time=5 -print_final_stats=1 \
      -artifact_prefix="$work/$h/artifacts/" "$work/$h/corpus" >"$log" 2>&1
    rc=$?
    crashes=(tests/fuzz/crashes/$h/*)
    if [ $rc = 0 ] && [ -e "${crashes[0]}" ]; then
      "$bin/fuzz_$h" "${crashes[@]}" >>"$log" 2>&1
      rc=$?
    fi
  else
    "$bin/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$work/$h/artifacts/" "$work/$h/corpus" >"$log" 2>&1
    rc=$?
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc = 0 ]; then
    passed=$((passed + 1))
    echo "fuzz: $h ok (${runs:-?} runs, $((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    echo "fuzz: $h FAILED ($((SECONDS - start)) s); log: $log"
    grep -m1 -E 'ERROR: |INVARIANT|runtime error' "$log" | sed 's/^/fuzz:   /'
    grep -m1 -E '^(Running|Test unit written to|Executed) ' "$log" | sed 's/^/fuzz:   /'
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed = 0 ]
