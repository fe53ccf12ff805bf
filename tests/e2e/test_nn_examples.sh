# The neural-network examples run end to end, shortened: fraud detection
# with an autoencoder (precision and recall at the threshold), sensor
# forecasting with an LSTM (beats the naive last-reading forecast), and the
# Fashion-MNIST CNN on real images from Debian's dataset-fashion-mnist
# (2000 training images, one epoch: the pipeline, not the final accuracy,
# which docs/benchmarks.md records).
. "$(dirname "$0")/lib.sh"
EX="$SRC/examples"

FRAUD_ARGS="--train 4000 --test 3000 --fraud-rate 0.02" EPOCHS=15 \
    expect_exit 0 "fraud example" -- "$EX/fraud/run" "$MLPIPE" "$T/fraud"
expect_out "How did we do\?" "fraud evaluation printed"
rec=$(awk '$1 == "1" && NF == 5 { print $3; exit }' "$T/out")
prec=$(awk '$1 == "1" && NF == 5 { print $2; exit }' "$T/out")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.8 and float(sys.argv[2]) >= 0.3 else 1)" \
    "${rec:-0}" "${prec:-0}" && ok || bad "fraud recall $rec / precision $prec too low: $(cat "$T/out")"
[ -s "$T/fraud/report.html" ] && grep -q "Training" "$T/fraud/report.html" && ok || bad "fraud report with training curves"

SENSOR_ARGS="--steps 3000" EPOCHS=12 \
    expect_exit 0 "sensors example" -- "$EX/sensors/run" "$MLPIPE" "$T/sensors"
rmse=$(awk '$1 == "RMSE" { print $2; exit }' "$T/out")
naive=$(sed -n 's/.*last reading RMSE \([0-9.]*\),.*/\1/p' "$T/out")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "${rmse:-9}" "${naive:-0}" &&
    ok || bad "the LSTM (RMSE $rmse) should beat the last-reading forecast (RMSE $naive)"

LIMIT=2000 EPOCHS=1 expect_exit 0 "fashion example" -- "$EX/fashion/run" "$MLPIPE" "$T/fashion"
acc=$(awk '$1 == "accuracy" { print $2; exit }' "$T/out")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.6 else 1)" "${acc:-0}" &&
    ok || bad "a CNN after one epoch on 2000 images should pass 60%: $acc"
[ "$(grep -c '' "$T/fashion/predictions.csv")" -eq 10001 ] && ok || bad "10000 test predictions"
finish
