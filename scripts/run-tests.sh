#!/usr/bin/env bash
# The whole suite, as `make test` runs it: first everything under ASan and
# UBSan (build-asan/), then everything again in the release build (build/),
# then each libFuzzer harness briefly over its seed corpus and saved crash
# inputs (build-fuzz/, clang; tests/fuzz/run.sh; about half a minute).
set -uo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for dir in build-asan build; do
  echo "=== tests in $dir"
  ctest --test-dir "$dir" --output-on-failure -j2 || status=1
done
echo "=== fuzz smoke in build-fuzz"
tests/fuzz/run.sh smoke || status=1
exit $status
