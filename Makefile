# tapir — the two commands that matter: `make demo` and `make test`.
# Everything else is a step of theirs.
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build asan deps test unit demo install clean

all: build

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j$(JOBS)

asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTAPIR_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j$(JOBS)

# The whole suite: every test under ASan+UBSan, then again in the release build.
test: deps build asan
	@scripts/run-tests.sh

demo: deps build
	@scripts/demo.sh

install: build
	cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan
