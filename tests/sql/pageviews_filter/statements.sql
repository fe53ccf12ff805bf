-- The talk's pageviews: a DELIMITED stream and a persistent query keeping
-- User_1's views (SELECT *: every column, in order).
CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
CREATE STREAM pageviews_user1 AS SELECT * FROM pageviews WHERE userid = 'User_1';
