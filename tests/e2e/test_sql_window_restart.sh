# Stream time survives a restart: a windowed query killed with SIGKILL
# between records and restarted decides lateness as an uninterrupted run
# does (tumbling and session windows), because stream time is kept with
# the changelog's position markers.
. "$(dirname "$0")/lib.sh"

# setup DIR: the stream and two windowed tables over it.
setup() {
    "$MLPIPE" sql --data-dir "$1" -e "SET 'auto.offset.reset'='earliest';
        CREATE STREAM acts (t BIGINT, userid VARCHAR)
          WITH (KAFKA_TOPIC='acts', VALUE_FORMAT='DELIMITED', PARTITIONS=1, TIMESTAMP='t');
        CREATE TABLE per_min AS SELECT userid, WINDOWSTART AS ws, COUNT(*) AS n FROM acts
          WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY userid;
        CREATE TABLE sess AS SELECT userid, WINDOWSTART AS ws, COUNT(*) AS n FROM acts
          WINDOW SESSION (10 SECONDS, GRACE PERIOD 10 SECONDS) GROUP BY userid;" >/dev/null 2>&1 ||
        bad "setup $1"
}
# outputs DIR: both tables' records with timestamps and keys.
outputs() {
    for t in PER_MIN SESS; do
        "$MLPIPE" consume "$t" --data-dir "$1" --from-beginning --print-timestamp --print-key |
            od -An -c | tr -s ' \n' ' '
        echo
    done
}
# Times from an hour ago (minute-aligned), so the topics' time retention
# keeps the records. Phase 2 follows phase 1's stream time of B + 140 s:
# B + 1 s is late for both (its minute closed at B + 70 s; its session
# would end before B + 120 s), B + 145 s is not.
B0=$(( ($(date +%s) / 60 - 60) * 60000 ))
printf '%s,u\n%s,u\n' "$B0" $((B0 + 140000)) >"$T/p1"
printf '%s,u\n%s,u\n' $((B0 + 1000)) $((B0 + 145000)) >"$T/p2"

# Uninterrupted.
A="$T/a"
setup "$A"
cat "$T/p1" "$T/p2" | "$MLPIPE" produce acts --data-dir "$A" >/dev/null 2>&1 || bad "produce a"
{ sleep 1.5; echo "SHOW QUERIES;"; } | "$MLPIPE" sql --data-dir "$A" >"$T/qa" 2>&1 || bad "run a"
grep -q "PER_MIN .* 4 in, 3 out, 0 errors, 1 late" "$T/qa" && ok || bad "tumbling: one late: $(cat "$T/qa")"
grep -q "SESS .* 4 in, 4 out, 0 errors, 1 late" "$T/qa" && ok || bad "session: one late: $(cat "$T/qa")"

# Killed between phase 1 and phase 2, then restarted.
B="$T/b"
setup "$B"
"$MLPIPE" produce acts --data-dir "$B" <"$T/p1" >/dev/null 2>&1 || bad "produce b"
"$MLPIPE" sql --data-dir "$B" --run-for 60 -e "SHOW QUERIES;" >/dev/null 2>&1 &
pid=$!
i=0
while [ "$i" -lt 100 ]; do
    n1=$("$MLPIPE" consume PER_MIN --data-dir "$B" --from-beginning 2>/dev/null | wc -l)
    n2=$("$MLPIPE" consume SESS --data-dir "$B" --from-beginning 2>/dev/null | wc -l)
    [ "$n1" -ge 2 ] && [ "$n2" -ge 2 ] && break
    sleep 0.1
    i=$((i + 1))
done
sleep 0.3 # the round's changelog and commit follow its output
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$MLPIPE" produce acts --data-dir "$B" <"$T/p2" >/dev/null 2>&1 || bad "produce b, phase 2"
"$MLPIPE" sql --data-dir "$B" --run-for 2 -e "SHOW QUERIES;" >/dev/null 2>&1 || bad "restart b"

outputs "$A" >"$T/out_a"
outputs "$B" >"$T/out_b"
[ -s "$T/out_a" ] && cmp -s "$T/out_a" "$T/out_b" && ok ||
    bad "outputs differ after a restart: uninterrupted: $(cat "$T/out_a") restarted: $(cat "$T/out_b")"
"$MLPIPE" consume PER_MIN --data-dir "$B" --from-beginning >"$T/pm" 2>&1
[ "$(tr '\n' '/' <"$T/pm")" = "$B0,1/$((B0 + 120000)),1/$((B0 + 120000)),2/" ] && ok ||
    bad "B + 1 s dropped after the restart: $(cat "$T/pm")"
"$MLPIPE" consume SESS --data-dir "$B" --from-beginning --print-timestamp >"$T/ss" 2>&1
b140=$((B0 + 140000))
[ "$(tr '\t\n' ' /' <"$T/ss")" = "$B0 $B0,1/$b140 $b140,1/$b140 /$((B0 + 145000)) $b140,2/" ] && ok ||
    bad "sessions after the restart: $(cat "$T/ss")"
finish
