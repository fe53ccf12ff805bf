# Starting and stopping `mlpipe server` in the end-to-end tests (sourced
# after lib.sh). The server listens on 127.0.0.1 with a port of the
# kernel's choosing, read back from its "listening on" line.
SERVER_PID=""
PORT=""

# start_server LOGFILE ARGS...: starts it and waits up to 20 s for the port.
start_server() {
    log=$1; shift
    start_command "$log" server --listen 127.0.0.1:0 "$@"
}

# start_command LOGFILE COMMAND ARGS...: the same for any mlpipe command
# that prints "listening on" (serve-models with --rest_api_port 0).
start_command() {
    log=$1; shift
    SERVER_LOG=$log
    : >"$log"
    "$MLPIPE" "$@" 2>"$log" &
    SERVER_PID=$!
    i=0
    while [ $i -lt 200 ]; do
        PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
        [ -n "$PORT" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "server did not start: $(cat "$log")" >&2
    return 1
}

# stop_server [SIGNAL]: signals it (TERM by default) and waits; the exit
# status is in STOP_STATUS. A server still there after 20 s is killed.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null
    i=0
    while kill -0 "$SERVER_PID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        bad "server did not stop on SIG${1:-TERM}"
    fi
    wait "$SERVER_PID"
    STOP_STATUS=$?
    SERVER_PID=""
    # Under the sanitizers a leak or a memory error shows in the log.
    if grep -q "Sanitizer\|runtime error:" "$SERVER_LOG"; then
        bad "sanitizer report in $SERVER_LOG: $(grep -A20 "Sanitizer\|runtime error:" "$SERVER_LOG" | head -40)"
    fi
}

trap 'stop_server KILL >/dev/null 2>&1; rm -rf "$T"' EXIT
