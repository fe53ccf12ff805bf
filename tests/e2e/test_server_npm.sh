# ksqlDB's npm client (`ksqldb-client`, which speaks HTTP/2 with prior
# knowledge) against `mlpipe server`: statements, inserts through
# /inserts-stream and a push query through /query-stream. The package is
# installed with npm into the build directory once, then reused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

NPM_DIR=$(dirname "$MLPIPE")/npm
if [ ! -f "$NPM_DIR/node_modules/ksqldb-client/package.json" ]; then
    mkdir -p "$NPM_DIR"
    (cd "$NPM_DIR" && [ -f package.json ] || echo '{"name": "mlpipe-e2e", "private": true}' >package.json)
    (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error ksqldb-client@1.0.5 >"$T/npm.log" 2>&1) ||
        { bad "npm install ksqldb-client: $(tail -20 "$T/npm.log")"; finish; exit 1; }
fi

start_server "$T/server.log" --data-dir "$T/data" || { bad "start"; finish; exit 1; }
NODE_PATH="$NPM_DIR/node_modules" timeout 60 node "$(dirname "$0")/ksqldb_client.js" "$PORT" >"$T/out" 2>"$T/err" &&
    ok || bad "ksqldb-client: $(cat "$T/err") $(cat "$T/out")"
stop_server TERM
[ "$STOP_STATUS" = 0 ] && ok || bad "server exit status $STOP_STATUS"
finish
