CREATE STREAM pageviews_female AS SELECT * FROM pageviews WHERE gender = 'FEMALE';
