-- Every built-in aggregate in one GROUP BY: each input record updates its
-- group's row. COUNT(col), SUM, AVG, MIN and MAX skip NULLs; STDDEV_SAMP
-- is read once a group has two values (HAVING).
CREATE STREAM sales (id INT KEY, region VARCHAR, amount INT, item VARCHAR) WITH (kafka_topic='sales', value_format='JSON');
CREATE TABLE by_region AS SELECT region,
  COUNT(*) AS n, COUNT(amount) AS n_amount, SUM(amount) AS total, AVG(amount) AS mean,
  MIN(amount) AS lo, MAX(amount) AS hi, COUNT_DISTINCT(item) AS kinds,
  COLLECT_LIST(item) AS items, COLLECT_SET(item) AS item_set, TOPK(amount, 2) AS top2,
  TOPKDISTINCT(item, 2) AS top_items, EARLIEST_BY_OFFSET(item) AS first_item,
  LATEST_BY_OFFSET(item) AS last_item, HISTOGRAM(item) AS hist
  FROM sales GROUP BY region EMIT CHANGES;
CREATE TABLE spread AS SELECT region, STDDEV_SAMP(amount) AS sd
  FROM sales GROUP BY region HAVING COUNT(amount) > 1 EMIT CHANGES;
