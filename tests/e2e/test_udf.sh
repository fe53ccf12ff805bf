# User-defined functions from shared libraries: `mlpipe sql --ext-dir DIR`
# loads the example extension (examples/udf/reverse.c, built by CMake as
# ext/reverse.so) and runs the talk's REVERSE query; DESCRIBE FUNCTION and
# SHOW FUNCTIONS list what it declared; overloads, a variadic function, an
# aggregate under GROUP BY, a run-time error going to the processing log,
# a persistent query using a UDF across a restart; and libraries that must
# be refused (no entry point, no or a wrong API version, a clash with a
# built-in or between two libraries, a missing directory), each naming the
# file. EXT_DIR comes from ctest (the directory holding reverse.so).
. "$(dirname "$0")/lib.sh"
: "${SRC:?SRC must point at the source tree}"
EXT_DIR=${EXT_DIR:-$(dirname "$MLPIPE")/ext}
CC=${CC:-cc}
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

[ -f "$EXT_DIR/reverse.so" ] && ok || bad "the example extension is built: $EXT_DIR/reverse.so"
expect_exit 0 "usage" -- "$MLPIPE" sql --help
expect_out "--ext-dir DIR +user-defined functions" "the flag is documented"

expect_exit 0 "create the talk's stream" -- sql -e "CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR)
    WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED', PARTITIONS=1);"
printf '1510923225000,User_1,Page_10\n1510923226000,Us\303\251r_2,Page_20\n1510923227000,User_3,Page_30\n1510923228000,User_1,Page_4000\n1510923229000,,Page_50\n' |
    "$MLPIPE" produce pageviews --data-dir "$D" >/dev/null 2>&1 || bad "produce pageviews"

# The talk's query.
expect_exit 0 "REVERSE(userid)" -- sql --ext-dir "$EXT_DIR" -e "SET 'auto.offset.reset'='earliest';
    SELECT REVERSE(userid) FROM pageviews EMIT CHANGES LIMIT 3;"
expect_out "^\| KSQL_COL_0 +\|" "the column's generated name"
expect_out "^\| 1_resU +\|" "row 1"
E=$(printf '\303\251') # U+00E9, two bytes in UTF-8
expect_out "^\| 2_r${E}sU +\|" "row 2: characters reversed, not bytes"
expect_out "^\| 3_resU +\|" "row 3"
expect_out "^Limit Reached" "stops at the limit"
[ "$(grep -Ec '^\| [0-9]_r.*sU' "$T/out")" -eq 3 ] && ok || bad "three rows: $(cat "$T/out")"

# DESCRIBE FUNCTION and SHOW FUNCTIONS.
expect_exit 0 "describe" -- sql --ext-dir "$EXT_DIR" -e "DESCRIBE FUNCTION reverse;"
expect_out "^Name: REVERSE \| Type: SCALAR \| Category: STRING \| Reverses a string, character by character\." "name, type, category, description"
expect_out "Author: mlpipe examples \| Version: 1\.0\.0 \| Library: .*/reverse\.so" "author, version, library"
expect_out "^\| \(str STRING\) +\| STRING +\|" "the STRING variant"
expect_out "^\| \(list ARRAY<STRING>\) +\| ARRAY<STRING> +\|" "the ARRAY variant"
expect_exit 0 "show functions" -- sql --ext-dir "$EXT_DIR" -e "SHOW FUNCTIONS;"
expect_out "^\| REVERSE +\| SCALAR +\| STRING +\|" "REVERSE listed"
expect_out "^\| MEDIAN_OF +\| SCALAR +\| MATH +\|" "MEDIAN_OF listed"
expect_out "^\| LONGEST +\| AGGREGATE +\| AGGREGATE +\|" "LONGEST listed"
expect_out "^\| UCASE +\| SCALAR" "built-ins still there"
# Without --ext-dir the functions do not exist.
expect_exit 2 "no extension directory" -- sql -e "DESCRIBE FUNCTION REVERSE;"
expect_err "function REVERSE does not exist" "not loaded without --ext-dir"

