#!/usr/bin/env bash
# Builds heroku-reaper from this action ref's source, when dist/install.sh found no
# prebuilt binary for it, and adds it to $GITHUB_PATH. The build goes to SOURCE_ROOT,
# which the action's cache step has restored when an earlier job with the same key (this
# source, the runner's OS and CPU) built it; the cache saves it at the end of this job.
#
# Inputs (environment): SOURCE_ROOT, SOURCE_WHY (why there is no prebuilt binary),
# INPUT_BUILD_FROM_SOURCE; the runner's GITHUB_ACTION_PATH, GITHUB_PATH, RUNNER_OS.
set -euo pipefail

action_path=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this script as a step of the action}
root=${SOURCE_ROOT:?SOURCE_ROOT is not set: run dist/install.sh first}
exe=heroku-reaper
[ "${RUNNER_OS:-}" = Windows ] && exe=heroku-reaper.exe
binary="$root/bin/$exe"

error() {
  printf '::error title=heroku-reaper install::%s\n' "$*"
  exit 1
}

# Adds a directory to PATH for the next steps, in the form the runner's OS reads.
add_to_path() {
  local dir=$1
  if command -v cygpath >/dev/null; then
    dir=$(cygpath -w "$dir")
  fi
  echo "$dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
}

if [ -x "$binary" ] && "$binary" --version >/dev/null 2>&1; then
  echo "heroku-reaper: using the source build in $root (restored from the actions cache, or built by an earlier use in this job)"
  "$binary" --version
  add_to_path "$root/bin"
  exit 0
fi

case "${INPUT_BUILD_FROM_SOURCE:-}" in
  true | True | TRUE) ;;
  # Asked for, it needs no warning; otherwise say what it costs and how to avoid it.
  *) echo "::warning title=heroku-reaper install::building heroku-reaper from source, which takes a few minutes, because ${SOURCE_WHY:-there is no prebuilt binary}. Later jobs on this OS and CPU restore this build from the actions cache until the action's source changes. To install a verified prebuilt binary in seconds instead, pin the action at a release tag (\`uses: heroku-reaper/heroku-reaper@v0\`, or the commit it points to)." ;;
esac
if ! command -v cargo >/dev/null; then
  error "no prebuilt heroku-reaper (${SOURCE_WHY:-}), and no \`cargo\` to build one: install a Rust toolchain in an earlier step, or pin the action at a release tag (\`@v0\`)"
fi
echo "::group::cargo install --locked --path $action_path"
cargo install --locked --path "$action_path" --root "$root"
echo "::endgroup::"
"$binary" --version || error "the build in $root does not run"
add_to_path "$root/bin"
