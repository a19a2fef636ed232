#!/usr/bin/env bash
# Runs the pure tests (`pytest -m "not infra"`) as a NORMAL user on a machine set up the way
# that broke them once (issue 17): `/run/containers` readable by root only (root has used
# podman), a HOME the user cannot write, and a ~/.docker/config.json of the user's own with
# real-looking credentials. The tests must read none of it: the config names a credential
# helper that leaves a mark when it is asked, and the check fails if it was.
#
# Run as root from anywhere: `bash scripts/check-as-normal-user.sh [PYTEST ARGS...]` (the
# arguments replace the default `tests`; `-m "not infra"` always applies, and the tests are
# spread over the machine's CPUs with pytest-xdist: the pure tests are hermetic)
# (tests/meta/test_as_a_normal_user.py runs it in the infra suite). It creates a user
# (krust-normal, unless it exists), a temporary home, and /run/containers/<uid>; all of it is
# removed again on exit, and a /run/containers that existed before gets its mode back.
# PYTHON (default: the checkout's .venv/bin/python) runs the tests; when the user cannot
# execute it (a pyenv interpreter under /root), Debian's python3 of the same version runs
# them with the venv's packages, copied with the checkout when the user cannot read those.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
NAME="krust-normal"
[ "$(id -u)" = 0 ] || { echo "check-as-normal-user.sh: run it as root (it creates a user)" >&2; exit 2; }

created_user="" created_run="" run_mode="" work=""
cleanup() {
  [ -n "$work" ] && rm -rf "$work"
  [ -n "$created_user" ] && userdel "$NAME" 2>/dev/null
  if [ -n "$created_run" ]; then rm -rf /run/containers
  elif [ -n "$run_mode" ]; then rm -rf "/run/containers/$uid"; chmod "$run_mode" /run/containers
  fi
  return 0
}
trap cleanup EXIT

if ! id -u "$NAME" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$NAME"
  created_user=1
fi
uid="$(id -u "$NAME")"

# The home: owned by root (the user cannot write it), holding the user's own Docker config.
work="$(mktemp -d /tmp/krust-normal-user.XXXXXX)"
chmod 0755 "$work"
home="$work/home" marks="$work/marks"
mkdir -p "$home/.docker" "$home/bin" "$marks" "$work/tmp"
chown "$NAME" "$marks" "$work/tmp"  # TMPDIR: pytest's own directories go away with $work
auth="$(printf '%s' 'ci-bot:ghp_R3alLook1ngT0kenDoNotUse0123456789' | base64 -w0)"
cat > "$home/.docker/config.json" <<EOF
{
  "auths": {
    "127.0.0.1:5000": {"auth": "$auth"},
    "localhost:5000": {"auth": "$auth"},
    "ghcr.io": {"auth": "$auth"},
    "https://index.docker.io/v1/": {"auth": "$auth"}
  },
  "credsStore": "krust-canary"
}
EOF
cat > "$home/bin/docker-credential-krust-canary" <<EOF
#!/bin/sh
# Asked for credentials: a test read the user's own Docker config. Leave a mark.
read -r server
echo "\$server" >> "$marks/asked"
echo '{"ServerURL": "'"\$server"'", "Username": "ci-bot", "Secret": "canary"}'
EOF
chmod 0755 "$home/bin/docker-credential-krust-canary"
chown -R "$NAME" "$home/.docker"
chmod 0700 "$home/.docker"
chmod 0600 "$home/.docker/config.json"

# /run/containers readable by root only, with a root-owned auth.json for this uid.
if [ -d /run/containers ]; then
  run_mode="$(stat -c %a /run/containers)"
  [ -e "/run/containers/$uid" ] && { echo "/run/containers/$uid exists already" >&2; exit 2; }
else
  mkdir /run/containers
  created_run=1
fi
mkdir -p "/run/containers/$uid"
printf '{"auths": {"127.0.0.1:5000": {"auth": "%s"}}}\n' "$auth" > "/run/containers/$uid/auth.json"
chmod 0700 /run/containers "/run/containers/$uid"
chmod 0600 "/run/containers/$uid/auth.json"

as_user() {
  runuser -u "$NAME" -- env -i PATH="$work/bin:$home/bin:/usr/local/bin:/usr/bin:/bin" HOME="$home" \
    USER="$NAME" LOGNAME="$NAME" LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 TMPDIR="$work/tmp" \
    ${PYTHONPATH_FOR_USER:+PYTHONPATH="$PYTHONPATH_FOR_USER"} "$@"
}

# Check the conditions hold before running anything.
as_user test ! -w "$home" || { echo "the user can write its home" >&2; exit 1; }
as_user test ! -r "/run/containers/$uid/auth.json" || { echo "/run/containers is readable" >&2; exit 1; }
as_user test -r "$home/.docker/config.json" || { echo "the user cannot read its config" >&2; exit 1; }
# The user runs the checkout and the venv in place when it can read them; otherwise (a
# checkout under /root, a pyenv interpreter) a copy of the checkout's files and of the venv's
# packages, with Debian's python3 of the same version.
run_in="$REPO" py="$PYTHON" PYTHONPATH_FOR_USER=""
if ! as_user "$py" -c "import hatch_krust, pytest" 2>/dev/null \
   || ! as_user test -r "$REPO/pyproject.toml"; then
  version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  py="/usr/bin/python$version"
  [ -x "$py" ] || { echo "$PYTHON cannot be run by $NAME and there is no $py" >&2; exit 1; }
  site="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  if ! as_user test -r "$REPO/pyproject.toml" || ! as_user test -r "$site"; then
    mkdir "$work/checkout"
    git -C "$REPO" ls-files -z -co --exclude-standard \
      | tar -C "$REPO" --null -T - -cf - | tar -C "$work/checkout" -xf -
    cp -a "$site" "$work/site-packages"
    chmod -R a+rX "$work/checkout" "$work/site-packages"
    run_in="$work/checkout" site="$work/site-packages"
  fi
  PYTHONPATH_FOR_USER="$run_in:$site"
  # the venv's own programs the tests run (zizmor, a static binary) come along on PATH
  mkdir -p "$work/bin"
  for tool in zizmor; do
    if [ -x "$(dirname "$PYTHON")/$tool" ]; then cp "$(dirname "$PYTHON")/$tool" "$work/bin/"; fi
  done
  chmod -R a+rX "$work/bin"
  as_user "$py" -c "import hatch_krust, pytest" || { echo "$py cannot import the venv" >&2; exit 1; }
fi

cd "$run_in"
status=0
as_user "$py" -m pytest -p no:cacheprovider -n auto -m "not infra" -q "${@:-tests}" || status=$?
if [ -s "$marks/asked" ]; then
  echo "FAILED: a test asked the user's own credential helper for: $(sort -u "$marks/asked" | tr '\n' ' ')" >&2
  exit 1
fi
exit "$status"
