SELECT TRANSFORM(xs, x => x * 2), FILTER(xs, x => x > 0), REDUCE(xs, 0, (s, x) => s + x),
  TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v + 1) FROM s EMIT CHANGES;
