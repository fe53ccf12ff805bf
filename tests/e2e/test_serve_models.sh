# mlpipe serve-models: TensorFlow Serving's REST API over real HTTP with
# curl (the talk's call, the heart model, status, metadata, errors), then
# hot reload under continuous load: versions 2 and 3 are published and
# version 1 removed while clients keep predicting, and no request fails.
. "$(dirname "$0")/lib.sh"
H=$SRC/examples/heart/heart.csv
. "$(dirname "$0")/server_lib.sh"

# serve LOGFILE ARGS...: starts serve-models on a free port, waits for it.
serve() { log=$1; shift; start_command "$log" serve-models --rest_api_port 0 "$@"; }

# stop: SIGTERM, and the server must exit 0 within 20 s.
stop() {
    stop_server TERM
    [ "$STOP_STATUS" -eq 0 ] && ok || bad "serve-models exited $STOP_STATUS after SIGTERM"
}

# http METHOD PATH [BODY]: the body in $T/out, the status code in $T/code.
http() {
    if [ $# -ge 3 ]; then
        curl -s -o "$T/out" -w '%{http_code}' -X "$1" -d "$3" "http://127.0.0.1:$PORT$2" >"$T/code"
    else
        curl -s -o "$T/out" -w '%{http_code}' -X "$1" "http://127.0.0.1:$PORT$2" >"$T/code"
    fi
}
expect_code() {
    [ "$(cat "$T/code")" = "$1" ] && ok || bad "$2: HTTP $(cat "$T/code"), wanted $1: $(cat "$T/out")"
}
# check DESCRIPTION PYTHON-EXPR: the expression holds for the JSON body j.
check() {
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$T/out" "$2" 2>/dev/null && ok || bad "$1: $(cat "$T/out")"
}

# One feature, y = x/2 + 3: TensorFlow Serving's half_plus_three.
M=$T/models/my_model
printf 'x,y\n0,3\n1,3.5\n2,4\n4,5\n6,6\n10,8\n' >"$T/v1.csv"
printf 'x,y\n0,1\n1,3\n2,5\n4,9\n6,13\n' >"$T/v2.csv"     # y = 2x + 1
printf 'x,y\n0,10\n1,11\n2,12\n4,14\n6,16\n' >"$T/v3.csv" # y = x + 10
expect_exit 0 "train my_model v1" -- "$MLPIPE" train "$T/v1.csv" --target y --algorithm linear-regression --model-dir "$M"
expect_exit 0 "train heart" -- "$MLPIPE" train "$H" --target target --id id --algorithm logistic-regression \
    --model-dir "$T/models/heart"

serve "$T/s1.log" --model_base_path "$M" --model_name my_model || { finish; exit 1; }

# The talk's exact call.
curl -s -d '{"instances": [1.0, 2.0, 5.0]}' -X POST "http://127.0.0.1:$PORT/v1/models/my_model:predict" >"$T/out"
check "the talk's predict call" 'all(abs(a - b) < 1e-9 for a, b in zip(j["predictions"], [3.5, 4.0, 5.5])) and len(j["predictions"]) == 3'
http POST /v1/models/my_model:predict '{"inputs": {"x": [1.0, 2.0]}}'
expect_code 200 "columnar predict"
check "columnar outputs" 'j == {"outputs": [3.5, 4]}'
http POST /v1/models/my_model:regress '{"examples": [{"x": 1.0}, {"x": 2.0}]}'
check "regress" 'j == {"results": [3.5, 4]}'
http GET /v1/models/my_model
expect_code 200 "model status"
check "status" 'j["model_version_status"] == [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]'
http GET /v1/models/my_model/versions/1/metadata
expect_code 200 "metadata"
check "metadata spec" 'j["model_spec"] == {"name": "my_model", "signature_name": "", "version": "1"}'
check "metadata inputs" 'list(j["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]) == ["x"]'
http POST /v1/models/half:predict '{"instances": [1.0, 5.0]}'
expect_code 404 "unknown model"
check "404 names the servable" '"Servable not found for request: Latest(half)" in j["error"]'
http POST /v1/models/my_model/versions/7:predict '{"instances": [1.0]}'
expect_code 404 "unknown version"
http POST /v1/models/my_model:predict '{"instances": [1.0, "two"]}'
expect_code 400 "wrong type"
check "400 names instance and feature" '"instance 1, feature '"'"'x'"'"': expected a number" in j["error"]'
http POST /v1/models/my_model:predict '{"instances": [1.0'
expect_code 400 "malformed JSON"
http GET /v1/models/my_model:predict
expect_code 405 "GET on :predict"
http GET '/v1/models/..%2f..%2fetc/metadata'
expect_code 400 "traversal name"
http GET /nothing
expect_code 404 "unknown path"
http GET /monitoring/prometheus/metrics
expect_code 200 "metrics"
grep -q '^mlpipe_model_predictions_total{model="my_model",version="1"} 7$' "$T/out" && ok || bad "predictions counted: $(grep predictions_total "$T/out")"
stop

# The heart logistic regression beside it, from a model config file.
cat >"$T/models.config" <<EOF
model_config_list {
  config { name: 'heart' base_path: '$T/models/heart' model_platform: 'mlpipe' }
  config { name: 'my_model' base_path: '$M' }
}
EOF
serve "$T/s2.log" --model_config_file="$T/models.config" || { finish; exit 1; }
http POST /v1/models/heart:predict '{"instances": [[63, 1, 233], {"age": 37, "sex": 1, "trestbps": 250}]}'
expect_code 200 "heart predict"
"$MLPIPE" predict --model "$T/models/heart" "$H" --output "$T/pred.csv" >/dev/null 2>&1
python3 - "$T/out" "$T/pred.csv" <<'PY' && ok || bad "heart predictions differ from mlpipe predict: $(cat "$T/out")"
import csv, json, sys
got = json.load(open(sys.argv[1]))["predictions"]
want = {r["id"]: r["prediction"] for r in csv.DictReader(open(sys.argv[2]))}
sys.exit(0 if [str(g) for g in got] == [want["0"], want["1"]] else 1)
PY
http POST /v1/models/heart:classify '{"examples": [{"age": 63, "sex": 1, "trestbps": 233}]}'
check "heart classify" '[p[0] for p in j["results"][0]] == ["0", "1"] and abs(sum(p[1] for p in j["results"][0]) - 1) < 1e-9'
http GET /v1/models/heart/metadata
check "heart metadata" 'sorted(j["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]) == ["age", "sex", "trestbps"]'
http POST /v1/models/heart:predict '{"instances": [1.0, 2.0, 5.0]}'
expect_code 400 "flat list for a three-feature model"
check "the 400 explains the shape" '"takes 3 features" in j["error"]'
http GET /v1/models/my_model
expect_code 200 "second model of the config"
stop

# Hot reload under load: clients predict x=2 without pause while versions
# 2 and 3 appear and version 1 goes. v1 answers 4, v2 5, v3 12.
printf 'max_batch_size { value: 16 }\nbatch_timeout_micros { value: 2000 }\n' >"$T/batching.txt"
serve "$T/s3.log" --model_base_path "$M" --model_name my_model --file_system_poll_wait_seconds 0.2 \
    --enable_batching --batching_parameters_file "$T/batching.txt" || { finish; exit 1; }
python3 - "$PORT" "$MLPIPE" "$M" "$T" <<'PY' >"$T/load.out" 2>&1 && ok || bad "hot reload under load: $(cat "$T/load.out")"
import json, os, shutil, subprocess, sys, threading, time, urllib.request, urllib.error
port, mlpipe, mdir, tmp = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
url = "http://127.0.0.1:%s/v1/models/my_model:predict" % port
stop = threading.Event()
lock = threading.Lock()
seen, failures, counts = [], [], {"n": 0}

def client():
    last = 0
    while not stop.is_set():
        req = urllib.request.Request(url, data=b'{"instances": [2.0]}', method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                v = json.load(r)["predictions"][0]
        except Exception as e:  # any failure counts
            with lock:
                failures.append(repr(e))
            continue
        ver = {4: 1, 5: 2, 12: 3}.get(round(v, 6))
        with lock:
            counts["n"] += 1
            if ver is None or ver < last:
                failures.append("answer %r after version %d" % (v, last))
            last = ver or last
            seen.append(ver)

def wait_for(ver, limit):
    end = time.time() + limit
    while time.time() < end:
        with lock:
            if seen and seen[-1] == ver:
                return True
        time.sleep(0.05)
    return False

threads = [threading.Thread(target=client) for _ in range(4)]
for t in threads:
    t.start()
start = time.time()
ok = wait_for(1, 3)
for v in (2, 3):
    subprocess.run([mlpipe, "train", os.path.join(tmp, "v%d.csv" % v), "--target", "y",
                    "--algorithm", "linear-regression", "--model-dir", mdir],
                   check=True, stdout=subprocess.DEVNULL)
    ok = wait_for(v, 4) and ok
    if not ok:
        failures.append("version %d was not served in time" % v)
shutil.rmtree(os.path.join(mdir, "1"))
time.sleep(min(1.0, max(0.0, 10 - (time.time() - start))))
stop.set()
for t in threads:
    t.join()
print("requests", counts["n"], "failures", len(failures), failures[:5])
print("versions seen", sorted(set(seen)))
sys.exit(0 if not failures and counts["n"] > 20 and seen[-1] == 3 and set(seen) >= {1, 3} else 1)
PY
http GET /v1/models/my_model
check "status after reload" '{(s["version"], s["state"]) for s in j["model_version_status"]} >= {("3", "AVAILABLE"), ("1", "END")}'
http GET /monitoring/prometheus/metrics
grep -q '^mlpipe_model_versions_loaded{model="my_model"} 1$' "$T/out" && ok || bad "one version loaded at the end"
grep -Eq '^mlpipe_model_batch_size_count\{model="my_model"\} [1-9]' "$T/out" && ok || bad "batching ran: $(grep batch_size "$T/out")"
grep -Eq '^mlpipe_model_predictions_total\{model="my_model",version="3"\} [1-9]' "$T/out" && ok || bad "version 3 counted"
stop

# Flags: usage errors exit 2.
expect_exit 2 "no model" -- "$MLPIPE" serve-models
expect_exit 2 "bad port" -- "$MLPIPE" serve-models --model_base_path "$M" --rest_api_port 70000
expect_exit 2 "missing base path" -- "$MLPIPE" serve-models --model_base_path "$T/none" --rest_api_port 0
expect_err "no such directory" "missing base path is named"
printf 'max_batch_size { value: 0 }\n' >"$T/bad_batching.txt"
expect_exit 2 "bad batching file" -- "$MLPIPE" serve-models --model_base_path "$M" --enable_batching=true \
    --batching_parameters_file "$T/bad_batching.txt" --rest_api_port 0
expect_err "bad_batching.txt:1:" "batching file error has its line"
finish
