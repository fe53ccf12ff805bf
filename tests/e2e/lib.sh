# Shared helpers for the end-to-end tests, sourced by each tests/e2e/test_*.sh.
# Each test gets a private temporary directory, removed on exit.
set -u
: "${MLPIPE:?MLPIPE must point at the mlpipe binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/mlpipe-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
PASSES=0

ok() { PASSES=$((PASSES + 1)); }
bad() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

# expect_exit CODE DESCRIPTION -- command...
expect_exit() {
    want=$1; what=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want; stderr: $(cat "$T/err")"; fi
}

# expect_err PATTERN DESCRIPTION: the last command's stderr matches (grep -E)
expect_err() {
    if grep -Eq -- "$1" "$T/err"; then ok; else bad "$2: stderr lacks /$1/: $(cat "$T/err")"; fi
}

expect_out() {
    if grep -Eq -- "$1" "$T/out"; then ok; else bad "$2: stdout lacks /$1/: $(cat "$T/out")"; fi
}

# json_get FILE EXPR: evaluates a Python expression on the JSON object j.
json_get() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

finish() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
