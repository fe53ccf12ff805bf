# Short libFuzzer runs over every target in tests/fuzz (fuzz_*.c): each is
# built with clang's fuzzer, address and undefined-behaviour sanitizers
# against the library's sources and run for FUZZ_SECONDS (default 15) from
# its committed seed corpus (fuzz_engine, which evaluates expressions over
# a fixed schema, for FUZZ_ENGINE_SECONDS, default 20). Any crash, leak or
# sanitizer report fails. The mutations follow FUZZ_SEED (default 1), so
# the suite tries the same inputs on every run and a red run can be
# repeated; set FUZZ_SEED=0 for a fresh random seed when hunting.
. "$(dirname "$0")/lib.sh"
command -v clang >/dev/null || { bad "clang is missing (scripts/install-deps test installs it)"; finish; exit 1; }
seconds=${FUZZ_SECONDS:-15}
seed=${FUZZ_SEED:-1}
flags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I$SRC/src -I$SRC/include"
mkdir -p "$T/obj"
# The library once, as objects; each target links what it needs.
for f in "$SRC"/src/core/*.c "$SRC"/src/data/*.c "$SRC"/src/nn/*.c "$SRC"/src/ml/*.c "$SRC"/src/log/*.c \
         "$SRC"/src/sql/*.c; do
    [ -f "$f" ] || continue
    echo "$f"
done >"$T/sources"
xargs -P "$(nproc)" -I{} sh -c 'clang '"$flags"' -c "{}" -o "'"$T"'/obj/$(echo "{}" | tr / _).o"' <"$T/sources" \
    || { bad "building the library for fuzzing failed"; finish; exit 1; }
libs="-ljansson -llapacke -lopenblas -lz -lm -lpthread"
libs="$libs $(pkg-config --libs liblz4 libzstd snappy)"
for target in "$SRC"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$target" .c)
    corpus_name=${name#fuzz_}
    if ! clang $flags -fsanitize=fuzzer "$target" "$T"/obj/*.o $libs -o "$T/$name" 2>"$T/build.err"; then
        bad "$name: build failed: $(head -5 "$T/build.err")"
        continue
    fi
    mkdir -p "$T/corpus-$corpus_name"
    [ -d "$SRC/tests/fuzz/corpus/$corpus_name" ] && cp "$SRC/tests/fuzz/corpus/$corpus_name"/* "$T/corpus-$corpus_name/"
    t=$seconds
    # the engine target covers the most code (every function, lambdas, table functions)
    [ "$name" = fuzz_engine ] && t=${FUZZ_ENGINE_SECONDS:-20}
    if OPENBLAS_NUM_THREADS=1 "$T/$name" -seed="$seed" -max_total_time="$t" -max_len=4096 -rss_limit_mb=2048 \
        "$T/corpus-$corpus_name" >"$T/$name.log" 2>&1; then
        ok
        echo "$name: $(grep -o 'Done [0-9]* runs' "$T/$name.log")"
    else
        bad "$name found a problem: $(grep -E 'ERROR|SUMMARY|runtime error' "$T/$name.log" | head -5)"
        cp "$T"/crash-* "$T"/leak-* "${TMPDIR:-/tmp}/" 2>/dev/null
    fi
done
finish
