#!/usr/bin/env bash
# Installs heroku-reaper for the action's run step and adds it to $GITHUB_PATH.
#
# The prebuilt binary of this action ref's release, verified against the sha256 in
# dist/manifest.json (committed with the release, so the checksum comes from the ref the
# user pinned, not from where the binary is downloaded), reused from the runner's tool
# cache when it is there. When the manifest has no asset for this runner, when this ref
# is not a release, or when `build-from-source` is true, it installs nothing: it sets the
# step outputs `source=true`, `source-key` and `source-root`, and the action's next steps
# restore an earlier job's build from the actions cache or build it (dist/build.sh).
# So it does, with a warning, when the release's asset is not there (404): a release is
# published only after its tags move, and may be deleted later.
#
# Inputs (environment): INPUT_VERSION, INPUT_BUILD_FROM_SOURCE; the runner's
# GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_PATH, RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP,
# RUNNER_TOOL_CACHE.
# HEROKU_REAPER_INSTALL_BACKOFF: seconds before the first download retry (doubles each time).
set -euo pipefail

action_path=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this script as a step of the action}
manifest="$action_path/dist/manifest.json"
attempts=5
backoff=${HEROKU_REAPER_INSTALL_BACKOFF:-1}

error() {
  printf '::error title=heroku-reaper install::%s\n' "$*"
  exit 1
}

# The value of "key": "value" on the first line of stdin that has it.
field() {
  sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" | head -n 1
}

is_true() {
  case "$1" in
    true | True | TRUE) return 0 ;;
    false | False | FALSE | '') return 1 ;;
    *) error "\`build-from-source: $1\` is not a boolean; use \`true\` or \`false\`" ;;
  esac
}

# The release target of a runner, or nothing when releases have none for it. Windows on
# ARM64 runs the x64 binary under its built-in emulation, as other installers do.
target_for() {
  case "$1/$2" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    Windows/X64 | Windows/ARM64) echo x86_64-pc-windows-msvc ;;
  esac
}

# The sha256 of a file, or of stdin with `-`.
sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

# What a source build of this ref is made from, hashed: the cache key of that build.
# Every path compiled into the binary: the manifests, the lock file, src/, and crates/
# (the sandbox crate, a path dependency); build.rs too, should one appear. Relative
# paths, so the key does not depend on where the runner checked the action out.
source_hash() {
  (
    cd "$action_path"
    local path paths=()
    for path in Cargo.toml Cargo.lock build.rs src crates; do
      [ ! -e "$path" ] || paths+=("$path")
    done
    find "${paths[@]}" -type f | LC_ALL=C sort | while IFS= read -r file; do
      printf '%s %s\n' "$(sha256_of "$file")" "$file"
    done
  ) | sha256_of -
}

# Downloads with retries; returns 2 at once on a 404, which a retry would not change.
download() {
  local url=$1 to=$2 try=1 wait=$backoff proto='=https' code
  # Only a server on this machine may be plain http (the install tests serve one).
  case "$url" in http://127.0.0.1[:/]* | http://localhost[:/]*) proto='=http' ;; esac
  until code=$(curl --proto "$proto" --fail --silent --show-error --location \
    --connect-timeout 20 --max-time 300 --output "$to" --write-out '%{http_code}' "$url"); do
    [ "$code" != 404 ] || return 2
    if [ "$try" -ge "$attempts" ]; then
      error "cannot download $url after $attempts attempts"
    fi
    echo "download failed (attempt $try of $attempts); retrying in ${wait}s"
    sleep "$wait"
    try=$((try + 1))
    wait=$((wait * 2))
  done
}

# Adds a directory to PATH for the next steps, in the form the runner's OS reads.
add_to_path() {
  local dir=$1
  if command -v cygpath >/dev/null; then
    dir=$(cygpath -w "$dir")
  fi
  echo "$dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
}

# Leaves the build to the action's next steps: the actions cache, then dist/build.sh.
build_from_source() {
  local os=${RUNNER_OS:?RUNNER_OS is not set} arch=${RUNNER_ARCH:?RUNNER_ARCH is not set} key
  key="heroku-reaper-source-$version-$os-$arch-$(source_hash)"
  echo "heroku-reaper: no prebuilt binary: $1"
  echo "the next steps restore the build of an earlier job from the actions cache ($key), or build it"
  {
    echo "source=true"
    echo "source-why=$1"
    echo "source-key=$key"
    echo "source-root=${RUNNER_TEMP:?RUNNER_TEMP is not set}/heroku-reaper-source"
  } >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
}

