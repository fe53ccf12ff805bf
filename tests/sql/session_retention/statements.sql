-- RETENTION keeps sessions in the store past gap + grace, so a record
-- within the gap of an older session still merges with it (if the merged
-- session is not late); by default that session has left the store.
CREATE STREAM TEST (ID BIGINT KEY, VALUE BIGINT) WITH (kafka_topic='test_topic', value_format='DELIMITED');
CREATE TABLE KEPT AS SELECT ID, COUNT(*) AS N, WINDOWSTART AS WS FROM TEST
  WINDOW SESSION (10 SECONDS, RETENTION 1 HOUR, GRACE PERIOD 0 SECONDS) GROUP BY ID;
CREATE TABLE GONE AS SELECT ID, COUNT(*) AS N, WINDOWSTART AS WS FROM TEST
  WINDOW SESSION (10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY ID;
