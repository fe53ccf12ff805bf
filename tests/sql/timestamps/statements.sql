-- Record timestamps reach the outputs: a persistent query's records carry
-- the input's ROWTIME, which the TIMESTAMP property takes from a column
-- instead; ROWTIME can be selected too.
CREATE STREAM events (id VARCHAR KEY, kind VARCHAR, event_ts BIGINT)
  WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM events_by_ts (id VARCHAR KEY, kind VARCHAR, event_ts BIGINT)
  WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON', TIMESTAMP='event_ts');
CREATE STREAM clicks AS SELECT id, kind, ROWTIME AS seen_at FROM events WHERE kind = 'click';
CREATE STREAM clicks_event_time AS SELECT id, kind, ROWTIME AS seen_at FROM events_by_ts WHERE kind = 'click';
