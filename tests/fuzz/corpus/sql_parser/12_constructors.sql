SELECT ARRAY[1, 2, 3][1], MAP('a' := 1, 'b' := 2)['a'], STRUCT(f1 := v1, f2 := 'x')->f1, addr->*, nested->a->b
FROM s1 EMIT CHANGES;
