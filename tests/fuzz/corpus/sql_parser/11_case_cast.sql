SELECT CASE WHEN units < 2 THEN 'sm' WHEN units < 4 THEN 'med' ELSE 'large' END AS size_class,
  CASE color WHEN 'r' THEN 1 ELSE 0 END, CAST(COUNT(*) AS VARCHAR) || '_x', CAST(x AS DECIMAL(4, 2))
FROM views GROUP BY color, units;
