-- GROUP BY over a table, as Kafka Streams' KGroupedTable aggregates: an
-- update of a key first takes the key's previous row out of its group
-- (the aggregates' undo), then adds the new row to its group. A row that
-- moves writes both groups, the one it left first; an update within the
-- same group writes it once; a deletion only takes the row out; a group
-- left empty stays, with a count of 0, as ksqlDB writes it.
CREATE TABLE accounts (id INT PRIMARY KEY, region VARCHAR, balance INT)
  WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE by_region AS
  SELECT region, COUNT(*) AS n, SUM(balance) AS total, COLLECT_LIST(id) AS ids
  FROM accounts GROUP BY region EMIT CHANGES;
