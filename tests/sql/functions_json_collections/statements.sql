-- JSON and collection functions: EXTRACTJSONFIELD with a JSONPath,
-- IS_JSON_STRING, JSON_ARRAY_LENGTH, ARRAY_CONTAINS, ARRAY_LENGTH,
-- ARRAY_DISTINCT (first occurrences), ARRAY_SORT, AS_MAP, and nulls.
CREATE STREAM docs (id INT KEY, doc VARCHAR, xs ARRAY<INT>) WITH (kafka_topic='docs', value_format='JSON');
CREATE STREAM parsed AS SELECT id,
  EXTRACTJSONFIELD(doc, '$.user.name') AS name, IS_JSON_STRING(doc) AS valid,
  JSON_ARRAY_LENGTH(EXTRACTJSONFIELD(doc, '$.tags')) AS ntags,
  ARRAY_CONTAINS(xs, 3) AS has3, ARRAY_LENGTH(xs) AS n, ARRAY_DISTINCT(xs) AS uniq,
  ARRAY_SORT(xs) AS sorted, AS_MAP(ARRAY['b', 'a'], ARRAY[1, 2])['a'] AS a_val
  FROM docs EMIT CHANGES;
