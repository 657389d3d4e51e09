#!/usr/bin/env bash
# The release: what .github/workflows/release.yml's jobs run, in an order that leaves
# users nothing broken when a step fails, and that a re-run completes:
#
#   check    the tag is Cargo.toml's version, CHANGELOG.md has its section, and no
#            release of it is published (a re-run after a success stops here).
#   publish  check again; every archive matches its .sha256; the release commit (this
#            commit plus dist/manifest.json); a draft release with the archives,
#            replacing a draft that an earlier run left; then the tags: `vX.Y.Z`, and
#            `vX` unless it names a later release, in one atomic push; then the draft
#            is published. If publishing fails, the tags are put back.
#
# The release commit is made the same way each time (fixed author, date and message),
# so a re-run with the same archives makes the very commit the tags may already name.
#
# Usage: dist/release.sh check TAG
#        dist/release.sh publish TAG ARCHIVE_DIR BASE_URL
# Run in a checkout of the tagged commit, with `origin` pushable and `gh` logged in
# (GH_TOKEN, GH_REPO).
set -euo pipefail

dist=$(cd "$(dirname "$0")" && pwd)
bot_name="github-actions[bot]"
bot_email="41898282+github-actions[bot]@users.noreply.github.com"

error() {
  printf '::error title=release::%s\n' "$*"
  exit 1
}

# Checks the archive a .sha256 file names against it, in the file's directory.
sha256_check() {
  if command -v sha256sum >/dev/null; then
    (cd "$(dirname "$1")" && sha256sum --check --status "${1##*/}")
  else
    (cd "$(dirname "$1")" && shasum -a 256 --check --status "${1##*/}")
  fi
}

# Whether version $1 is the same as or later than $2 (both X.Y.Z).
version_ge() {
  local a1 a2 a3 b1 b2 b3
  IFS=. read -r a1 a2 a3 <<<"$1"
  IFS=. read -r b1 b2 b3 <<<"$2"
  if [ "$a1" -ne "$b1" ]; then [ "$a1" -gt "$b1" ]; return; fi
  if [ "$a2" -ne "$b2" ]; then [ "$a2" -gt "$b2" ]; return; fi
  [ "$a3" -ge "$b3" ]
}

