-- Table-table joins on the primary keys: the result is a table, and every
-- change on either side writes the key's new result, or a tombstone when
-- the result stops existing (INNER: a side deleted; LEFT: the left row
-- deleted). A result's time is the later of the two rows'. FULL OUTER's
-- key is the synthetic ROWKEY.
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR)
  WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE accounts (id INT PRIMARY KEY, balance DOUBLE)
  WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE both_sides AS
  SELECT c.id, name, balance FROM customers c JOIN accounts a ON c.id = a.id;
CREATE TABLE with_left AS
  SELECT c.id, name, balance FROM customers c LEFT JOIN accounts a ON c.id = a.id;
CREATE TABLE with_all AS
  SELECT ROWKEY AS id, name, balance FROM customers c FULL OUTER JOIN accounts a ON c.id = a.id;
