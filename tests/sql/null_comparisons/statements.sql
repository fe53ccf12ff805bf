-- NULL in comparisons, as ksqlDB evaluates them (not SQL's three-valued
-- logic): a comparison with a NULL operand is FALSE, never NULL. ksqlDB's
-- generated code answers false when either side is null, and its own
-- test case "null - null equals" expects `ID = COL0` to be false when
-- either is null; IN never matches a NULL ("SQL NULL never matches
-- anything", its InListEvaluator), so `x IN (1, NULL)` is FALSE and
-- `x NOT IN (1, NULL)` TRUE unless x is 1; BETWEEN is two comparisons.
-- Hence NOT (col = 1) is TRUE for a NULL col, and WHERE NOT (...) keeps
-- the row that WHERE col <> 1 drops. (`col = NULL`, `NULL = NULL` and
-- `col > NULL` are refused when the statement is accepted: "Comparison
-- with NULL not supported", tests/e2e/test_sql_lambda.sh.)
CREATE STREAM readings (id INT KEY, col0 BIGINT, name VARCHAR)
  WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM compared AS
  SELECT id,
         id = col0 AS eq,
         col0 <> 1 AS ne,
         col0 > 5 AS gt,
         name < 'm' AS lt_str,
         NOT (col0 = 1) AS not_eq,
         col0 IN (1, NULL) AS in_null,
         col0 NOT IN (1, NULL) AS not_in_null,
         col0 BETWEEN 1 AND 10 AS btw,
         col0 NOT BETWEEN 1 AND 10 AS not_btw,
         col0 IS NULL AS is_null,
         col0 IS DISTINCT FROM 1 AS distinct_1
  FROM readings;
CREATE STREAM not_one AS SELECT id, col0 FROM readings WHERE col0 <> 1;
CREATE STREAM not_equal_one AS SELECT id, col0 FROM readings WHERE NOT (col0 = 1);
