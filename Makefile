# tapir — the two commands that matter: `make demo` and `make test`.
# Everything else is a step of theirs.
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build asan deps test unit demo install clean fuzz fuzz-build soak bench

all: build

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j$(JOBS)

asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTAPIR_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j$(JOBS)

# The libFuzzer harnesses (tests/fuzz, docs/fuzzing.md): a clang build of
# their own.  `make fuzz` runs each for FUZZ_SECONDS over a scratch copy of
# its seed corpus in build-fuzz/.
FUZZ_SECONDS ?= 60
fuzz-build:
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPIR_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzzers

fuzz: deps fuzz-build
	@tests/fuzz/run.sh long $(FUZZ_SECONDS)

# The whole suite: every test under ASan+UBSan, then again in the release
# build, then a short run of each fuzz harness.
test: deps build asan fuzz-build
	@scripts/run-tests.sh

demo: deps build
	@scripts/demo.sh

# Soak (tests/interop/soak.sh, docs/robustness.md): SOAK_BYTES (1 GiB) each
# way between tapir and the kernel through tapir's netem personality
# (SOAK_NETEM), every byte checked by sha256.  `make test` runs a short form.
SOAK_BYTES ?= 1073741824
SOAK_PARALLEL ?= 1
soak: deps build
	@SOAK_BYTES=$(SOAK_BYTES) SOAK_PARALLEL=$(SOAK_PARALLEL) TAPIR=build/tapir bash tests/interop/soak.sh

# Benchmarks (bench/bench.sh, docs/performance.md): tapir against lwIP, the
# Linux kernel and the TAP device's own ceiling; figures only, no pass/fail.
# It installs its packages and builds first; then bench/check-bench.sh runs
# (tapir check against the scanners), if present.
bench:
	@bench/bench.sh
	@if [ -x bench/check-bench.sh ]; then bench/check-bench.sh; fi

install: build
	cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-fuzz
