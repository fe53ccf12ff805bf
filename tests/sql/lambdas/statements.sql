-- Lambdas (ksqlDB 0.17+) in a persistent query: TRANSFORM, FILTER and
-- REDUCE over arrays and maps, with NULL collections, NULL elements and
-- NULL initial states; a lambda parameter shadowing a column (QTY), a
-- column read inside a lambda (BONUS), and nested lambdas.
CREATE STREAM carts (id VARCHAR KEY, qty ARRAY<INT>, prices MAP<VARCHAR, DOUBLE>,
                     bonus INT, words ARRAY<ARRAY<VARCHAR>>)
  WITH (KAFKA_TOPIC='carts', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM totals AS
  SELECT id,
         TRANSFORM(qty, qty => qty * 2) AS doubled,
         TRANSFORM(qty, x => x + bonus) AS with_bonus,
         FILTER(qty, x => x > 1) AS many,
         REDUCE(qty, 0, (s, x) => s + x) AS total,
         REDUCE(qty, bonus, (s, x) => s + x) AS total_from_bonus,
         TRANSFORM(prices, (k, v) => UCASE(k), (k, v) => ROUND(v * 1.1, 2)) AS taxed,
         FILTER(prices, (k, v) => v >= 10) AS dear,
         REDUCE(prices, '', (s, k, v) => s + k) AS names,
         TRANSFORM(words, ws => REDUCE(ws, '', (s, w) => s + w)) AS joined
  FROM carts;
