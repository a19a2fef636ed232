#!/usr/bin/env bash
# Installs everything the test suite needs (Debian packages included) into this machine
# and a project-local virtual environment, then runs lint, types and the whole suite.
# Safe to run again: installed pieces are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  docker-registry   # the CNCF distribution registry the tests push to
  skopeo            # an independent client that reads back what we push and write
  umoci runc        # unpack an image into a bundle and run it for real
  gcc libc6-dev     # a tiny static C program stands in for a frozen executable in image tests
  docker.io         # Docker's 20.10 engine: `docker load` of our archive (reads only manifest.json)
  podman            # podman 4: `podman load` names the image from the archive's index.json
  python3 python3-venv python3-dev  # Debian's own Python: the freezer must work with it too
  git ca-certificates
  qemu-user-static  # runs the arm64 images of tests/infra/pythonbases.py (no binfmt needed)
)
# The multi-platform Python bases are made from Debian's arm64 packages too.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "Installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

PYTHON="${PYTHON:-python3}"  # python3-venv is installed above for Debian's own python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -c "import hatch_krust, pytest, hatch"  # fail loudly if the install did not work

echo "== ruff" >&2
.venv/bin/ruff check hatch_krust tests benchmarks
echo "== mypy --strict" >&2
.venv/bin/mypy hatch_krust
echo "== pytest" >&2
log=$(mktemp)
set +e
.venv/bin/python -m pytest --cov=hatch_krust --cov-report=term:skip-covered "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
if [ "$status" -eq 0 ] && tail -n 3 "$log" | grep -Eq "[0-9]+ skipped"; then
  echo "some tests were skipped: a skipped test does not count as passing here" >&2
  exit 1
fi
exit "$status"
