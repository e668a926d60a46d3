#!/usr/bin/env bash
# The test command: sets up a virtualenv ($VENV, default .venv) with the package and its test
# extras if needed, then runs the whole suite once per Keras backend (one backend per process)
# and fails if any backend fails. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || exit 1
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e ".[test]" -c tests/constraints.txt || exit 1
# The TFLite metadata test reads with tflite-support's generated schema module only; its pinned dependencies
# (protobuf < 4) conflict with TensorFlow's, so it comes without them.
"$VENV/bin/python" -m pip install -q --no-deps "tflite-support==0.4.4" || exit 1
failed=()
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend "$VENV/bin/python" -m pytest -q "$@" || failed+=("$backend")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED backends: ${failed[*]}"
  exit 1
fi
echo "all three backends passed"
