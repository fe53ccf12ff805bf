-- KAFKA BIGINT keys (8 bytes big-endian, exact to 64 bits) and a KAFKA
-- DOUBLE value (one primitive column, IEEE 754 big-endian), carried into
-- a sink that inherits both formats.
CREATE STREAM temps (device BIGINT KEY, reading DOUBLE)
  WITH (KAFKA_TOPIC='temps', KEY_FORMAT='KAFKA', VALUE_FORMAT='KAFKA', PARTITIONS=1);
CREATE STREAM hot AS SELECT device, reading * 2 AS doubled FROM temps WHERE reading > 20;
