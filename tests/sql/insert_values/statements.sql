-- The statements make their own input with INSERT VALUES (the input file
-- is empty). As in ksql-test-runner, an expected timestamp of 0 then
-- matches any timestamp (rows inserted without ROWTIME get the wall clock),
-- and a ROWTIME given in the INSERT is compared exactly.
CREATE STREAM payments (id INT KEY, amount DECIMAL(10, 2), currency VARCHAR)
  WITH (KAFKA_TOPIC='payments', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM big_payments AS
  SELECT id, amount, amount * 2 AS doubled, UCASE(currency) AS currency
  FROM payments WHERE amount >= 100;
INSERT INTO payments (id, amount, currency) VALUES (1, 250.50, 'eur');
INSERT INTO payments (id, amount, currency) VALUES (2, 99.99, 'usd');
INSERT INTO payments (ROWTIME, id, amount, currency) VALUES (1700000000000, 3, 100, 'gbp');
