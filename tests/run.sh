#!/usr/bin/env bash
# The test command: sets up a virtualenv ($VENV, default .venv) with the package and its test
# extras if needed, then runs the whole suite once per Keras backend (one backend per process, all
# three at once) and fails if any backend fails. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || exit 1
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e ".[test]" -c tests/constraints.txt || exit 1
# The TFLite metadata test reads with tflite-support's generated schema module only; its pinned dependencies
# (protobuf < 4) conflict with TensorFlow's, so it comes without them.
"$VENV/bin/python" -m pip install -q --no-deps "tflite-support==0.4.4" || exit 1
# The three backends run side by side, one process each: most of a test's time is single-threaded
# (tracing, compiling, Python), so a machine with two or more cores runs them in less time together than
# one after the other. Each writes its own log and temporary folder; the logs are printed in order.
logs=$(mktemp -d)
backends=(tensorflow jax torch)
pids=()
for backend in "${backends[@]}"; do
  KERAS_BACKEND=$backend "$VENV/bin/python" -m pytest -q --durations=10 --basetemp="$logs/tmp-$backend" "$@" \
    >"$logs/$backend.log" 2>&1 &
  pids+=($!)
done
failed=()
for i in "${!backends[@]}"; do
  backend=${backends[$i]}
  wait "${pids[$i]}" || failed+=("$backend")
  echo "=== KERAS_BACKEND=$backend"
  cat "$logs/$backend.log"
done
rm -rf "$logs"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED backends: ${failed[*]}"
  exit 1
fi
echo "all three backends passed"