# CHANGELOG.md's section for version $1 at HEAD: what is under its heading, up to the
# next heading or link definition, without blank lines around it.
changelog_section() {
  git show HEAD:CHANGELOG.md 2>/dev/null | awk -v heading="## [$1]" '
    index($0, heading) == 1 { found = 1; next }
    found && (/^## / || /^\[[^]]*\]: /) { exit }
    found && NF { printf "%s", blank; print; blank = ""; started = 1; next }
    started { blank = blank "\n" }'
}

# Sets `version` and `source`; refuses a tag that is not this commit's release.
check_tag() {
  local crate
  [[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    error "\`$tag\` is not a release tag: release by pushing a tag \`vX.Y.Z\`"
  version=${tag#v}
  source=$(git rev-parse HEAD)
  crate=$(git show HEAD:Cargo.toml | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n 1)
  [ "$crate" = "$version" ] ||
    error "the tag $tag is not Cargo.toml's version ($crate): set \`version = \"$version\"\` in Cargo.toml and Cargo.lock, or tag v$crate"
  [ -n "$(changelog_section "$version")" ] ||
    error "CHANGELOG.md has no entries under \`## [$version]\`: move the Unreleased entries there (RELEASING.md)"
}

# "ID DRAFT" for each release of the tag, published or draft.
releases_of_tag() {
  gh api --paginate 'repos/{owner}/{repo}/releases?per_page=100' \
    --jq '.[] | "\(.id) \(.tag_name) \(.draft)"' | awk -v tag="$tag" '$2 == tag { print $1, $3 }'
}

# Sets `releases`; stops if one of them is published.
refuse_if_released() {
  releases=$(releases_of_tag) || error "cannot list the releases with \`gh api\`; nothing was changed"
  if grep -q ' false$' <<<"$releases"; then
    error "$tag is already released: its GitHub release is published, so this run changes nothing. A re-run cannot release it again; to ship a change, bump the version and tag that (RELEASING.md)"
  fi
}

# Every archive matches its .sha256, and every archive has one.
verify_archives() {
  local file name count=0
  for file in "$dir"/*; do
    name=${file##*/}
    case $name in
      *.sha256) [ -f "${file%.sha256}" ] || error "$name has no archive beside it in $dir" ;;
      *)
        [ -f "$file.sha256" ] || error "$name has no .sha256 beside it in $dir"
        [ "$(cut -d ' ' -f 3 "$file.sha256")" = "$name" ] ||
          error "$name.sha256 names another file: $(cat "$file.sha256")"
        sha256_check "$file.sha256" ||
          error "$name does not match its .sha256 ($(cut -d ' ' -f 1 "$file.sha256")); nothing was released"
        count=$((count + 1))
        ;;
    esac
  done
  [ "$count" -gt 0 ] || error "no archives in $dir"
  archives=$count
}

# Sets `release`: HEAD with dist/manifest.json for these archives, committed with a
# fixed author, date (HEAD's) and message, so the same archives give the same commit.
make_release_commit() {
  local index="$work/index" blob tree date listed
  bash "$dist/manifest.sh" "$version" "$base_url" "$dir" >"$work/manifest.json"
  listed=$(grep -c '"sha256"' "$work/manifest.json" || true)
  [ "$listed" -eq "$archives" ] ||
    error "$dir holds $archives archives but dist/manifest.sh lists $listed: an archive is not named heroku-reaper-$version-TARGET for a target it knows"
  GIT_INDEX_FILE=$index git read-tree HEAD
  blob=$(git hash-object -w "$work/manifest.json")
  GIT_INDEX_FILE=$index git update-index --add --cacheinfo "100644,$blob,dist/manifest.json"
  tree=$(GIT_INDEX_FILE=$index git write-tree)
  date="$(git show -s --format=%ct HEAD) +0000"
  release=$(GIT_AUTHOR_NAME=$bot_name GIT_AUTHOR_EMAIL=$bot_email GIT_AUTHOR_DATE=$date \
    GIT_COMMITTER_NAME=$bot_name GIT_COMMITTER_EMAIL=$bot_email GIT_COMMITTER_DATE=$date \
    git commit-tree --no-gpg-sign -p HEAD -m "Release $tag: dist/manifest.json" "$tree")
  echo "release commit: $release (dist/manifest.json of $archives archives)"
}

# What a tag is on origin: its value, and the commit it names (annotated tags peeled).
tag_value() {
  awk -v ref="refs/tags/$1" '$2 == ref { print $1 }' <<<"$remote_tags"
}
tag_commit() {
  awk -v ref="refs/tags/$1" '
    $2 == ref { raw = $1 } $2 == ref "^{}" { peeled = $1 }
    END { print (peeled != "" ? peeled : raw) }' <<<"$remote_tags"
}

# The highest version among origin's `vX.Y.Z` tags; only those naming commit $1 if given.
highest_version() {
  local ref name best=
  while read -r _ ref; do
    name=${ref#refs/tags/}
    [[ $name =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || continue
    if [ -n "${1:-}" ] && [ "$(tag_commit "$name")" != "$1" ]; then continue; fi
    if [ -z "$best" ] || version_ge "${name#v}" "$best"; then best=${name#v}; fi
  done <<<"$remote_tags"
  echo "$best"
}

# Adds tag $1 to the tags this run moves to the release commit.
move() {
  moved+=("$1")
  was+=("$(tag_value "$1")")
}

# Sets `moved` (with `was`, their values now) and `latest`: the version tag moves from
# this commit to the release commit; `vX` only forward; a later release stays Latest.
plan_tags() {
  local current major major_commit major_version newest
  remote_tags=$(git ls-remote --tags origin) || error "cannot read origin's tags; nothing was changed"
  moved=()
  was=()
  current=$(tag_commit "$tag")
  if [ "$current" = "$source" ]; then
    move "$tag"
  elif [ "$current" != "$release" ]; then
    error "$tag points at ${current:-nothing} on origin, neither this commit ($source) nor the release commit these archives make ($release). If an earlier run of this release moved it with other archives (\`Re-run all jobs\` rebuilds them), re-run only that run's failed jobs, which reuse its archives; if the tag was moved by hand, point it back at $source"
  fi
  major=${tag%%.*}
  major_commit=$(tag_commit "$major")
  if [ -z "$major_commit" ]; then
    move "$major"
  elif [ "$major_commit" != "$release" ]; then
    major_version=$(highest_version "$major_commit")
    [ -n "$major_version" ] ||
      error "$major points at $major_commit, which no version tag names: point it at the release it should follow (\`git push --force origin vX.Y.Z:refs/tags/$major\`), then re-run"
    if version_ge "$version" "$major_version"; then
      move "$major"
    else
      echo "$major stays at v$major_version, a later release than $version"
    fi
  fi
  newest=$(highest_version)
  latest=false
  if [ -z "$newest" ] || version_ge "$version" "$newest"; then latest=true; fi
}

# Fetches what the moved tags name now, so that they can be put back without the network
# having to serve anything but the push.
keep_old_tags() {
  local i refspecs=()
  for i in "${!moved[@]}"; do
    [ -z "${was[$i]}" ] || refspecs+=("+refs/tags/${moved[$i]}:refs/release/was/${moved[$i]}")
  done
  [ ${#refspecs[@]} -eq 0 ] || git fetch --quiet --no-tags --depth=1 origin "${refspecs[@]}" ||
    error "cannot fetch the tags $tag will move; nothing was changed"
}

# Pushes the moved tags, each leased at the value `from` says it has, to what `to` says.
push_tags() {
  local i from to refspecs=() leases=()
  for i in "${!moved[@]}"; do
    from=$release to=${was[$i]}
    if [ "$1" = forward ]; then from=${was[$i]} to=$release; fi
    leases+=("--force-with-lease=refs/tags/${moved[$i]}:$from")
    refspecs+=("$to:refs/tags/${moved[$i]}")
  done
  git push --quiet --atomic "${leases[@]}" origin "${refspecs[@]}"
}

replace_draft() {
  local id draft
  while read -r id draft; do
    [ "$draft" = true ] || continue
    echo "deleting the draft release $id that an earlier run of $tag left"
    gh api --method DELETE "repos/{owner}/{repo}/releases/$id" >/dev/null ||
      error "cannot delete the draft release $id of $tag; no tag moved and nothing was published"
  done <<<"$releases"
  changelog_section "$version" >"$work/notes.md"
  gh release create "$tag" --draft --title "$tag" --notes-file "$work/notes.md" "$dir"/* ||
    error "creating the draft release of $tag failed; no tag moved and nothing was published. Re-run the failed jobs: the run replaces the draft and carries on"
  echo "draft release $tag created with $(find "$dir" -type f | wc -l | tr -d ' ') assets"
}

move_tags() {
  if [ ${#moved[@]} -eq 0 ]; then
    echo "the tags already point at the release commit (an earlier run moved them)"
    return
  fi
  keep_old_tags
  push_tags forward ||
    error "pushing the tags ${moved[*]} failed; they are as they were, and the release is a draft. Re-run the failed jobs: the run replaces the draft and carries on"
  echo "moved ${moved[*]} to $release"
}

publish_draft() {
  if gh release edit "$tag" --draft=false --latest="$latest" >/dev/null; then
    echo "published $tag (latest: $latest)"
    return
  fi
  # The request may have been carried out though its answer was lost.
  if releases=$(releases_of_tag) && grep -q ' false$' <<<"$releases"; then
    echo "::warning title=release::gh reported a failure, but $tag is published: the release is complete"
    return
  fi
  if [ ${#moved[@]} -gt 0 ] && ! push_tags back; then
    error "publishing the draft of $tag failed, and so did putting ${moved[*]} back: they name the release commit $release while the release is a draft. Re-run the failed jobs: the run finds them moved and publishes"
  fi
  error "publishing the draft of $tag failed; the tags are as they were before this run and the release is a draft. Re-run the failed jobs: the run replaces the draft and carries on"
}

case "${1:-} $#" in
  "check 2")
    tag=$2
    check_tag
    refuse_if_released
    echo "$tag: Cargo.toml's version, with a CHANGELOG.md section, and not released yet"
    ;;
  "publish 4")
    tag=$2 dir=${3%/} base_url=${4%/}
    check_tag
    refuse_if_released
    verify_archives
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    make_release_commit
    plan_tags
    replace_draft
    move_tags
    publish_draft
    ;;
  *)
    echo "usage: $0 check TAG" >&2
    echo "       $0 publish TAG ARCHIVE_DIR BASE_URL" >&2
    exit 2
    ;;
esac