# Overloads, variadic, NULLs, bind errors.
expect_exit 0 "overload, variadic" -- sql --ext-dir "$EXT_DIR" -e "SET 'auto.offset.reset'='earliest';
    SELECT REVERSE(ARRAY[userid, pageid]) AS a, MEDIAN_OF(1, 2, viewtime % 1000) AS m, REVERSE(userid) AS r
    FROM pageviews WHERE viewtime >= 1510923228000 EMIT CHANGES LIMIT 2;"
expect_out '^\| \["Page_4000","User_1"\] +\| 1\.0 +\| 1_resU +\|' "array reversed, median of 1, 2, 0"
expect_out '^\| \["Page_50",null\] +\| 1\.0 +\| null +\|' "NULL in, NULL out"
expect_exit 2 "wrong argument type" -- sql --ext-dir "$EXT_DIR" -e "SELECT REVERSE(viewtime) FROM pageviews EMIT CHANGES;"
expect_err "Function 'REVERSE' does not accept parameters \(BIGINT\)\. Valid alternatives are: REVERSE\(STRING\), REVERSE\(ARRAY<STRING>\)" "bind refusal lists the variants"

# The aggregate under GROUP BY.
expect_exit 0 "aggregate" -- sql --ext-dir "$EXT_DIR" -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, LONGEST(pageid) AS lp FROM pageviews WHERE userid = 'User_1' GROUP BY userid EMIT CHANGES LIMIT 2;"
expect_out "^\| User_1 +\| Page_10 +\|" "first row of the group"
expect_out "^\| User_1 +\| Page_4000 +\|" "the longer one wins"

# A run-time error from an extension: NULL plus a processing-log entry.
expect_exit 0 "run-time error" -- sql --ext-dir "$EXT_DIR" -e "SET 'auto.offset.reset'='earliest';
    SELECT pageid, MEDIAN_OF(viewtime, CAST('NaN' AS DOUBLE)) AS m FROM pageviews EMIT CHANGES LIMIT 1;"
expect_out "^\| Page_10 +\| null +\|" "the failed call is NULL"
expect_exit 0 "processing log" -- "$MLPIPE" consume mlpipe_processing_log --data-dir "$D" --from-beginning
expect_out "MEDIAN_OF: NaN has no place in an order" "the extension's message is logged"

# A persistent query using a UDF, across a restart (the command topic
# replays it, so the library must be loaded before the replay).
expect_exit 0 "persistent query" -- sql --ext-dir "$EXT_DIR" --run-for 2 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM reversed AS SELECT REVERSE(pageid) AS rp FROM pageviews;"
expect_out "^Created query with ID CSAS_REVERSED_[0-9]+" "query id"
printf '1510923230000,User_9,Page_60\n' | "$MLPIPE" produce pageviews --data-dir "$D" >/dev/null 2>&1
expect_exit 0 "restart with the extension" -- sql --ext-dir "$EXT_DIR" --run-for 2 -e "SHOW QUERIES;"
expect_out "CSAS_REVERSED_[0-9]+ +\| PERSISTENT" "query restored"
expect_exit 0 "its output" -- "$MLPIPE" consume REVERSED --data-dir "$D" --from-beginning
[ "$(LC_ALL=C sort "$T/out" | tr '\n' ' ')" = "0004_egaP 01_egaP 02_egaP 03_egaP 05_egaP 06_egaP " ] && ok ||
    bad "CSAS output with REVERSE: $(cat "$T/out")"
qid=$(sql --ext-dir "$EXT_DIR" -e "SHOW QUERIES;" | grep -o 'CSAS_REVERSED_[0-9]*' | head -1)
expect_exit 0 "terminate" -- sql --ext-dir "$EXT_DIR" -e "TERMINATE $qid;"

# ---- libraries that must be refused ----

