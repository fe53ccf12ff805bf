-- A JSON stream projected through expressions and functions: UCASE,
-- CONCAT, CASE, arithmetic with ksqlDB's result types, CAST, struct and
-- array access.
CREATE STREAM orders (id BIGINT KEY, customer VARCHAR, units INT, price DOUBLE,
                      address STRUCT<city VARCHAR, zip VARCHAR>, tags ARRAY<VARCHAR>)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM order_lines AS
  SELECT id,
         UCASE(customer) AS customer,
         CONCAT(customer, '@', address->city) AS who_where,
         units * price AS total,
         units / 2 AS half_units,
         units % 3 AS rest,
         CAST(units AS VARCHAR) || ' units' AS label,
         CAST(price AS INT) AS whole_price,
         CASE WHEN units >= 10 THEN 'bulk' WHEN units > 1 THEN 'some' ELSE 'single' END AS order_size,
         tags[1] AS first_tag
  FROM orders
  WHERE price > 0;
