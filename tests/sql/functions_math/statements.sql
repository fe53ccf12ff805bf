-- Math functions and DECIMAL arithmetic with ksqlDB's result types: ROUND
-- of a DOUBLE is a BIGINT, ROUND to n places a DOUBLE, CEIL and FLOOR keep
-- the DOUBLE; DECIMAL sums and products keep exact digits.
CREATE STREAM nums (id INT KEY, d DOUBLE, i INT, p DECIMAL(6, 2), q DECIMAL(4, 1)) WITH (kafka_topic='nums', value_format='JSON');
CREATE STREAM math AS SELECT id,
  ABS(d) AS abs_d, ABS(i) AS abs_i, ROUND(d) AS r0, ROUND(d, 1) AS r1, CEIL(d) AS c, FLOOR(d) AS f,
  SIGN(d) AS sg, SQRT(ABS(d)) AS sq, GREATEST(i, 3, 1) AS gr, LEAST(i, 3, 1) AS le,
  p + q AS dsum, p * q AS dprod, p - q AS ddiff, CAST(p AS DOUBLE) AS pd, CAST(d AS DECIMAL(8, 3)) AS dd
  FROM nums EMIT CHANGES;
