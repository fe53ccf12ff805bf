CREATE STREAM TEST (ID BIGINT KEY, VALUE bigint) WITH (kafka_topic='test_topic', value_format='DELIMITED');
CREATE TABLE S2 as SELECT ID, max(value) as max, windowstart as ws, windowend as we FROM test WINDOW SESSION (30 SECONDS) group by id;
