-- Topics with several partitions: records are spread by key (Kafka's
-- murmur2 partitioner) or round robin, and Kafka orders them only within a
-- partition, so the runner compares a topic of several partitions in
-- timestamp order (then partition, then offset).
CREATE STREAM trades (symbol VARCHAR KEY, qty INT, px DOUBLE)
  WITH (KAFKA_TOPIC='trades', VALUE_FORMAT='JSON', PARTITIONS=3);
CREATE STREAM notional AS SELECT symbol, qty * px AS value FROM trades WHERE qty > 0;
CREATE STREAM anonymous WITH (KAFKA_TOPIC='anon', PARTITIONS=2) AS SELECT qty FROM trades;
