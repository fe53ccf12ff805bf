-- String functions over a JSON stream, with empty strings and NULLs
-- (ksqlDB: a NULL argument gives NULL, except CONCAT, which skips NULLs).
CREATE STREAM words (id INT KEY, s VARCHAR, t VARCHAR) WITH (kafka_topic='words', value_format='JSON');
CREATE STREAM string_fns AS SELECT id,
  UCASE(s) AS up, LCASE(s) AS low, LEN(s) AS n, SUBSTRING(s, 2, 3) AS sub, SUBSTRING(s, 3) AS tail,
  CONCAT(s, '-', t) AS cat, TRIM(t) AS trimmed, REPLACE(s, 'l', 'L') AS rep,
  LPAD(s, 8, '*') AS lp, RPAD(s, 2, '*') AS rp, SPLIT(t, ' ') AS parts
  FROM words EMIT CHANGES;
