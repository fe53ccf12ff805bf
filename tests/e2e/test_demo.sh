# `make demo`'s script, end to end on the build under test: both phases,
# including the server it starts and stops by itself.
. "$(dirname "$0")/lib.sh"
MLPIPE_DEMO_DIR="$T/demo" timeout 180 "$SRC/examples/heart/run-demo" "$MLPIPE" >"$T/out" 2>"$T/err" && ok ||
    bad "run-demo failed: $(tail -20 "$T/err") $(tail -20 "$T/out")"
expect_out '^== 4\. How did we do\?' "Phase One ran"
expect_out '^\{"predictions":\[[01],[01]\]\}' "a TensorFlow Serving predict"
expect_out '^Limit Reached' "PREDICT over a stream through mlpipe ksql"
[ "$(grep -cE '^\| [0-9]+ +\| [0-9]+ +\| [0-9]+ +\| [01] +\|' "$T/out")" = 5 ] && ok || bad "five scored patients: $(cat "$T/out")"
# The server stopped: nothing of it is left listening.
grep -q "mlpipe server: stopped" "$T/demo/server.log" && ok || bad "server log: $(cat "$T/demo/server.log")"
finish
