-- Records that cannot be decoded are skipped, and each goes to the
-- processing log (mlpipe_processing_log, as ksqlDB's) naming the query,
-- topic, partition, offset and what was wrong; the query keeps going.
CREATE STREAM clicks (ts BIGINT, userid VARCHAR, score INT)
  WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
CREATE STREAM good_clicks AS SELECT userid, score * 10 AS points FROM clicks;
