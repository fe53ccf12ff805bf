CREATE OR REPLACE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, name STRING, tags ARRAY<STRING>,
  addr STRUCT<street STRING, `No.` INT>, attrs MAP<STRING, DECIMAL(10, 2)>, h BYTES HEADER('trace'))
  WITH (kafka_topic = 'users', value_format = 'JSON', partitions = 3);
