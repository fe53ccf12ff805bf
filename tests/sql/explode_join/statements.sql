-- EXPLODE over a stream-table join: each joined row gives one row per
-- element (the table's columns repeat); an empty array gives none.
CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR) WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM orders (uid VARCHAR KEY, items ARRAY<VARCHAR>) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM lines AS SELECT o.uid, u.name, EXPLODE(o.items) AS item FROM orders o LEFT JOIN users u ON o.uid = u.id;
