-- A table as a query's source: CREATE TABLE AS SELECT over a table filters
-- and projects its changelog. Each update that matches writes the key's new
-- row; an update that does not match (the row left the result, or never
-- was in it) and a deletion write a tombstone, as Kafka Streams' table
-- filter forwards them.
CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR, balance DOUBLE)
  WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE rich AS SELECT id, UCASE(owner) AS who, balance FROM accounts WHERE balance >= 100;
