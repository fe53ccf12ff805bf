-- GROUP BY over a table with WHERE and HAVING: an update WHERE no longer
-- admits takes the key's previous row out of its group, like a deletion;
-- a group HAVING refuses is a tombstone. AVG and HISTOGRAM take values
-- back out too (a value counted no more leaves the histogram).
CREATE TABLE users (id VARCHAR PRIMARY KEY, team VARCHAR, role VARCHAR, age INT)
  WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE teams AS
  SELECT team, AVG(age) AS mean_age, HISTOGRAM(role) AS roles
  FROM users WHERE age >= 18 GROUP BY team HAVING COUNT(*) < 3;