B="$T/bad"
mkdir -p "$B/noentry" "$B/noversion" "$B/version" "$B/clash" "$B/dup" "$B/empty"
echo 'int helper(void) { return 42; }' >"$T/noentry.c"
cat >"$T/noversion.c" <<'EOF'
#include "mlpipe_udf.h"
int mlpipe_udf_init(mp_udf_registrar *r) { (void)r; return 0; }
EOF
cat >"$T/version.c" <<'EOF'
#include "mlpipe_udf.h"
const int mlpipe_udf_api_version = MP_UDF_API_VERSION + 1;
int mlpipe_udf_init(mp_udf_registrar *r) { (void)r; return 0; }
EOF
cat >"$T/clash.c" <<'EOF'
#include "mlpipe_udf.h"
MP_UDF_MODULE;
static int f(mp_udf_ctx *ctx, const mp_udf_args *a, void *u) { (void)a; (void)u; return mp_udf_result_null(ctx); }
int mlpipe_udf_init(mp_udf_registrar *r)
{
    static const char *const p[] = {"STRING"};
    mp_udf_scalar s = {.name = FNAME, .description = "mine", .returns = "STRING", .params = p, .nparams = 1, .fn = f};
    return mp_udf_register_scalar(r, &s);
}
EOF
build() { "$CC" -shared -fPIC -Wall -Werror -I"$SRC/include" "$@" 2>>"$T/cc.err" || bad "cc $*: $(cat "$T/cc.err")"; }
build "$T/noentry.c" -o "$B/noentry/helper.so"
build "$T/noversion.c" -o "$B/noversion/old.so"
build "$T/version.c" -o "$B/version/future.so"
build -DFNAME='"ucase"' "$T/clash.c" -o "$B/clash/mine.so"
build -DFNAME='"MY_FN"' "$T/clash.c" -o "$B/dup/a_first.so"
build -DFNAME='"my_fn"' "$T/clash.c" -o "$B/dup/b_second.so"

expect_exit 2 "no entry point" -- sql --ext-dir "$B/noentry" -e "SHOW STREAMS;"
expect_err "noentry/helper\.so: not an mlpipe extension: it does not export mlpipe_udf_init" "names the file and the symbol"
expect_exit 2 "no API version" -- sql --ext-dir "$B/noversion" -e "SHOW STREAMS;"
expect_err "noversion/old\.so: does not say which UDF API it was built for \(write MP_UDF_MODULE; " "asks for MP_UDF_MODULE"
expect_exit 2 "wrong API version" -- sql --ext-dir "$B/version" -e "SHOW STREAMS;"
expect_err "version/future\.so: built for UDF API version 2, but this mlpipe supports version 1" "names both versions"
expect_exit 2 "clash with a built-in" -- sql --ext-dir "$B/clash" -e "SHOW STREAMS;"
expect_err "clash/mine\.so: function UCASE clashes with the built-in function UCASE \(extensions cannot replace built-in functions\)" "refuses to replace UCASE"
expect_exit 2 "two libraries, one name" -- sql --ext-dir "$B/dup" -e "SHOW STREAMS;"
expect_err "dup/b_second\.so: function MY_FN is already defined by .*dup/a_first\.so" "names both files, in name order"
expect_exit 2 "missing directory" -- sql --ext-dir "$B/nowhere" -e "SHOW STREAMS;"
expect_err "extension directory '.*/bad/nowhere': No such file or directory" "names the directory"
expect_exit 0 "an empty directory is fine" -- sql --ext-dir "$B/empty" -e "SHOW STREAMS;"
# One bad library fails the whole directory: the engine does not open.
mkdir -p "$B/mixed" && cp "$EXT_DIR/reverse.so" "$B/mixed/" && cp "$B/clash/mine.so" "$B/mixed/"
expect_exit 2 "a good and a bad library" -- sql --ext-dir "$B/mixed" -e "SHOW STREAMS;"
expect_err "mixed/mine\.so: function UCASE clashes" "the bad one is named"
grep -q "PAGEVIEWS" "$T/out" && bad "the engine ran despite the bad library" || ok

finish
