# The two commands a user needs: `make demo` and `make test` (both install the
# Debian packages first, so they work on a fresh Debian 12 machine as root).
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all deps configure build test test-repeat demo bench clean

all: build

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1500

# Each test up to N times, stopping at the first failure: a check for flakes.
N ?= 3
test-repeat: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1500 --repeat until-fail:$(N)

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./bench/run-all.sh $(BUILD)

clean:
	rm -rf $(BUILD)
