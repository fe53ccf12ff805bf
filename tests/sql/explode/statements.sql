-- EXPLODE in a persistent query: one output row per element, scalar
-- columns repeated; two table functions zip (the row count is the
-- longest's, the shorter one gives NULL past its end); a NULL or empty
-- array gives no rows (a record whose every table function gives none
-- produces nothing); an expression over a table function is computed
-- per output row; a struct field of each element (ksqlDB's
-- EXPLODE(x)->field).
CREATE STREAM orders (id INT KEY, items ARRAY<VARCHAR>, qty ARRAY<INT>,
                      parts ARRAY<STRUCT<name VARCHAR, n INT>>)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM lines AS
  SELECT id, EXPLODE(items) AS item, EXPLODE(qty) AS q, EXPLODE(qty) * 10 AS q10
  FROM orders;
CREATE STREAM part_names AS
  SELECT id, EXPLODE(parts)->name AS part, UCASE(EXPLODE(parts)->name) AS upper_part
  FROM orders WHERE id < 3;
