-- JSON nulls and missing fields: both read as NULL; NULL flows through
-- expressions (arithmetic gives NULL, COALESCE and IFNULL
-- replace it, IS NULL tests it) and a NULL comparison filters the row out.
CREATE STREAM readings (sensor VARCHAR KEY, temp DOUBLE, unit VARCHAR, note VARCHAR, level INT)
  WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM checked AS
  SELECT sensor,
         temp,
         temp * 2 AS doubled,
         COALESCE(unit, 'C') AS unit,
         IFNULL(note, 'none') AS note,
         note IS NULL AS no_note,
         level + 1 AS next_level,
         level
  FROM readings
  WHERE level IS NULL OR level > 0;
