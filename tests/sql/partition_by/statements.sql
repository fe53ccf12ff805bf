-- PARTITION BY re-keys a stream: the key column becomes the expression
-- (a column keeps its name and leaves the value; the old key joins the
-- value), and each record goes to the partition Kafka's partitioner picks
-- for its new key. The runner compares a multi-partition topic in
-- timestamp order.
CREATE STREAM views (id INT KEY, userid VARCHAR, page VARCHAR)
  WITH (KAFKA_TOPIC='views', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM by_user WITH (PARTITIONS=3) AS SELECT * FROM views PARTITION BY userid;
CREATE STREAM by_page AS SELECT UCASE(page) AS p, id FROM views PARTITION BY UCASE(page);
