CREATE MODEL iris_knn WITH (ALGORITHM='knn', TARGET='species', k=5) AS SELECT * FROM iris;
SELECT PREDICT('iris_knn', sepal_length, sepal_width) FROM iris_stream EMIT CHANGES;
