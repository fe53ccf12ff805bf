-- INSERT INTO ... SELECT: persistent queries (INSERTQUERY_<n>) writing
-- into an existing stream, here merging two streams into the one a CSAS
-- writes; each query's result must have the target's schema. Two queries
-- write ORDERS at once, so it has two partitions: the runner then compares
-- in timestamp order.
CREATE STREAM web (id INT KEY, item VARCHAR, qty INT)
  WITH (KAFKA_TOPIC='web', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM shop (id INT KEY, article VARCHAR, n BIGINT)
  WITH (KAFKA_TOPIC='shop', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM orders WITH (PARTITIONS=2) AS SELECT id, item, qty, 'web' AS channel FROM web;
INSERT INTO orders SELECT id, article AS item, CAST(n AS INT) AS qty, 'shop' AS channel FROM shop WHERE n > 0;
