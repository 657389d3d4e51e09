#!/usr/bin/env bash
# Packs one release binary as heroku-reaper-VERSION-TARGET.tar.gz (.zip for Windows),
# with README.md, and writes its checksum beside it as ARCHIVE.sha256.
# The archive is flat: dist/install.sh finds the binary at its top.
#
# Usage: dist/package.sh VERSION TARGET BINARY OUT_DIR
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 VERSION TARGET BINARY OUT_DIR" >&2
  exit 2
fi
version=$1
target=$2
binary=$3
mkdir -p "$4"
out=$(cd "$4" && pwd)
readme="$(cd "$(dirname "$0")/.." && pwd)/README.md"

name="heroku-reaper-$version-$target"
exe=heroku-reaper
case "$target" in *-windows-*) exe=heroku-reaper.exe ;; esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/$exe"
chmod +x "$stage/$exe"
cp "$readme" "$stage/README.md"

case "$target" in
  *-windows-*)
    archive="$name.zip"
    if command -v zip >/dev/null; then
      (cd "$stage" && zip -q "$out/$archive" "$exe" README.md)
    else
      # Windows runners have 7-Zip rather than zip.
      (cd "$stage" && 7z a -tzip -bso0 "$out/$archive" "$exe" README.md)
    fi
    ;;
  *)
    archive="$name.tar.gz"
    tar -C "$stage" -czf "$out/$archive" "$exe" README.md
    ;;
esac

cd "$out"
if command -v sha256sum >/dev/null; then
  sha256sum "$archive" >"$archive.sha256"
else
  shasum -a 256 "$archive" >"$archive.sha256"
fi
echo "$out/$archive"
