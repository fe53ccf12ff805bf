-- KAFKA STRING keys carried from the source to the sink (the key column
-- stays the key when selected), null keys included.
CREATE STREAM users (userid VARCHAR KEY, name VARCHAR, age INT)
  WITH (KAFKA_TOPIC='users', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM adults AS SELECT * FROM users WHERE age >= 18;
CREATE STREAM names WITH (KAFKA_TOPIC='user_names', VALUE_FORMAT='DELIMITED') AS
  SELECT userid, LCASE(name) AS name FROM users;
