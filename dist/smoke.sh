#!/usr/bin/env bash
# Runs a built heroku-reaper before it ships (the release workflow's build job, on each
# target the runner can run): `--version` names VERSION, and a dry run against the
# binary's own sandbox (`heroku-reaper sandbox`, on 127.0.0.1) exits 0 with apps to delete.
#
# Usage: dist/smoke.sh BINARY VERSION
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY VERSION" >&2
  exit 2
fi
binary=$1
version=$2

error() {
  printf '::error title=smoke test::%s\n' "$*"
  exit 1
}

said=$("$binary" --version) || error "\`$binary --version\` exited $?"
[ "$said" = "heroku-reaper $version" ] ||
  error "\`$binary --version\` says \`$said\`, not \`heroku-reaper $version\`"
echo "$said"

work=$(mktemp -d)
sandbox=
# shellcheck disable=SC2317 # called by the trap
stop() {
  if [ -n "$sandbox" ]; then kill "$sandbox" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap stop EXIT
"$binary" sandbox >"$work/sandbox.env" 2>"$work/sandbox.log" &
sandbox=$!
for _ in $(seq 100); do
  [ "$(grep -c '^HEROKU_API_' "$work/sandbox.env")" -lt 2 ] || break
  kill -0 "$sandbox" 2>/dev/null || error "\`$binary sandbox\` exited: $(cat "$work/sandbox.log")"
  sleep 0.1
done
url=$(sed -n 's/^HEROKU_API_URL=//p' "$work/sandbox.env")
key=$(sed -n 's/^HEROKU_API_KEY=//p' "$work/sandbox.env")
if [ -z "$url" ] || [ -z "$key" ]; then
  error "\`$binary sandbox\` printed no HEROKU_API_URL and HEROKU_API_KEY lines"
fi

status=0
HEROKU_API_URL=$url HEROKU_API_KEY=$key HEROKU_REAPER_LOCK=off \
  "$binary" --dry-run >"$work/plan.txt" 2>"$work/plan.log" || status=$?
echo "::group::the dry run's plan"
cat "$work/plan.txt" "$work/plan.log"
echo "::endgroup::"
[ "$status" -eq 0 ] || error "the dry run against the sandbox exited $status"
grep -Eq '^ *would delete +[1-9]' "$work/plan.txt" ||
  error "the dry run against the sandbox planned no delete"
echo "smoke test passed: $said, and a dry run against its sandbox"
