-- Stream-stream joins WITHIN 1 MINUTE, without GRACE PERIOD: ksqlDB's
-- older semantics, where a LEFT join emits the NULL row as soon as a left
-- record finds no match, and the match later as well. Shipments arrive out
-- of order (70 s and 5 s after stream time has passed them) and still join
-- within the window; shipment 2 comes 70 s after its order, too late.
CREATE STREAM orders (orderid INT KEY, item VARCHAR)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM shipments (orderid INT KEY, warehouse VARCHAR)
  WITH (KAFKA_TOPIC='shipments', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM shipped AS
  SELECT o.orderid, o.item, s.warehouse
  FROM orders o JOIN shipments s WITHIN 1 MINUTE ON o.orderid = s.orderid;
CREATE STREAM maybe_shipped AS
  SELECT o.orderid, item, warehouse
  FROM orders o LEFT JOIN shipments s WITHIN 1 MINUTE ON o.orderid = s.orderid;
