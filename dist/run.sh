#!/usr/bin/env bash
# Runs heroku-reaper once with the action's inputs, which arrive as INPUT_* variables.
# An empty input is "not set": it adds no flag, so the binary's own default (or the
# workflow's HEROKU_REAPER_* variable) applies. The key stays in HEROKU_API_KEY; the
# GitHub token (INPUT_GITHUB_TOKEN) reaches the binary only with `github-live-runs` or
# `reserve-apps`.
#
# Exit code: the binary's, except 3 (stopped at the `reserve-rate-limit` reserve),
# which is a warning so that the steps after this one still run; 5 (stopped at
# `deadline`) fails the step as 1 does. An empty key, as on a
# pull request from a fork or from Dependabot, fails with exit 2 or, with
# `if-no-key: skip`, is a warning with the outputs at zero.
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

case "${INPUT_IF_NO_KEY:-fail}" in
  fail | skip) ;;
  *) usage_error "\`if-no-key: ${INPUT_IF_NO_KEY}\` is not one of \`fail\` or \`skip\`" ;;
esac
value "${INPUT_PREFIX:-}" --prefix
value "${INPUT_OLDER_THAN:-}" --older-than
switch "${INPUT_ALL:-}" --all all
value "${INPUT_APP_LIMIT:-}" --app-limit
value "${INPUT_WAIT_FOR_ROOM:-}" --wait-for-room
value "${INPUT_RESERVE_APPS:-}" --reserve-apps
value "${INPUT_ACCOUNT_LIMIT:-}" --account-limit
value "${INPUT_IF_NO_ROOM:-}" --if-no-room
value "${INPUT_DEADLINE:-}" --deadline
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

# No key: the outputs are zero either way, so that the jobs after this one can read them.
if [ -z "${HEROKU_API_KEY:-}" ]; then
  printf 'deleted=0\nconflicts=0\nremaining=0\nreport=\n' >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
  if [ -n "${INPUT_RESERVE_APPS:-}" ]; then
    printf 'admitted=false\nwaited-seconds=0\n' >>"$GITHUB_OUTPUT"
  fi
  fork="GitHub gives no secrets to a workflow run by a pull request from a fork or from Dependabot"
  if [ "${INPUT_IF_NO_KEY:-fail}" = fail ]; then
    usage_error "no Heroku API key: \`heroku-api-key\` is empty. Pass the secret that holds it (\`heroku-api-key: \${{ secrets.HEROKU_API_KEY }}\`) and check that the secret \`HEROKU_API_KEY\` exists in this repository or its organization. $fork: set \`if-no-key: skip\` to skip the cleanup there instead of failing"
  fi
  echo "::warning title=heroku-reaper::skipped: no Heroku API key (\`heroku-api-key\` is empty; $fork). Nothing was deleted; the steps after this one still run."
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '## heroku-reaper: skipped\n\n%s\n' "No Heroku API key (\`heroku-api-key\` is empty, as on a pull request from a fork or from Dependabot): nothing was deleted." >>"$GITHUB_STEP_SUMMARY"
  fi
  exit 0
fi

# The token only where it is used, so that a binary that does not need it never holds it.
token=${INPUT_GITHUB_TOKEN:-}
unset INPUT_GITHUB_TOKEN
case "${INPUT_GITHUB_LIVE_RUNS:-}" in
  true | True | TRUE) export GITHUB_TOKEN="$token" ;;
esac
if [ -n "${INPUT_RESERVE_APPS:-}" ]; then
  export GITHUB_TOKEN="$token"
fi

# A report of its own per step, so that two uses in one job keep both (a path the
# workflow sets in HEROKU_REAPER_REPORT wins). The binary prints it as the `report` output.
if [ -z "${HEROKU_REAPER_REPORT:-}" ]; then
  report_dir=$(mktemp -d "${RUNNER_TEMP:?RUNNER_TEMP is not set}/heroku-reaper-report.XXXXXX")
  export HEROKU_REAPER_REPORT="$report_dir/report.json"
fi

# Bash 3.2 (macOS) treats an empty array as unset under `set -u`.
echo "heroku-reaper ${args[*]+${args[*]}}"
status=0
heroku-reaper ${args[@]+"${args[@]}"} || status=$?
if [ "$status" -eq 3 ]; then
  echo "::warning title=heroku-reaper::stopped at the rate-limit reserve (\`reserve-rate-limit\`): this step passes so that the tests still run; the next cleanup carries on"
  exit 0
fi
exit "$status"
