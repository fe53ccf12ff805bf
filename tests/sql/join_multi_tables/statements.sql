-- Three tables joined on their primary key: the result is a table, and a
-- change to any of them writes the key's new result (the later of the
-- joined rows' times), or a tombstone when it stops existing. The chain
-- is left-deep: in WITH_ADDRESS the INNER join of the first two decides
-- and the address is optional; in BY_ADDRESS the RIGHT join keeps every
-- address, with the customer (and their account, LEFT) where there is one.
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR)
  WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE accounts (id INT PRIMARY KEY, balance DOUBLE)
  WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE addresses (id INT PRIMARY KEY, city VARCHAR)
  WITH (KAFKA_TOPIC='addresses', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE with_address AS
  SELECT c.id, name, balance, city
  FROM customers c JOIN accounts a ON c.id = a.id LEFT JOIN addresses d ON a.id = d.id;
CREATE TABLE by_address AS
  SELECT d.id AS id, name, balance, city
  FROM customers c LEFT JOIN accounts a ON c.id = a.id RIGHT JOIN addresses d ON c.id = d.id;
