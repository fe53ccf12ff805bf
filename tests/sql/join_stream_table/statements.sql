-- Stream-table joins: each pageview looks up the user as the table stood
-- at that moment (inputs interleaved in time: updates and a tombstone in
-- between). INNER drops views of unknown users, LEFT keeps them with NULLs;
-- table updates emit nothing. The result's key is the join column
-- (PV_USERID: USERID is a column of both sources, so ksqlDB prefixes it),
-- and SELECT * names every column ALIAS_COLUMN.
CREATE STREAM pageviews (pageid VARCHAR, userid VARCHAR)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE TABLE users (userid VARCHAR PRIMARY KEY, name VARCHAR, region VARCHAR)
  WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM enriched AS
  SELECT pv.userid, pv.pageid, u.name, u.region
  FROM pageviews pv JOIN users u ON pv.userid = u.userid;
CREATE STREAM enriched_left AS
  SELECT * FROM pageviews pv LEFT OUTER JOIN users u ON pv.userid = u.userid;
