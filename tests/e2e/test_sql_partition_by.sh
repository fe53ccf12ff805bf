# PARTITION BY: the re-keyed records land in the partitions Kafka's murmur2
# partitioner gives their new keys (checked against a Python murmur2), the
# output's schema (DESCRIBE), a push query with PARTITION BY, and the
# errors: a table, a key missing from the projection, GROUP BY with it.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "a stream re-keyed into 4 partitions" -- sql --run-for 2 -e "
  CREATE STREAM views (id INT KEY, userid VARCHAR, page VARCHAR)
    WITH (KAFKA_TOPIC='views', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);
  SET 'auto.offset.reset'='earliest';
  CREATE STREAM by_user WITH (PARTITIONS=4) AS SELECT * FROM views PARTITION BY userid;
  INSERT INTO views (id, userid, page) VALUES (1, 'alice', 'a');
  INSERT INTO views (id, userid, page) VALUES (2, 'bob', 'b');
  INSERT INTO views (id, userid, page) VALUES (3, 'carol', 'c');
  INSERT INTO views (id, userid, page) VALUES (4, 'dave', 'd');
  INSERT INTO views (id, userid, page) VALUES (5, 'alice', 'e');"
expect_exit 0 "DESCRIBE" -- sql -e "DESCRIBE by_user;"
expect_out "^\| USERID +\| VARCHAR\(STRING\)|^\| USERID +\| STRING +\| \(key\)" "the new key"
expect_out "^\| ID +\| (INTEGER|INT) +\| +\|" "the old key is a value"
expect_exit 0 "PRINT" -- sql -e "PRINT 'BY_USER' FROM BEGINNING LIMIT 5;"
python3 - "$T/out" <<'PY' && ok || bad "partitions differ from Kafka's: $(cat "$T/out")"
import sys
def murmur2(data):
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    n = len(data) // 4
    for i in range(n):
        k = int.from_bytes(data[4*i:4*i+4], 'little')
        k = (k * m) & 0xffffffff; k ^= k >> r; k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff; h ^= k
    rest = data[4*n:]
    if len(rest) == 3: h ^= rest[2] << 16
    if len(rest) >= 2: h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]; h = (h * m) & 0xffffffff
    h ^= h >> 13; h = (h * m) & 0xffffffff; h ^= h >> 15
    return h
seen = 0
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(cells) != 4 or not cells[0].isdigit():
        continue
    part, key = int(cells[1]), cells[2]
    want = (murmur2(key.encode()) & 0x7fffffff) % 4
    assert part == want, (key, part, want)
    seen += 1
assert seen == 5, seen
PY
parts=$(grep -o '^| [0-9]* *| [0-9] *| alice' "$T/out" | awk -F'|' '{print $3}' | sort -u | wc -l)
[ "$parts" -eq 1 ] && ok || bad "one key, one partition: $(cat "$T/out")"

expect_exit 0 "a push query with PARTITION BY" -- sql -e "SET 'auto.offset.reset'='earliest';
  SELECT userid, id FROM views PARTITION BY userid EMIT CHANGES LIMIT 2;"
expect_out "^\| alice +\| 1 +\|" "rows"

# ---- errors -----------------------------------------------------------------
expect_exit 2 "a table" -- sql -e "CREATE TABLE t2 AS SELECT * FROM t PARTITION BY v;"
expect_err "line 1:[0-9]+: PARTITION BY is not supported on tables: T is a table" "refused"
expect_exit 2 "the key not selected" -- sql -e "CREATE STREAM s2 AS SELECT id FROM views PARTITION BY userid;"
expect_err "Key missing from projection \(ie, SELECT\)\. The query used to build \`S2\` must include the partitioning expression" "ksqlDB's error"
expect_exit 2 "with GROUP BY" -- sql -e "CREATE TABLE s3 AS SELECT userid, COUNT(*) FROM views GROUP BY userid PARTITION BY userid;"
expect_err "PARTITION BY and GROUP BY" "refused"
expect_exit 2 "an unknown column" -- sql -e "CREATE STREAM s4 AS SELECT * FROM views PARTITION BY nope;"
expect_err "NOPE" "names it"
expect_exit 0 "nothing created by the failures" -- sql -e "SHOW STREAMS;"
grep -Eq "^\| S[234] " "$T/out" && bad "created" || ok
finish
