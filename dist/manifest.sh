#!/usr/bin/env bash
# Prints dist/manifest.json for a release: its version and, per target, the asset's URL
# and sha256, read from the ARCHIVE.sha256 files that dist/package.sh wrote into DIR.
# One asset per line, so that dist/install.sh reads it with sed and needs no JSON tool.
#
# Usage: dist/manifest.sh VERSION BASE_URL DIR > dist/manifest.json
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 VERSION BASE_URL DIR" >&2
  exit 2
fi
version=$1
base=${2%/}
dir=$3

targets=(
  x86_64-unknown-linux-musl
  aarch64-unknown-linux-musl
  x86_64-apple-darwin
  aarch64-apple-darwin
  x86_64-pc-windows-msvc
)
lines=()
for target in "${targets[@]}"; do
  for archive in "heroku-reaper-$version-$target.tar.gz" "heroku-reaper-$version-$target.zip"; do
    if [ -f "$dir/$archive.sha256" ]; then
      sha256=$(cut -d ' ' -f 1 "$dir/$archive.sha256")
      if ! [[ $sha256 =~ ^[0-9a-f]{64}$ ]]; then
        echo "$dir/$archive.sha256 holds no sha256" >&2
        exit 1
      fi
      lines+=("    \"$target\": { \"url\": \"$base/$archive\", \"sha256\": \"$sha256\" }")
    fi
  done
done

printf '{\n  "version": "%s",\n' "$version"
if [ ${#lines[@]} -eq 0 ]; then
  printf '  "assets": {}\n}\n'
  exit 0
fi
printf '  "assets": {\n'
last=$((${#lines[@]} - 1))
for i in "${!lines[@]}"; do
  if [ "$i" -lt "$last" ]; then
    printf '%s,\n' "${lines[$i]}"
  else
    printf '%s\n' "${lines[$i]}"
  fi
done
printf '  }\n}\n'
