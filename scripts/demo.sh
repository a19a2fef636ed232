#!/usr/bin/env bash
# Builds examples/hello into a static executable and an OCI image archive on `scratch`
# (no registry needed), then runs the executable and shows what the image holds.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
  # Debian's own python3 ships venv separately; a pyenv Python has it built in.
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e . 2>&1 | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -c "import hatch_krust" # fail loudly if the install did not work

cd examples/hello
rm -rf dist/krust
../../.venv/bin/python -m hatchling build -t krust
exe=$(ls dist/krust/hello-*-linux-*)
echo "== $exe ($(du -h "$exe" | cut -f1))" >&2
"$exe" --version
"$exe" --name demo
echo "== dist/krust/:" >&2
ls -l dist/krust >&2
echo "== the image (from $(ls dist/krust/*.oci.tar)):" >&2
../../.venv/bin/python -m hatch_krust inspect "oci-archive:$(ls dist/krust/*.oci.tar)" \
  | ../../.venv/bin/python -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d[k] for k in ('digest','mediaType') if k in d}, indent=2))"
