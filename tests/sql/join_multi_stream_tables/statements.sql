-- Multi-way joins of a stream with tables: a left-deep chain, each table
-- looked up as of the order's time by a column of the row so far. When
-- the chain stays on one key (CREDITED), any of its join columns is the
-- key; joining on another column (a repartition in ksqlDB) keys the result
-- by it, and a NULL there drops the row even in a LEFT join (PRICED's
-- order 102). INNER drops rows without a match (ENRICHED's 102 and 105),
-- LEFT keeps them with NULLs.
CREATE STREAM orders (id INT KEY, userid INT, itemid VARCHAR, qty INT)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE users (userid INT PRIMARY KEY, name VARCHAR, regionid VARCHAR)
  WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE regions (regionid VARCHAR PRIMARY KEY, rname VARCHAR)
  WITH (KAFKA_TOPIC='regions', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE items (itemid VARCHAR PRIMARY KEY, price DOUBLE)
  WITH (KAFKA_TOPIC='items', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE credits (userid INT PRIMARY KEY, amount INT)
  WITH (KAFKA_TOPIC='credits', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM enriched AS
  SELECT u.regionid AS region, o.id, u.name, r.rname
  FROM orders o JOIN users u ON o.userid = u.userid
  LEFT JOIN regions r ON u.regionid = r.regionid;
CREATE STREAM priced AS
  SELECT o.itemid AS item, o.id, u.name, i.price
  FROM orders o LEFT JOIN users u ON o.userid = u.userid
  LEFT OUTER JOIN items i ON o.itemid = i.itemid;
CREATE STREAM credited AS
  SELECT c.userid, o.id, u.name, c.amount
  FROM orders o JOIN users u ON o.userid = u.userid
  INNER JOIN credits c ON u.userid = c.userid;
