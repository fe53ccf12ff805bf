-- GROUP BY into a table: ksql-test-runner sees every intermediate result
-- (one update per input record, as with cache.max.bytes.buffering=0), and
-- so does the engine: each record updates its group and writes the row.
CREATE STREAM clicks (userid VARCHAR KEY, page VARCHAR, ms INT)
  WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE per_user AS SELECT userid, COUNT(*) AS n, SUM(ms) AS total_ms FROM clicks GROUP BY userid;
