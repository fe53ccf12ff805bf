// The npm ksqldb-client (HTTP/2) against `mlpipe server`: create a stream,
// insert rows, list streams, read a push query with LIMIT, and a bad
// statement's error. Prints "ok" and exits 0, or the first mismatch and 1.
const KsqldbClient = require("ksqldb-client");
const port = Number(process.argv[2]);

function fail(msg) {
    console.error("ksqldb-client: " + msg);
    process.exit(1);
}

(async () => {
    const client = new KsqldbClient({ host: "http://127.0.0.1", port, timeout: 10000 });
    await client.connect();
    let r = await client.executeStatement(
        "CREATE STREAM riders (name VARCHAR, lat DOUBLE, trips INT) " +
        "WITH (KAFKA_TOPIC='riders', VALUE_FORMAT='JSON', PARTITIONS=1);");
    if (r.status !== 200 || r.data.rows[0].commandStatus.status !== "SUCCESS")
        fail("create stream: " + JSON.stringify(r));
    for (let i = 0; i < 5; i++) {
        r = await client.insertInto("RIDERS", { name: "rider" + i, lat: 37.5 + i, trips: i * 10 });
        if (r.status !== 200 || r.data.rows[0].status !== "ok")
            fail("insert " + i + ": " + JSON.stringify(r));
    }
    const streams = await client.listStreams();
    if (!streams.some((s) => s.name === "RIDERS" && s.topic === "riders"))
        fail("listStreams: " + JSON.stringify(streams));
    const rows = [];
    let queryId = null;
    r = await client.streamQuery(
        "SELECT name, lat, trips FROM riders WHERE trips >= 10 EMIT CHANGES LIMIT 3;",
        (data) => {
            if (data.metadata) queryId = data.metadata.queryId;
            if (data.rows) rows.push(...data.rows);
        },
        { properties: { "auto.offset.reset": "earliest" } });
    if (r.status !== 200) fail("push query status " + r.status + ": " + JSON.stringify(r));
    if (!queryId) fail("no query id in the metadata");
    const want = [
        { NAME: "rider1", LAT: 38.5, TRIPS: 10 },
        { NAME: "rider2", LAT: 39.5, TRIPS: 20 },
        { NAME: "rider3", LAT: 40.5, TRIPS: 30 },
    ];
    if (JSON.stringify(rows) !== JSON.stringify(want))
        fail("push query rows: " + JSON.stringify(rows));
    r = await client.streamQuery("SELECT nosuch FROM riders EMIT CHANGES;", () => {});
    if (r.status !== 400 || r.error.error_code !== 40001 || !/NOSUCH/.test(r.error.message))
        fail("bad query: " + JSON.stringify(r));
    const queries = await client.listQueries();
    if (!Array.isArray(queries)) fail("listQueries: " + JSON.stringify(queries));
    await client.disconnect();
    console.log("ok: created, inserted 5, streamed " + rows.length + " rows over HTTP/2");
})().catch((e) => fail(e.stack || String(e)));
