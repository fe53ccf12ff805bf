-- Operators and accessors: arithmetic across INT, BIGINT and DOUBLE, CASE,
-- CAST (a bad cast gives NULL), struct ->, 1-based and negative array
-- indexes (out of range is NULL), map lookup, IS NULL, COALESCE, IFNULL,
-- all with NULL inputs; then BETWEEN (inclusive), IN and LIKE with % and _
-- over non-NULL rows.
CREATE STREAM src (id INT KEY, i INT, b BIGINT, d DOUBLE, s VARCHAR,
  addr STRUCT<city VARCHAR, zip INT>, tags ARRAY<VARCHAR>, m MAP<VARCHAR, INT>)
  WITH (kafka_topic='src', value_format='JSON');
CREATE STREAM exprs AS SELECT id,
  i / 2 AS half, i % 3 AS rem, b * 2 + i AS mixed, d / 2 AS dhalf, -i AS neg,
  CASE WHEN i > 5 THEN 'big' WHEN i > 1 THEN 'mid' ELSE 'small' END AS bucket,
  CAST(s AS INT) AS s_int, CAST(d AS BIGINT) AS d_big, CAST(i AS VARCHAR) AS i_str,
  addr->city AS city, tags[1] AS first_tag, tags[-1] AS last_tag, tags[5] AS no_tag,
  m['k'] AS mk, s IS NULL AS s_null, COALESCE(s, 'none') AS s_or, IFNULL(i, 0) AS i_or
  FROM src EMIT CHANGES;
CREATE STREAM preds AS SELECT id,
  i BETWEEN 2 AND 5 AS btw, i IN (1, 7) AS inl, s LIKE 'a%' AS starts_a, s LIKE '_b_' AS b_mid
  FROM src WHERE i IS NOT NULL EMIT CHANGES;
