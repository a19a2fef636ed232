#!/usr/bin/env bash
# Builds examples/hello into a static executable (and, once the image target is in,
# an OCI image archive) with no registry, then runs the executable.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e . 2>&1 | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -c "import hatch_krust" # fail loudly if the install did not work

cd examples/hello
rm -rf dist/krust
../../.venv/bin/python -m hatchling build -t krust:binary
exe=$(ls dist/krust/hello-*-linux-*)
echo "== $exe: $(du -h "$exe" | cut -f1), $(file -b "$exe" 2>/dev/null | cut -d, -f1-2 || true)" >&2
"$exe" --version
"$exe" --name demo
