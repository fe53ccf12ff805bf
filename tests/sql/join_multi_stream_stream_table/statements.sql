-- A stream-stream join followed by a table: each result of the windowed
-- join (FULL OUTER without GRACE PERIOD: unmatched records at once) looks
-- the table up by O.ID. The payment at 11 has no order yet, so O.ID is
-- NULL and the row is dropped (ksqlDB repartitions by O.ID); order 2 has
-- no label (INNER). SELECT * names every column QUAL_COL and the key is
-- O_ID.
CREATE STREAM orders (id INT KEY, item VARCHAR)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM payments (id INT KEY, amount DOUBLE)
  WITH (KAFKA_TOPIC='payments', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE labels (id INT PRIMARY KEY, label VARCHAR)
  WITH (KAFKA_TOPIC='labels', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM paid AS
  SELECT * FROM orders o FULL OUTER JOIN payments p WITHIN 10 SECONDS ON o.id = p.id
  JOIN labels l ON o.id = l.id;
