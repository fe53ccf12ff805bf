# The event log through the CLI: topic create/list/describe/delete/compact,
# produce and consume, on the talk's purchases example; keys land where
# Kafka's murmur2 partitioner puts them (computed here by an independent
# Python port), offsets are contiguous, consumer groups resume, the files
# are Kafka's RecordBatch v2, and bad inputs give clear errors (exit 2).
. "$(dirname "$0")/lib.sh"
D=$T/data
L() { "$MLPIPE" "$@" --data-dir "$D"; }
now_ms() { date +%s%3N; }

# ---- an independent murmur2 (Kafka's Utils.murmur2) ------------------------
cat >"$T/kafka.py" <<'PY'
import sys


def murmur2(data):
    m = 0x5BD1E995
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[4 * n4:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition(key, n):
    return (murmur2(key) & 0x7FFFFFFF) % n


# Values from Kafka's own tests of Utils.murmur2: the port must agree first.
for s, want in [("21", -973932308), ("foobar", -790332482), ("a-little-bit-long-string", -985981536),
                ("a-little-bit-longer-string", -1486304829), ("abc", 479470107),
                ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]:
    assert murmur2(s.encode()) == want, (s, murmur2(s.encode()), want)
PY
python3 "$T/kafka.py" && ok || bad "the Python murmur2 port disagrees with Kafka's test values"

# ---- help and usage ---------------------------------------------------------
for c in topic produce consume; do
    expect_exit 0 "$c --help" -- "$MLPIPE" $c --help
    expect_out "usage: mlpipe" "$c --help prints usage"
done
expect_exit 0 "mlpipe --help" -- "$MLPIPE" --help
expect_out "produce" "the command list names produce"

# ---- the talk's example: purchases, keyed by state, 3 partitions ------------
expect_exit 0 "topic create" -- L topic create purchases --partitions 3
expect_out "created topic purchases with 3 partitions" "create says what it made"
[ -d "$D/topics/purchases-0" ] && [ -d "$D/topics/purchases-2" ] && [ ! -e "$D/topics/purchases-3" ] &&
    ok || bad "one directory per partition under <data-dir>/topics"
expect_exit 0 "topic list" -- L topic list
[ "$(cat "$T/out")" = "purchases" ] && ok || bad "topic list: $(cat "$T/out")"

printf 'NY,20.0\nNY,80.0\nOH,100.0\n' >"$T/talk.txt"
t0=$(now_ms)
expect_exit 0 "produce the talk's records" -- L produce purchases --key-separator , --verbose <"$T/talk.txt"
t1=$(now_ms)
cp "$T/out" "$T/acks"
# Expected placement: murmur2 partition per key, offsets counted per partition.
python3 - "$T/kafka.py" "$T/talk.txt" "$T/acks" <<'PY' && ok || bad "produce --verbose: partitions/offsets differ from Kafka's partitioner: $(cat "$T/acks")"
import sys
exec(open(sys.argv[1]).read())
nxt, want = {}, []
for line in open(sys.argv[2], "rb").read().split(b"\n")[:-1]:
    k = line.split(b",", 1)[0]
    p = partition(k, 3)
    want.append("%d %d" % (p, nxt.get(p, 0)))
    nxt[p] = nxt.get(p, 0) + 1
got = open(sys.argv[3]).read().split("\n")[:-1]
sys.exit(0 if got == want else 1)
PY
[ "$(python3 -c "exec(open('$T/kafka.py').read()); print(partition(b'NY', 3), partition(b'OH', 3))")" = "0 2" ] &&
    ok || bad "NY and OH should hash to partitions 0 and 2 of 3"

expect_exit 0 "consume --from-beginning" -- L consume purchases --from-beginning --print-partition \
    --print-offset --print-timestamp --print-key
sort "$T/out" >"$T/got"
python3 - "$T/got" "$t0" "$t1" <<'PY' && ok || bad "consume output (partition, offset, timestamp, key, value): $(cat "$T/got")"
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n")[:-1]]
t0, t1 = int(sys.argv[2]), int(sys.argv[3])
assert all(len(r) == 5 for r in rows), rows
assert all(t0 <= int(r[2]) <= t1 for r in rows), (rows, t0, t1)
got = [(r[0], r[1], r[3], r[4]) for r in rows]
assert got == [("0", "0", "NY", "20.0"), ("0", "1", "NY", "80.0"), ("2", "0", "OH", "100.0")], got
PY
expect_exit 0 "consume value only" -- L consume purchases --from-beginning --partition 0
[ "$(cat "$T/out")" = "20.0
80.0" ] && ok || bad "partition 0 holds NY's two values in order: $(cat "$T/out")"
# Default start is the end, as kafka-console-consumer's.
expect_exit 0 "consume from the end" -- L consume purchases
[ -s "$T/out" ] && bad "consume without --from-beginning should print nothing: $(cat "$T/out")" || ok
expect_exit 0 "consume --offset" -- L consume purchases --partition 0 --offset 1 --print-offset
[ "$(cat "$T/out")" = "1	80.0" ] && ok || bad "--partition 0 --offset 1: $(cat "$T/out")"

# ---- many keys: partitioner and contiguous offsets --------------------------
python3 - >"$T/many.txt" <<'PY'
import random
r = random.Random(5)
for i in range(600):
    k = "user-%d" % r.randrange(120) if i % 7 else "k%c%d" % (chr(0xe9), i)
    print("%s|v%d-%s" % (k, i, "x" * r.randrange(40)))
PY
# A fixed timestamp, recent enough for the default retention (7 days).
ts=$(($(now_ms) - 3600000))
expect_exit 0 "produce 600 keyed lines" -- L produce purchases --key-separator '|' --timestamp "$ts" <"$T/many.txt"
[ -s "$T/out" ] && bad "produce prints nothing without --verbose" || ok
expect_exit 0 "consume all" -- L consume purchases --from-beginning --print-partition --print-offset --print-timestamp --print-key
python3 - "$T/kafka.py" "$T/many.txt" "$T/out" "$ts" <<'PY' && ok || bad "keyed records: placement, order or offsets wrong"
import sys
exec(open(sys.argv[1]).read())
lines = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
rows = [l.split(b"\t") for l in open(sys.argv[3], "rb").read().split(b"\n")[:-1]]
assert len(rows) == 603, len(rows)
byp = {}
for r in rows:
    byp.setdefault(int(r[0]), []).append(r)
want = {}
for l in [b"NY|20.0", b"NY|80.0", b"OH|100.0"] + lines:
    k, v = l.split(b"|", 1)
    want.setdefault(partition(k, 3), []).append((k, v))
for p, rs in byp.items():
    offs = [int(r[1]) for r in rs]
    assert offs == list(range(len(rs))), ("offsets not contiguous from 0", p, offs[:10])
    assert [(r[3], r[4]) for r in rs] == want[p], ("partition %d differs" % p)
ts = [r[2] for r in rows if r[4].startswith(b"v")]
assert ts and all(t == sys.argv[4].encode() for t in ts), "--timestamp not kept"
assert sorted(byp) == [0, 1, 2], sorted(byp)
PY

# describe: offsets per partition agree with what consume saw.
expect_exit 0 "topic describe" -- L topic describe purchases
cp "$T/out" "$T/desc"
L consume purchases --from-beginning --print-partition | cut -f1 | sort | uniq -c | awk '{print $2, $1}' >"$T/counts"
awk '$1 ~ /^[0-9]+$/ && NF == 5 { print $1, $3 }' "$T/desc" >"$T/latest"
cmp -s "$T/counts" "$T/latest" && ok || bad "describe's latest offsets differ from the records: $(cat "$T/latest") vs $(cat "$T/counts")"
awk '$1 ~ /^[0-9]+$/ && NF == 5 && ($2 != 0 || $4 <= 0 || $5 != 1) { exit 1 }' "$T/desc" && ok ||
    bad "describe: earliest 0, bytes > 0, 1 segment: $(cat "$T/desc")"
grep -q '^  cleanup.policy=delete$' "$T/desc" && grep -q '^  partitions=3$' "$T/desc" &&
    grep -q '^  segment.bytes=1073741824$' "$T/desc" && ok || bad "describe prints the configuration: $(cat "$T/desc")"

# ---- the files are Kafka's RecordBatch v2 -----------------------------------
python3 - "$D/topics/purchases-0/00000000000000000000.log" <<'PY' && ok || bad "purchases-0's first batch is not a valid RecordBatch v2 holding NY,20.0"
import struct, sys
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
def varint(b, i):
    shift = v = 0
    while True:
        x = b[i]; i += 1
        v |= (x & 0x7F) << shift; shift += 7
        if not x & 0x80:
            return (v >> 1) ^ -(v & 1), i
data = open(sys.argv[1], "rb").read()
base, length, epoch, magic, crc = struct.unpack(">qiibI", data[:21])
assert base == 0 and magic == 2, (base, magic)
assert crc == crc32c(data[21:12 + length]), "CRC-32C mismatch"
attrs, lod, bts, mts, pid, pep, bseq, count = struct.unpack(">hiqqqhii", data[21:61])
assert attrs & 7 == 0 and count >= 1 and pid == -1, (attrs, count, pid)
i = 61
ln, i = varint(data, i)
i += 1                      # attributes
_, i = varint(data, i)      # timestamp delta
od, i = varint(data, i)
kl, i = varint(data, i); key = data[i:i + kl]; i += kl
vl, i = varint(data, i); val = data[i:i + vl]; i += vl
assert (od, key, val) == (0, b"NY", b"20.0"), (od, key, val)
PY

# ---- consumer groups ---------------------------------------------------------
expect_exit 0 "group first read" -- L consume purchases --group g1 --from-beginning
[ "$(wc -l <"$T/out")" -eq 603 ] && ok || bad "group g1 first read: $(wc -l <"$T/out") records, wanted 603"
printf 'NY,1.5\nOH,2.5\n' | L produce purchases --key-separator , >/dev/null
expect_exit 0 "group resumes" -- L consume purchases --group g1 --from-beginning --print-key
[ "$(sort "$T/out")" = "NY	1.5
OH	2.5" ] && ok || bad "group g1 resumes with only the new records: $(cat "$T/out")"
expect_exit 0 "group at end" -- L consume purchases --group g1
[ -s "$T/out" ] && bad "group g1 has nothing new: $(cat "$T/out")" || ok
# --max-messages stops mid-fetch; the group resumes right after.
expect_exit 0 "max-messages" -- L consume purchases --group g2 --from-beginning --max-messages 5 --print-partition --print-offset
[ "$(wc -l <"$T/out")" -eq 5 ] && ok || bad "--max-messages 5 printed $(wc -l <"$T/out")"
cp "$T/out" "$T/g2a"
expect_exit 0 "max-messages rest" -- L consume purchases --group g2 --print-partition --print-offset
cat "$T/g2a" "$T/out" | sort >"$T/g2"
L consume purchases --from-beginning --print-partition --print-offset | sort >"$T/all"
cmp -s "$T/g2" "$T/all" && ok || bad "group g2 in two reads (5 + rest) differs from one read"
[ "$(sort -u "$T/g2" | wc -l)" -eq 605 ] && ok || bad "group g2 read duplicates"

# ---- line handling: empty lines, CRLF, no separator, bytes ------------------
L topic create lines >/dev/null
printf 'a,1\r\n\nnosep\r\n,c\nb,\n\377\376,\001bytes\n  last,no newline' >"$T/lines.txt"
expect_exit 0 "produce odd lines" -- L produce lines --key-separator , <"$T/lines.txt"
expect_exit 0 "consume odd lines" -- L consume lines --from-beginning --print-key --null-marker NULL
printf 'a\t1\nNULL\t\nNULL\tnosep\n\tc\nb\t\n\377\376\t\001bytes\n  last\tno newline\n' >"$T/lines.want"
cmp -s "$T/out" "$T/lines.want" && ok || bad "line handling (CRLF, empty line, no separator = no key, raw bytes): $(od -c "$T/out" | head)"
printf 'x\ny\n' | L produce lines --key K1 --partition 0 >/dev/null
expect_exit 0 "consume --key records" -- L consume lines --partition 0 --offset 7 --print-key --print-offset
[ "$(cat "$T/out")" = "7	K1	x
8	K1	y" ] && ok || bad "--key K1: $(cat "$T/out")"
# An empty stdin produces nothing and succeeds; empty lines are empty values.
expect_exit 0 "produce nothing" -- L produce lines </dev/null
L topic create blank >/dev/null
printf '\n\r\n\n' | L produce blank --verbose >"$T/out"
[ "$(cat "$T/out")" = "0 0
0 1
0 2" ] && ok || bad "three empty lines are three records: $(cat "$T/out")"
L consume blank --from-beginning --print-offset --null-marker NULL >"$T/out"
printf '0\t\n1\t\n2\t\n' | cmp -s - "$T/out" && ok || bad "empty lines read back as empty values: $(od -c "$T/out")"

# A line too large for the topic: lines before it are produced, none after.
L topic create small --config max.message.bytes=200 >/dev/null
python3 -c "print('first'); print('y' * 300); print('third')" >"$T/big.txt"
expect_exit 2 "oversized line" -- L produce small <"$T/big.txt"
expect_err "stdin line 2: .*max.message.bytes" "oversized line named by line number"
expect_exit 0 "after oversized" -- L consume small --from-beginning
[ "$(cat "$T/out")" = "first" ] && ok || bad "only the line before the oversized one is produced: $(cat "$T/out")"

# ---- --follow: timeout, SIGTERM, and the group's commit ---------------------
s0=$(date +%s)
expect_exit 0 "follow with timeout" -- L consume lines --from-beginning --follow --timeout-ms 300
[ "$(wc -l <"$T/out")" -eq 9 ] && ok || bad "--follow --timeout-ms prints what is there: $(wc -l <"$T/out")"
[ $(($(date +%s) - s0)) -lt 10 ] && ok || bad "--follow --timeout-ms 300 took too long"
"$MLPIPE" consume lines --data-dir "$D" --follow --group gf --from-beginning >"$T/fol" 2>"$T/fol.err" &
fpid=$!
sleep 1
# consume reads beside the writer: a producer in another process writes
# while --follow runs, and the follower prints the new record.
echo z | L produce lines >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && ok || bad "produce beside consume --follow: $(cat "$T/err")"
i=0
while [ "$(wc -l <"$T/fol")" -lt 10 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM "$fpid"
wait "$fpid"
[ $? -eq 0 ] && ok || bad "consume --follow ends with 0 on SIGTERM: $(cat "$T/fol.err")"
[ "$(wc -l <"$T/fol")" -eq 10 ] && [ "$(tail -n 1 "$T/fol")" = "z" ] && ok ||
    bad "--follow printed $(wc -l <"$T/fol") records before SIGTERM (want 9 and z)"
echo after | L produce lines
expect_exit 0 "group after follow" -- L consume lines --group gf
[ "$(cat "$T/out")" = "after" ] && ok || bad "group gf committed on SIGTERM and resumes: $(cat "$T/out")"

# ---- delete ----------------------------------------------------------------
expect_exit 0 "delete" -- L topic delete lines
expect_out "deleted topic lines" "delete says so"
expect_exit 0 "list after delete" -- L topic list
[ "$(cat "$T/out")" = "blank
purchases
small" ] && ok || bad "list after delete: $(cat "$T/out")"
[ -e "$D/topics/lines-0" ] && bad "delete left the partition directory" || ok
expect_exit 2 "consume deleted" -- L consume lines --from-beginning
expect_err "unknown topic 'lines'" "a deleted topic is unknown"
# A topic of the same name starts from offset 0 again.
L topic create lines >/dev/null && echo fresh | L produce lines --verbose >"$T/out"
[ "$(cat "$T/out")" = "0 0" ] && ok || bad "recreated topic starts at 0: $(cat "$T/out")"

# ---- compaction (the talk's example) -----------------------------------------
# Each record is its own batch; segment.bytes=100 puts each batch in its own
# segment, so NY 20.0 and NY 80.0 sit in closed segments and OH 100.0 in the
# active one.
L topic create pc --config cleanup.policy=compact --config segment.bytes=100 \
    --config min.cleanable.dirty.ratio=0.01 >/dev/null
for r in NY,20.0 NY,80.0 OH,100.0; do echo "$r" | L produce pc --key-separator ,; done
L topic compact pc >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "not implemented" "$T/err"; then
    echo "SKIP: compaction: $(cat "$T/err")"
else
    [ $rc -eq 0 ] && ok || bad "topic compact pc: exit $rc: $(cat "$T/err")"
    expect_exit 0 "consume compacted" -- L consume pc --from-beginning --print-offset --print-key
    [ "$(cat "$T/out")" = "1	NY	80.0
2	OH	100.0" ] && ok || bad "compacted pc from the beginning: $(cat "$T/out")"
fi
expect_exit 2 "compact a delete-policy topic" -- L topic compact purchases
expect_err "cleanup.policy" "compact needs cleanup.policy=compact"

# ---- retention, applied by produce at its end ---------------------------------
# Records stamped 1970 are past retention.ms at once: their segment goes.
L topic create old --config retention.ms=60000 >/dev/null
seq 1 50 | L produce old --timestamp 1000
L topic describe old | awk '$1 == "0" && NF == 5 { print $2, $3 }' >"$T/out"
[ "$(cat "$T/out")" = "50 50" ] && ok || bad "retention.ms: earliest and latest should both be 50: $(cat "$T/out")"
expect_exit 0 "consume expired" -- L consume old --from-beginning
[ -s "$T/out" ] && bad "expired records still served: $(head -3 "$T/out")" || ok
# retention.bytes keeps the newest segments only; what is left stays readable.
L topic create sized --config segment.bytes=1000 --config retention.bytes=2000 >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    seq 1 10 | sed 's/$/ padding padding padding padding padding padding/' | L produce sized
done
L topic describe sized | awk '$1 == "0" && NF == 5 { print $2, $3, $4 }' >"$T/sz"
read -r e_off l_off bytes <"$T/sz"
[ "$l_off" -eq 120 ] && [ "$e_off" -gt 0 ] && [ "$bytes" -lt 4000 ] && ok ||
    bad "retention.bytes: earliest > 0, latest 120, bytes bounded: $(cat "$T/sz")"
L consume sized --from-beginning --print-offset >"$T/out"
[ "$(head -1 "$T/out" | cut -f1)" = "$e_off" ] && [ "$(wc -l <"$T/out")" -eq $((120 - e_off)) ] && ok ||
    bad "after retention, consume starts at earliest $e_off: $(head -1 "$T/out")"

# ---- bad inputs ---------------------------------------------------------------
expect_exit 2 "consume unknown topic" -- L consume nope
expect_err "^mlpipe consume: .*unknown topic 'nope'" "unknown topic named"
expect_exit 2 "produce unknown topic" -- L produce nope </dev/null
expect_err "unknown topic 'nope'" "produce: unknown topic named"
expect_exit 2 "describe unknown topic" -- L topic describe nope
expect_exit 2 "delete unknown topic" -- L topic delete nope
expect_exit 2 "create existing" -- L topic create purchases
expect_err "already exists" "create existing topic"
expect_exit 2 "bad config key" -- L topic create bad1 --config foo.bar=1
expect_err "foo.bar" "bad config key named"
expect_exit 2 "bad config value" -- L topic create bad2 --config cleanup.policy=sometimes
expect_err "cleanup.policy" "bad config value named"
expect_exit 2 "bad segment.bytes" -- L topic create bad3 --config segment.bytes=abc
expect_exit 2 "config without =" -- L topic create bad4 --config retention.ms
L topic list >"$T/out"
grep -q bad "$T/out" && bad "a failed create left a topic behind: $(cat "$T/out")" || ok
expect_exit 2 "zero partitions" -- L topic create bad5 --partitions 0
expect_err "--partitions" "zero partitions named"
expect_exit 2 "too many partitions" -- L topic create bad6 --partitions 10001
expect_exit 2 "non-numeric partitions" -- L topic create bad7 --partitions three
expect_exit 2 "invalid topic name /" -- L topic create 'bad/name'
expect_err "invalid topic name" "invalid topic name explained"
expect_exit 2 "invalid topic name .." -- L topic create ..
expect_exit 2 "topic name too long" -- L topic create "$(python3 -c "print('a' * 250)")"
expect_exit 2 "produce bad partition" -- L produce purchases --partition 3 </dev/null
expect_err "partitions 0..2" "produce --partition out of range"
expect_exit 2 "consume bad partition" -- L consume purchases --partition 9
expect_err "partitions 0..2" "consume --partition out of range"
expect_exit 2 "partition not a number" -- L consume purchases --partition x
expect_exit 2 "negative partition" -- L consume purchases --partition -1
expect_exit 2 "offset out of range" -- L consume purchases --partition 0 --offset 999
expect_err "purchases-0" "offset out of range names topic-partition"
expect_exit 2 "offset without partition" -- L consume purchases --offset 3
expect_exit 2 "offset and from-beginning" -- L consume purchases --offset 0 --partition 0 --from-beginning
expect_exit 2 "bad offset" -- L consume purchases --partition 0 --offset -5
expect_exit 2 "max-messages 0" -- L consume purchases --max-messages 0
expect_exit 2 "key and key-separator" -- L produce purchases --key a --key-separator , </dev/null
expect_exit 2 "empty key-separator" -- L produce purchases --key-separator '' </dev/null
expect_exit 2 "header without =" -- L produce purchases --header oops </dev/null
expect_exit 2 "bad timestamp" -- L produce purchases --timestamp yesterday </dev/null
expect_exit 2 "unknown option" -- L consume purchases --from-start
expect_exit 2 "no topic" -- L consume
expect_exit 2 "unknown subcommand" -- L topic frob
expect_exit 2 "no subcommand" -- "$MLPIPE" topic
# Data directories that cannot be used.
expect_exit 2 "missing data dir" -- "$MLPIPE" consume purchases --data-dir "$T/nowhere"
expect_err "does not exist" "missing data dir explained"
[ -e "$T/nowhere" ] && bad "a read command created the data dir" || ok
touch "$T/afile"
expect_exit 2 "data dir is a file" -- "$MLPIPE" topic list --data-dir "$T/afile"
expect_err "not a directory" "data dir that is a file"
# $MLPIPE_DATA_DIR is the default.
MLPIPE_DATA_DIR=$D "$MLPIPE" topic list >"$T/out" 2>&1 && grep -q purchases "$T/out" && ok ||
    bad "MLPIPE_DATA_DIR is used when --data-dir is absent: $(cat "$T/out")"
# Permissions: root passes every permission check, so run as nobody then.
mkdir -p "$T/ro" && chmod 555 "$T/ro"
as_user() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
    chmod 711 "$T"
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
fi
expect_exit 2 "unwritable data dir" -- as_user "$MLPIPE" topic list --data-dir "$T/ro"
expect_err "Permission denied" "unwritable data dir explained"
expect_exit 2 "uncreatable data dir" -- as_user "$MLPIPE" topic create x --data-dir "$T/ro/sub"
expect_err "cannot create data directory" "uncreatable data dir explained"
chmod 700 "$T/ro"
# Kafka refuses a minimum compaction lag above the maximum, at create and alter.
expect_exit 2 "min lag above max lag" -- L topic create lags --config cleanup.policy=compact \
    --config min.compaction.lag.ms=10000 --config max.compaction.lag.ms=5000
expect_err "min.compaction.lag.ms.*max.compaction.lag.ms|max.compaction.lag.ms.*min.compaction.lag.ms" "names both keys"
L topic list >"$T/out" 2>&1
grep -q "^lags" "$T/out" && bad "the refused topic was created" || ok
finish
