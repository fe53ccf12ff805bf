# `mlpipe consume --follow` in one process while `mlpipe produce` runs in
# others, as with Kafka: the follower prints every record of every produce,
# byte for byte and in order, across segment rolls. Then the single-writer
# rule: while one producer holds the data directory, readers (consume, topic
# list/describe) work beside it, and other writers (produce, topic
# create/delete) wait briefly and then fail with a message naming the
# holder -- or succeed once it is gone. Every wait is bounded; every
# background process is killed and reaped on exit.
. "$(dirname "$0")/lib.sh"
D=$T/data
cpid=
wpid=
cleanup() {
    exec 3>&- 2>/dev/null
    for p in $cpid $wpid; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
L() { "$MLPIPE" "$@" --data-dir "$D"; }

# lines FILE: its line count, 0 while it does not exist yet.
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# wait_lines FILE N: waits up to 10 s for FILE to have N lines.
wait_lines() {
    i=0
    while [ "$(lines "$1")" -lt "$2" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ "$(lines "$1")" -ge "$2" ]
}

# Small segments, so that the follower crosses rolls.
expect_exit 0 "create" -- L topic create t --config segment.bytes=400

"$MLPIPE" consume t --data-dir "$D" --from-beginning --follow >"$T/fol" 2>"$T/fol.err" &
cpid=$!
sleep 0.3

# Five producers, one after another, each with its own lines (some long,
# some with spaces, tabs and bytes of every kind but newline).
: >"$T/want"
for p in 1 2 3 4 5; do
    python3 - "$p" >"$T/in$p" <<'PY'
import sys
p = int(sys.argv[1])
out = []
for i in range(20):
    n = (p * 37 + i * 11) % 150
    body = "".join(chr(32 + (p + i + k) % 95) for k in range(n))
    out.append("p%d-%02d\t%s" % (p, i, body))
sys.stdout.write("\n".join(out) + "\n")
PY
    cat "$T/in$p" >>"$T/want"
    L produce t <"$T/in$p" >"$T/out" 2>"$T/err"
    [ $? -eq 0 ] && ok || bad "produce $p beside consume --follow: $(cat "$T/err")"
done
wait_lines "$T/fol" 100 && ok || bad "the follower printed $(lines "$T/fol") of 100 lines in 10 s"
cmp -s "$T/want" "$T/fol" && ok || bad "the follower's lines differ from the produced ones: $(diff "$T/want" "$T/fol" | head -5)"
kill -0 "$cpid" 2>/dev/null && ok || bad "consume --follow ended early: $(cat "$T/fol.err")"
segs=$(ls "$D/topics/t-0" | grep -c '\.log$')
[ "$segs" -gt 5 ] && ok || bad "expected many segments, found $segs"

# A record after a quiet spell wakes the waiting follower.
sleep 0.5
echo late | L produce t
wait_lines "$T/fol" 101 && [ "$(tail -n 1 "$T/fol")" = "late" ] && ok ||
    bad "the follower missed a record produced after a pause: $(tail -n 2 "$T/fol")"
kill -TERM "$cpid"
wait "$cpid"
[ $? -eq 0 ] && ok || bad "consume --follow ends with 0 on SIGTERM: $(cat "$T/fol.err")"
cpid=
[ -s "$T/fol.err" ] && bad "the follower wrote to stderr: $(cat "$T/fol.err")" || ok

# ---- one writer at a time ----------------------------------------------------
# A producer that holds the directory: it waits on a FIFO for its input.
mkfifo "$T/fifo"
"$MLPIPE" produce t --data-dir "$D" --verbose <"$T/fifo" >"$T/wout" 2>"$T/werr" &
wpid=$!
exec 3>"$T/fifo"
echo held >&3
wait_lines "$T/wout" 1 && ok || bad "the holding producer did not acknowledge: $(cat "$T/werr")"

# Readers work beside it.
expect_exit 0 "topic list beside a writer" -- L topic list
[ "$(cat "$T/out")" = "t" ] && ok || bad "topic list beside a writer: $(cat "$T/out")"
expect_exit 0 "topic describe beside a writer" -- L topic describe t
awk '$1 == "0" { print $3 }' "$T/out" | grep -qx 102 && ok || bad "describe beside a writer: $(cat "$T/out")"
expect_exit 0 "consume beside a writer" -- L consume t --from-beginning
[ "$(wc -l <"$T/out")" -eq 102 ] && [ "$(tail -n 1 "$T/out")" = "held" ] && ok ||
    bad "consume beside a writer read $(wc -l <"$T/out") records"

# Writers are refused after a short wait, naming the holder.
for cmd in "produce t" "topic create u" "topic delete t"; do
    s0=$(date +%s)
    echo x | MLPIPE_LOCK_WAIT_MS=300 L $cmd >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -eq 2 ] && ok || bad "$cmd beside a writer: exit $rc, wanted 2"
    grep -q "open in another process (pid $wpid)" "$T/err" && grep -q "for writing" "$T/err" && ok ||
        bad "$cmd beside a writer: unclear message: $(cat "$T/err")"
    [ $(($(date +%s) - s0)) -lt 10 ] && ok || bad "$cmd beside a writer waited too long"
done
expect_exit 0 "nothing changed" -- L topic list
[ "$(cat "$T/out")" = "t" ] && ok || bad "a refused writer changed the topics: $(cat "$T/out")"

# A writer that starts while another is finishing waits for it.
# (Without the FIFO's write end, which would keep the holder reading.)
{ echo waited | MLPIPE_LOCK_WAIT_MS=8000 L produce t >"$T/w2out" 2>"$T/w2err"; } 3>&- &
w2=$!
sleep 0.5
exec 3>&-
wait "$wpid"
[ $? -eq 0 ] && ok || bad "the holding producer failed: $(cat "$T/werr")"
wpid=
wait "$w2"
[ $? -eq 0 ] && ok || bad "a producer waiting for the lock failed: $(cat "$T/w2err")"
expect_exit 0 "after the wait" -- L consume t --from-beginning
[ "$(tail -n 1 "$T/out")" = "waited" ] && [ "$(wc -l <"$T/out")" -eq 103 ] && ok ||
    bad "the waiting producer's record: $(tail -n 2 "$T/out")"

finish
