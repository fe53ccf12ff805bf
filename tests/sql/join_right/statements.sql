-- RIGHT [OUTER] JOIN, the mirror of LEFT: every right record (stream) or
-- right row (table) is in the result, with NULLs for a missing left side.
-- Stream-stream with GRACE PERIOD: an unmatched shipment waits until its
-- window has closed (shipment 5 is matched by a later order before then;
-- shipment 6 is not). Table-table: the result exists while the right row
-- does. The key is the right join column.
CREATE STREAM orders (orderid INT KEY, item VARCHAR)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM shipments (orderid INT KEY, warehouse VARCHAR)
  WITH (KAFKA_TOPIC='shipments', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM all_shipments AS
  SELECT s.orderid AS id, o.item, s.warehouse
  FROM orders o RIGHT OUTER JOIN shipments s WITHIN 1 MINUTE GRACE PERIOD 1 SECOND
  ON o.orderid = s.orderid;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR)
  WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE accounts (id INT PRIMARY KEY, balance DOUBLE)
  WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE all_accounts AS
  SELECT a.id AS id, name, balance FROM customers c RIGHT JOIN accounts a ON c.id = a.id;
