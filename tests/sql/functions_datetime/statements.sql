-- Date and time: TIMESTAMPTOSTRING and STRINGTOTIMESTAMP with a time zone,
-- FORMAT_DATE, TIMESTAMPADD, UNIX_TIMESTAMP of a TIMESTAMP, and a TIMESTAMP
-- column as the stream's event time (ROWTIME follows it).
CREATE STREAM events (id INT KEY, ts BIGINT, t TIMESTAMP, s VARCHAR)
  WITH (kafka_topic='events', value_format='JSON', timestamp='t');
CREATE STREAM times AS SELECT id,
  TIMESTAMPTOSTRING(ts, 'yyyy-MM-dd HH:mm:ss.SSS', 'UTC') AS utc,
  TIMESTAMPTOSTRING(ts, 'yyyy-MM-dd HH:mm', 'Europe/Oslo') AS oslo,
  STRINGTOTIMESTAMP(s, 'yyyy-MM-dd HH:mm:ss', 'UTC') AS parsed,
  TIMESTAMPADD(HOURS, 2, t) AS later, UNIX_TIMESTAMP(t) AS t_ms, ROWTIME AS rt
  FROM events EMIT CHANGES;
