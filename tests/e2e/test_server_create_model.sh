# CREATE MODEL through `mlpipe server`: POST /ksql trains and publishes a
# version (a currentStatus entity with commandId model/`NAME`/create and
# the result message), and TensorFlow Serving's :predict on the same
# server answers with that version, then with the next one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
D="$T/data"
R="$T/registry"
mkdir -p "$R"

start_server "$T/server.log" --data-dir "$D" --registry "$R" || { bad "start"; finish; exit 1; }
URL="http://127.0.0.1:$PORT"
post() { curl -s -m 60 -o "$T/body" -w '%{http_code}' -X POST "$URL$1" -H 'Content-Type: application/json' --data-binary "$2" >"$T/code"; }
get() { curl -s -m 10 -o "$T/body" -w '%{http_code}' "$URL$1" >"$T/code"; }
code_is() { [ "$(cat "$T/code")" = "$1" ] && ok || bad "$2: status $(cat "$T/code"), wanted $1; body: $(cat "$T/body")"; }
body_has() { grep -Eq -- "$1" "$T/body" && ok || bad "$2: body lacks /$1/: $(cat "$T/body")"; }

# The heart rows as INSERTs, and as instances in the model's input order.
{ head -1 "$SRC/examples/heart/heart.csv" | tr a-z A-Z; tail -n +2 "$SRC/examples/heart/heart.csv"; } >"$T/heart.csv"
inserts=$(tail -n +2 "$T/heart.csv" | awk -F, '{printf "INSERT INTO heart_in (id, age, sex, trestbps, target) VALUES (%s, %s, %s, %s, %s); ", $1, $2, $3, $4, $5}')
instances=$(tail -n +2 "$T/heart.csv" | awk -F, 'BEGIN{printf "["} {printf "%s[%s, %s, %s]", (NR > 1 ? ", " : ""), $2, $3, $4} END{printf "]"}')
post /ksql "{\"ksql\": \"CREATE STREAM heart_in (id BIGINT, age INT, sex INT, trestbps INT, target INT) WITH (KAFKA_TOPIC='heart_in', VALUE_FORMAT='JSON', PARTITIONS=1); $inserts\"}"
code_is 200 "the stream and its rows"

# predict_labels VERSION: mlpipe predict's labels for every row, as a JSON list.
predict_labels() {
    "$MLPIPE" predict --model "$R/HEART/$1" "$T/heart.csv" 2>/dev/null | tail -n +2 | cut -d, -f2 | paste -sd, | sed 's/.*/[&]/'
}
# served_labels WANT: waits (up to 10 s) until :predict answers WANT.
served_labels() {
    i=0
    while [ $i -lt 100 ]; do
        post /v1/models/HEART:predict "{\"instances\": $instances}"
        [ "$(cat "$T/code")" = 200 ] &&
            [ "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["predictions"]).replace(" ", ""))' "$T/body")" = "$1" ] &&
            return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

post /ksql '{"ksql": "CREATE MODEL heart WITH (ALGORITHM='"'logistic-regression'"', TARGET='"'target'"', ID='"'id'"') AS SELECT id, age, sex, trestbps, target FROM heart_in;"}'
code_is 200 "CREATE MODEL"
body_has '^\[\{"@type":"currentStatus","commandId":"model/`HEART`/create","commandStatus":\{"status":"SUCCESS","message":"Model HEART version 1 trained on 15 rows \(training accuracy 0\.[0-9]{4}\)","queryId":null\}' "the currentStatus entity"
body_has '"statementText":"CREATE MODEL heart' "the statement"
[ -f "$R/HEART/1/model.safetensors" ] && ok || bad "version 1 in the registry"
v1=$(predict_labels 1)
served_labels "$v1" && ok || bad ":predict answers with version 1 ($v1): $(cat "$T/code") $(cat "$T/body")"
get '/status/model/`HEART`/create'; code_is 200 "/status of CREATE MODEL"; body_has '"status":"SUCCESS","message":"Model HEART version 1' "the status"

# Version 2 learns the labels inverted; the server moves to it.
post /ksql '{"ksql": "CREATE MODEL heart WITH (ALGORITHM='"'logistic-regression'"', TARGET='"'target'"') AS SELECT age, sex, trestbps, 1 - target AS target FROM heart_in;"}'
code_is 200 "the second CREATE MODEL"; body_has '"message":"Model HEART version 2 trained on 15 rows' "version 2"
v2=$(predict_labels 2)
[ "$v1" != "$v2" ] && ok || bad "inverted labels predict otherwise ($v1 / $v2)"
served_labels "$v2" && ok || bad ":predict answers with version 2 ($v2): $(cat "$T/body")"
get /v1/models/HEART; body_has '"version":"2","state":"AVAILABLE"' "version 2 is served"

# A bad CREATE MODEL: ksqlDB's statement_error with the position.
post /ksql '{"ksql": "CREATE MODEL heart WITH (ALGORITHM='"'forest'"', TARGET='"'target'"') AS SELECT age, target FROM heart_in;"}'
code_is 400 "unknown algorithm"
body_has '"@type":"statement_error","error_code":40001,"message":"line 1:26: unknown algorithm' "the error"
[ ! -e "$R/HEART/3" ] && ok || bad "a failed statement published a version"
stop_server
[ "$STOP_STATUS" -eq 0 ] && ok || bad "server exit status $STOP_STATUS"
finish
