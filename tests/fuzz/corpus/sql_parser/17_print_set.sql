PRINT 'pageviews' FROM BEGINNING INTERVAL 5 LIMIT 10;
PRINT orders;
SET 'auto.offset.reset'='earliest';
UNSET 'auto.offset.reset';
RUN SCRIPT '/tmp/script.sql';
