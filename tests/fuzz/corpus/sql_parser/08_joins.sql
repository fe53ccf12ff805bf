CREATE STREAM shipped AS SELECT o.id AS order_id, p.*, s.id FROM orders o
  INNER JOIN payments p WITHIN 1 HOURS GRACE PERIOD 15 MINUTES ON p.id = o.id
  LEFT OUTER JOIN shipments s WITHIN (1 HOUR, 2 HOURS) ON s.id = o.id
  FULL JOIN t ON t.k = o.k PARTITION BY o.id EMIT CHANGES;
