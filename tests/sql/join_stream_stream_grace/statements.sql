-- Stream-stream joins with GRACE PERIOD: newer ksqlDB semantics. An
-- unmatched record's NULL row is emitted only once its window has closed
-- (its time + the window + the grace period has passed in stream time:
-- the largest time seen), in time order, and not at all when a match comes
-- first. FULL OUTER has the synthetic key ROWKEY (the first non-null join
-- key). The last shipment is 199 s late, past every window: dropped.
CREATE STREAM orders (orderid INT KEY, item VARCHAR)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM shipments (orderid INT KEY, warehouse VARCHAR)
  WITH (KAFKA_TOPIC='shipments', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM left_graced AS
  SELECT o.orderid, o.item, s.warehouse
  FROM orders o LEFT JOIN shipments s WITHIN 1 MINUTE GRACE PERIOD 10 SECONDS ON o.orderid = s.orderid;
CREATE STREAM all_graced AS
  SELECT ROWKEY AS id, o.item, s.warehouse
  FROM orders o FULL OUTER JOIN shipments s WITHIN 1 MINUTE GRACE PERIOD 10 SECONDS
  ON o.orderid = s.orderid;
