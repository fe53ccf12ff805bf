"""The talk's notebook flow against `mlpipe server`, with nothing but
Python's standard library: create a stream, insert rows, run a push query
with LIMIT 10 while more rows arrive, read the rows as they stream and the
final "Limit Reached". Exits non-zero with a message on any mismatch."""
import http.client
import json
import sys
import threading
import time

port = int(sys.argv[1])
HEADERS = {"Content-Type": "application/vnd.ksql.v1+json",
           "Accept": "application/vnd.ksql.v1+json"}


def fail(msg):
    print("notebook: " + msg, file=sys.stderr)
    sys.exit(1)


def ksql(statements, props=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/ksql", json.dumps({"ksql": statements, "streamsProperties": props or {}}),
              HEADERS)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body)


status, ents = ksql("CREATE STREAM car_sensor (car_id VARCHAR, event_id BIGINT, speed DOUBLE) "
                    "WITH (KAFKA_TOPIC='car_sensor', VALUE_FORMAT='JSON', PARTITIONS=1);")
if status != 200 or ents[0]["@type"] != "currentStatus" or \
        ents[0]["commandStatus"]["message"] != "Stream created":
    fail("create stream: %s %s" % (status, ents))

for i in range(6):
    status, ents = ksql("INSERT INTO car_sensor (car_id, event_id, speed) VALUES ('car%d', %d, %d.5);"
                        % (i % 3, i, 50 + i))
    if status != 200 or ents != []:
        fail("insert %d: %s %s" % (i, status, ents))


def late_inserts():
    # Rows that arrive while the push query is already streaming.
    time.sleep(0.5)
    for i in range(6, 12):
        ksql("INSERT INTO car_sensor (car_id, event_id, speed) VALUES ('car%d', %d, %d.5);"
             % (i % 3, i, 50 + i))


t = threading.Thread(target=late_inserts)
t.start()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
c.request("POST", "/query", json.dumps({
    "ksql": "SELECT car_id, event_id, speed * 2 AS double_speed FROM car_sensor EMIT CHANGES LIMIT 10;",
    "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}}), HEADERS)
r = c.getresponse()
if r.status != 200:
    fail("query status %d: %s" % (r.status, r.read()))
if "chunked" not in (r.getheader("Transfer-Encoding") or ""):
    fail("query response is not chunked")
# Read line by line as the rows stream in, as a notebook would.
lines = []
while True:
    line = r.readline()
    if not line:
        break
    lines.append(line.decode().strip())
c.close()
t.join()
doc = json.loads("\n".join(lines))
header = doc[0]["header"]
if not header["queryId"] or header["schema"] != "`CAR_ID` STRING, `EVENT_ID` BIGINT, `DOUBLE_SPEED` DOUBLE":
    fail("header: %s" % header)
rows = [e["row"]["columns"] for e in doc[1:-1]]
if len(rows) != 10:
    fail("expected 10 rows, got %d: %s" % (len(rows), rows))
for i, row in enumerate(rows):
    if row != ["car%d" % (i % 3), i, (50 + i + 0.5) * 2]:
        fail("row %d: %s" % (i, row))
if doc[-1] != {"finalMessage": "Limit Reached"}:
    fail("final message: %s" % doc[-1])
print("notebook flow: 10 rows and Limit Reached")