# The code this action ref holds; a prebuilt binary is used only when the manifest
# is of the same version (as in a release commit) and verifies it.
# (Up to the closing quote: a checkout on Windows may end its lines with CRLF.)
version=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' "$action_path/Cargo.toml" | head -n 1)
[ -n "$version" ] || error "$action_path/Cargo.toml has no version"
wanted=${INPUT_VERSION:-}
wanted=${wanted#v}
if [ -n "$wanted" ] && [ "$wanted" != "$version" ]; then
  error "\`version: $wanted\` is not the version this action ref installs ($version); pin the action at that release instead (\`uses: heroku-reaper/heroku-reaper@v$wanted\`), or leave \`version\` empty"
fi

if is_true "${INPUT_BUILD_FROM_SOURCE:-}"; then
  build_from_source "\`build-from-source\` is true"
  exit 0
fi
release=$(field version <"$manifest")
if [ "$release" != "$version" ] || ! grep -q '"sha256"' "$manifest"; then
  build_from_source "this action ref is not a release: dist/manifest.json lists no prebuilt binaries of $version"
  exit 0
fi

os=${RUNNER_OS:?RUNNER_OS is not set}
arch=${RUNNER_ARCH:?RUNNER_ARCH is not set}
target=$(target_for "$os" "$arch")
asset_line=
if [ -n "$target" ]; then
  asset_line=$(grep -F "\"$target\"" "$manifest" || true)
fi
url=$(field url <<<"$asset_line")
expected=$(field sha256 <<<"$asset_line")
if [ -z "$url" ] || [ -z "$expected" ]; then
  build_from_source "release $version has no prebuilt binary for $os $arch${target:+ ($target)}"
  exit 0
fi

exe=heroku-reaper
[ "$os" = Windows ] && exe=heroku-reaper.exe
if [ "$os/$arch" = Windows/ARM64 ]; then
  echo "heroku-reaper: Windows on ARM64 runs the x64 binary under emulation"
fi
arch_dir=$(printf '%s' "$arch" | tr '[:upper:]' '[:lower:]')
cache="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set}/heroku-reaper/$version"
dir="$cache/$arch_dir"
complete="$cache/$arch_dir.complete"
if [ -f "$complete" ]; then
  # Checked again, in case an older install.sh marked a broken copy complete.
  if "$dir/$exe" --version >/dev/null 2>&1; then
    echo "heroku-reaper $version: found in the tool cache ($dir)"
    add_to_path "$dir"
    exit 0
  fi
  echo "heroku-reaper $version: the tool cache's copy does not run; installing it again"
fi
rm -rf "$dir" "$complete"

staging=$(mktemp -d "${RUNNER_TEMP:?RUNNER_TEMP is not set}/heroku-reaper.XXXXXX")
trap 'rm -rf "$staging"' EXIT
archive="$staging/${url##*/}"
echo "heroku-reaper $version: downloading the $target binary from $url"
status=0
download "$url" "$archive" || status=$?
if [ "$status" -eq 2 ]; then
  # The manifest lists it, so the release is not (or no longer) published: a release being
  # cut right now, or one deleted. This ref's own source is as trusted as its manifest.
  echo "::warning title=heroku-reaper install::release $version's ${url##*/} is not on GitHub (404), though dist/manifest.json of this action ref lists it: building heroku-reaper from this ref's source instead. If the release is being published right now, the next run gets the prebuilt binary; if it stays missing, pin the action at another release and report it at https://github.com/heroku-reaper/heroku-reaper/issues"
  build_from_source "the prebuilt binary of release $version for $os $arch is not published (${url##*/}: 404)"
  exit 0
fi
actual=$(sha256_of "$archive")
if [ "$actual" != "$expected" ]; then
  error "checksum mismatch for ${url##*/}: expected $expected (dist/manifest.json of this action ref), got $actual; nothing was installed"
fi
echo "sha256 $actual: matches dist/manifest.json"
mkdir "$staging/unpacked"
case "$archive" in
  *.zip) unzip -q "$archive" -d "$staging/unpacked" ;;
  *) tar -xzf "$archive" -C "$staging/unpacked" ;;
esac
[ -f "$staging/unpacked/$exe" ] || error "${url##*/} holds no $exe"
mkdir -p "$dir"
cp "$staging/unpacked/$exe" "$dir/$exe"
chmod +x "$dir/$exe"
# The tool cache is marked complete only once the binary runs, so that a broken copy is
# never reused by a later job.
status=0
smoke=$("$dir/$exe" --version 2>&1) || status=$?
if [ "$status" -ne 0 ]; then
  rm -rf "$dir"
  rmdir "$cache" 2>/dev/null || true
  error "the $target binary of ${url##*/} does not run on this runner (\`heroku-reaper --version\` exited $status: ${smoke//$'\n'/ }); nothing was installed. Set \`build-from-source: true\` to build it here instead, and report this at https://github.com/heroku-reaper/heroku-reaper/issues"
fi
touch "$complete"
echo "$smoke"
echo "heroku-reaper $version: installed the prebuilt $target binary in $dir"
add_to_path "$dir"
