#!/usr/bin/env bash
# Runs heroku-reaper once with the action's inputs, which arrive as INPUT_* variables.
# An empty input is "not set": it adds no flag, so the binary's own default (or the
# workflow's HEROKU_REAPER_* variable) applies. The key stays in HEROKU_API_KEY.
#
# Exit code: the binary's, except 3 (stopped at the `reserve-rate-limit` reserve),
# which is a warning so that the steps after this one still run.
set -euo pipefail

args=()

usage_error() {
  printf '::error title=heroku-reaper::%s\n' "$*"
  exit 2
}

# --flag VALUE when the input is set.
value() {
  if [ -n "$1" ]; then
    args+=("$2" "$1")
  fi
}

# --flag when the input is true.
switch() {
  case "$1" in
    true | True | TRUE) args+=("$2") ;;
    false | False | FALSE | '') ;;
    *) usage_error "\`$3: $1\` is not a boolean; use \`true\` or \`false\`" ;;
  esac
}

# --flag ITEM for each item of a comma- or newline-separated list.
list() {
  local item
  while IFS= read -r item; do
    item=$(printf '%s' "$item" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    if [ -n "$item" ]; then
      args+=("$2" "$item")
    fi
  done < <(printf '%s\n' "$1" | tr ',' '\n')
}

value "${INPUT_PREFIX:-}" --prefix
value "${INPUT_OLDER_THAN:-}" --older-than
switch "${INPUT_ALL:-}" --all all
value "${INPUT_APP_LIMIT:-}" --app-limit
value "${INPUT_WAIT_FOR_ROOM:-}" --wait-for-room
value "${INPUT_TEAM:-}" --team
list "${INPUT_KEEP:-}" --keep
switch "${INPUT_DRY_RUN:-}" --dry-run dry-run
value "${INPUT_MAX_DELETES:-}" --max-deletes
value "${INPUT_CONCURRENCY:-}" --concurrency
value "${INPUT_SHARD:-}" --shard
value "${INPUT_RESERVE_RATE_LIMIT:-}" --reserve-rate-limit
switch "${INPUT_GITHUB_LIVE_RUNS:-}" --github-live-runs github-live-runs
list "${INPUT_GITHUB_REPOS:-}" --github-repo
switch "${INPUT_PIPELINES:-}" --pipelines pipelines
value "${INPUT_API_URL:-}" --api-url

# Bash 3.2 (macOS) treats an empty array as unset under `set -u`.
echo "heroku-reaper ${args[*]+${args[*]}}"
status=0
heroku-reaper ${args[@]+"${args[@]}"} || status=$?
if [ "$status" -eq 3 ]; then
  echo "::warning title=heroku-reaper::stopped at the rate-limit reserve (\`reserve-rate-limit\`): this step passes so that the tests still run; the next cleanup carries on"
  exit 0
fi
exit "$status"
