# Thin wrapper over CMake. `make` builds build/mlpipe; `make test` builds a
# sanitizer build in build-asan/ and runs the whole suite; `make demo` runs the
# heart example end to end. Every target installs missing packages first.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD := build
ASAN := build-asan

.PHONY: all deps build test demo bench-ml bench-log bench-nn bench-sql bench-serve clean fixtures valgrind

all: build

deps:
	@scripts/install-deps build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test:
	@scripts/install-deps test
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DMP_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	@scripts/run-tests $(ASAN)

demo: build
	@examples/heart/run-demo $(BUILD)/mlpipe

bench-ml: deps
	@scripts/install-deps bench
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run-bench-ml $(BUILD)

# The event log's produce/consume throughput beside dd on the same disk.
bench-log: deps
	@scripts/install-deps test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run-bench-log $(BUILD)

# mlpipe's networks beside PyTorch's (python3-torch) on Fashion-MNIST;
# EPOCHS=N (default 2) and MODELS="mlp cnn autoencoder lstm" choose the runs.
bench-nn: deps
	@scripts/install-deps bench
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run-bench-nn $(BUILD)

# Streaming SQL end to end beside the raw log read and grep -c (N=records).
bench-sql: deps
	@scripts/install-deps test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run-bench-sql $(BUILD)

# The model endpoint under wrk beside nginx serving a fixed JSON body.
bench-serve: deps
	@scripts/install-deps bench
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run-bench-serve $(BUILD)

# Regenerates the scikit-learn fixtures (needs python3-sklearn); the suite
# itself only reads the committed files.
fixtures:
	@scripts/install-deps bench
	@/usr/bin/python3 tests/fixtures/make_sklearn_fixtures.py tests/fixtures/sklearn

clean:
	rm -rf $(BUILD) $(ASAN)

# The heart pipeline and a bad-input path under valgrind's memcheck.
valgrind: deps
	@scripts/valgrind-check
