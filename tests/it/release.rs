//! `dist/release.sh`, which `.github/workflows/release.yml` runs, replayed against a
//! bare repository on disk as `origin` and a stand-in `gh` (`tests/it/stand-ins/gh`)
//! that keeps releases in files: a draft with its assets before any tag moves and
//! publishing last; a failure at each step leaving tags and published releases as they
//! were, and a re-run completing; a re-run after a release stopping at once; `vX` never
//! moving back to an older release. And `dist/smoke.sh`, the build job's run of each
//! binary before it ships.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::reaper::{BIN, Run};
use crate::runner::{self, PLATFORMS};

const TOOLS: [&str; 5] = ["bash", "git", "tar", "gzip", "zip"];

/// A project to release: `origin.git` (whose hooks log each push to the stand-in's log,
/// and refuse pushes while `gh/fail-push` exists), a clone of it in `work/`, the
/// stand-in's state in `gh/`.
struct Project {
    root: tempfile::TempDir,
}

/// A release as the stand-in `gh` keeps it.
#[derive(Debug, PartialEq)]
struct Release {
    id: String,
    tag: String,
    draft: bool,
    latest: String,
    notes: String,
    assets: BTreeMap<String, Vec<u8>>,
}

impl Project {
    /// `None`, saying why, without the tools the scripts use.
    fn new() -> Option<Project> {
        if !runner::has_tools(&TOOLS) {
            return None;
        }
        let project = Project {
            root: tempfile::tempdir().unwrap(),
        };
        for dir in ["gh", "bin", "home", "work/dist"] {
            std::fs::create_dir_all(project.path(dir)).unwrap();
        }
        let gh = project.path("bin/gh");
        std::fs::copy(runner::repo().join("tests/it/stand-ins/gh"), &gh).unwrap();
        runner::make_executable(&gh);
        project.git(&["init", "--quiet", "--bare", "../origin.git"]);
        let state = project.path("gh").display().to_string();
        project.hook(
            "pre-receive",
            &format!("if [ -e '{state}/fail-push' ]; then echo 'push refused'; exit 1; fi"),
        );
        project.hook(
            "post-receive",
            &format!("while read -r _ new ref; do echo \"push $ref $new\" >>'{state}/log'; done"),
        );
        project.git(&["init", "--quiet", "-b", "main"]);
        project.git(&["remote", "add", "origin", "../origin.git"]);
        std::fs::copy(
            runner::repo().join("dist/manifest.json"),
            project.path("work/dist/manifest.json"),
        )
        .unwrap();
        Some(project)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    fn hook(&self, name: &str, body: &str) {
        let hook = self.path("origin.git/hooks").join(name);
        std::fs::write(&hook, format!("#!/bin/sh\n{body}\n")).unwrap();
        runner::make_executable(&hook);
    }

    /// A command in `work/`, with a git of its own (no user or system configuration).
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(self.path("bin")).chain(std::env::split_paths(&path)),
        )
        .unwrap();
        command
            .current_dir(self.path("work"))
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GH_STATE", self.path("gh"));
        for (name, value) in [
            ("GIT_AUTHOR_NAME", "Maintainer"),
            ("GIT_AUTHOR_EMAIL", "maintainer@example.com"),
            ("GIT_COMMITTER_NAME", "Maintainer"),
            ("GIT_COMMITTER_EMAIL", "maintainer@example.com"),
        ] {
            command.env(name, value);
        }
        command
    }

    fn git(&self, args: &[&str]) -> String {
        let output = self.command("git").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// Commits a Cargo.toml of `version` and a CHANGELOG.md with a section for
    /// `changelog`, tags it `tag` (annotated, as a maintainer may) and pushes the tag,
    /// as a maintainer does to release; gives the commit.
    fn commit(&self, version: &str, changelog: &str, tag: &str) -> String {
        let cargo = format!("[package]\nname = \"heroku-reaper\"\nversion = \"{version}\"\n");
        let notes = notes(changelog);
        let log = format!(
            "# Changelog\n\n## [Unreleased]\n\n## [{changelog}] - 2026-01-01\n\n{notes}\n\
             [{changelog}]: https://example.com/{changelog}\n"
        );
        std::fs::write(self.path("work/Cargo.toml"), cargo).unwrap();
        std::fs::write(self.path("work/CHANGELOG.md"), log).unwrap();
        self.git(&["add", "--all"]);
        self.git(&[
            "commit",
            "--quiet",
            "--message",
            &format!("Version {version}"),
        ]);
        self.git(&["tag", "--annotate", "--message", tag, tag]);
        self.git(&["push", "--quiet", "origin", &format!("refs/tags/{tag}")]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// What the tagged commit of `version` becomes, tagged `vVERSION`.
    fn tagged(&self, version: &str) -> String {
        self.commit(version, version, &format!("v{version}"))
    }

    /// The archives of every target as the build jobs make them (`dist/package.sh`),
    /// around a stand-in binary whose bytes name `build`: two builds differ.
    fn archives(&self, version: &str, build: &str) -> PathBuf {
        let dir = self.path(&format!("archives-{version}-{build}"));
        let binary = self.path(&format!("binary-{build}"));
        std::fs::write(&binary, format!("heroku-reaper {version}, build {build}\n")).unwrap();
        for (_, _, target) in PLATFORMS {
            let args = [version.as_ref(), target.as_ref(), binary.as_os_str()];
            runner::dist("package.sh", &[&args[..], &[dir.as_os_str()]].concat());
        }
        dir
    }

    /// Runs `dist/release.sh` with `args` in `work/`; gives the run and the lines the
    /// stand-in `gh` and the origin's hooks logged meanwhile.
    fn release(&self, args: &[&OsStr]) -> (Run, Vec<String>) {
        let before = self.log().len();
        let output = self
            .command("bash")
            .arg(runner::repo().join("dist/release.sh"))
            .args(args)
            .output()
            .unwrap();
        (Run::from(output), self.log()[before..].to_vec())
    }

    fn publish(&self, version: &str, archives: &Path) -> (Run, Vec<String>) {
        let tag = format!("v{version}");
        let base = base_url(version);
        self.release(&[
            "publish".as_ref(),
            tag.as_ref(),
            archives.as_os_str(),
            base.as_ref(),
        ])
    }

    fn check(&self, tag: &str) -> (Run, Vec<String>) {
        self.release(&["check".as_ref(), tag.as_ref()])
    }

    /// Makes the next `what` fail: `fail-create`, `fail-push`, `fail-edit`, ...
    fn fail(&self, what: &str) {
        std::fs::write(self.path("gh").join(what), "").unwrap();
    }

    fn heal(&self) {
        for entry in std::fs::read_dir(self.path("gh")).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("fail-") {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
    }

    fn log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.path("gh/log")).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    /// The origin's tags and the commit each names.
    fn tags(&self) -> BTreeMap<String, String> {
        let listing = self.git(&["ls-remote", "--tags", "origin"]);
        let mut tags = BTreeMap::new();
        for line in listing.lines() {
            let (commit, name) = line.split_once('\t').unwrap();
            let name = name.strip_prefix("refs/tags/").unwrap();
            // An annotated tag's `^{}` line names its commit, and comes after it.
            let name = name.strip_suffix("^{}").unwrap_or(name);
            tags.insert(name.to_string(), commit.to_string());
        }
        tags
    }

    fn releases(&self) -> Vec<Release> {
        let mut releases = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.path("gh/releases")) else {
            return releases;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            let read = |name: &str| {
                std::fs::read_to_string(dir.join(name))
                    .map(|text| text.trim_end().to_string())
                    .unwrap_or_default()
            };
            releases.push(Release {
                id: entry.file_name().to_string_lossy().into_owned(),
                tag: read("tag"),
                draft: read("draft") == "true",
                latest: read("latest"),
                notes: read("notes.md"),
                assets: files(&dir.join("assets")),
            });
        }
        releases.sort_by(|a, b| a.id.cmp(&b.id));
        releases
    }

    fn published(&self) -> Vec<Release> {
        self.releases().into_iter().filter(|r| !r.draft).collect()
    }

    /// A file of a commit on origin.
    fn show(&self, commit: &str, path: &str) -> String {
        self.git(&["show", &format!("{commit}:{path}")])
    }
}

fn base_url(version: &str) -> String {
    format!("https://github.com/heroku-reaper/heroku-reaper/releases/download/v{version}")
}

fn notes(version: &str) -> String {
    format!("### Fixed\n\n- What {version} fixes.\n")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read(e.path()).unwrap())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Releases `version` from a fresh commit and checks it succeeded; gives the release
/// commit the tags now name.
fn release(project: &Project, version: &str) -> String {
    project.tagged(version);
    let (run, _) = project.publish(version, &project.archives(version, "first"));
    run.code(0).stdout_has(&format!("published v{version}"));
    project.tags()[&format!("v{version}")].clone()
}

#[test]
fn a_release_is_a_draft_with_its_assets_before_the_tags_move_and_is_published_last() {
    let Some(project) = Project::new() else {
        return;
    };
    let source = project.tagged("0.1.0");
    let archives = project.archives("0.1.0", "first");
    let (run, log) = project.publish("0.1.0", &archives);
    run.code(0);

    let tags = project.tags();
    let commit = &tags["v0.1.0"];
    assert_eq!(tags["v0"], *commit);
    assert_eq!(log.len(), 4, "{log:#?}");
    assert_eq!(log[0], "create release 1001 v0.1.0 draft with 10 assets");
    let mut pushes = log[1..3].to_vec();
    pushes.sort();
    assert_eq!(
        pushes,
        [
            format!("push refs/tags/v0 {commit}"),
            format!("push refs/tags/v0.1.0 {commit}")
        ]
    );
    assert_eq!(log[3], "publish release 1001 v0.1.0 latest=true");

    // The release commit: the tagged commit plus the manifest of exactly these archives.
    assert_eq!(project.git(&["rev-parse", &format!("{commit}^")]), source);
    assert_eq!(
        project.git(&["log", "-1", "--format=%s", commit]),
        "Release v0.1.0: dist/manifest.json"
    );
    let changed = project.git(&["diff", "--name-only", &source, commit]);
    assert_eq!(changed, "dist/manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&project.show(commit, "dist/manifest.json")).unwrap();
    assert_eq!(manifest["version"], "0.1.0");
    let assets = manifest["assets"].as_object().unwrap();
    assert_eq!(assets.len(), PLATFORMS.len());
    for (_, _, target) in PLATFORMS {
        let entry = &assets[target];
        let url = entry["url"].as_str().unwrap();
        let name = url
            .strip_prefix(&format!("{}/", base_url("0.1.0")))
            .unwrap();
        let sums = std::fs::read_to_string(archives.join(format!("{name}.sha256"))).unwrap();
        assert_eq!(entry["sha256"].as_str(), sums.split(' ').next(), "{target}");
    }

    let [published] = &project.releases()[..] else {
        panic!("{:#?}", project.releases());
    };
    assert_eq!(published.tag, "v0.1.0");
    assert!(!published.draft);
    assert_eq!(published.latest, "true");
    assert_eq!(
        published.assets,
        files(&archives),
        "every archive and .sha256"
    );
    assert_eq!(published.notes, notes("0.1.0").trim_end());
}

/// A failure at each step after the checks: creating the draft (an upload fails), pushing
/// the tags, publishing the draft. Each leaves the tags and the published releases as they
/// were; the re-run replaces the draft it left and publishes once.
#[test]
fn a_failed_step_leaves_tags_and_releases_as_they_were_and_a_rerun_completes() {
    for (fault, says) in [
        (
            "fail-create",
            "creating the draft release of v0.2.0 failed; no tag moved",
        ),
        (
            "fail-push",
            "pushing the tags v0.2.0 v0 failed; they are as they were",
        ),
        (
            "fail-edit",
            "publishing the draft of v0.2.0 failed; the tags are as they were before this run",
        ),
    ] {
        let Some(project) = Project::new() else {
            return;
        };
        release(&project, "0.1.0");
        project.tagged("0.2.0");
        let archives = project.archives("0.2.0", "first");
        let (tags, published) = (project.tags(), project.published());

        project.fail(fault);
        let (run, _) = project.publish("0.2.0", &archives);
        run.code(1)
            .stdout_has(&format!("::error title=release::{says}"))
            .stdout_has("Re-run the failed jobs");
        assert_eq!(project.tags(), tags, "{fault}: the tags");
        assert_eq!(
            project.published(),
            published,
            "{fault}: the published releases"
        );
        let [left] = &project.releases()[1..] else {
            panic!("{fault}: {:#?}", project.releases());
        };
        assert!(left.draft, "{fault}");

        project.heal();
        let (run, log) = project.publish("0.2.0", &archives);
        run.code(0);
        assert_eq!(log[0], format!("delete release {}", left.id), "{fault}");
        let publishes = project
            .log()
            .iter()
            .filter(|l| l.contains("v0.2.0 latest="))
            .count();
        assert_eq!(publishes, 1, "{fault}: {:#?}", project.log());
        let releases = project.releases();
        assert_eq!(releases.len(), 2, "{fault}: {releases:#?}");
        assert!(releases.iter().all(|r| !r.draft), "{fault}");
        assert_eq!(releases[0], published[0], "{fault}: 0.1.0 untouched");
        let tags = project.tags();
        assert_eq!(tags["v0"], tags["v0.2.0"], "{fault}");
        assert_eq!(
            project.show(&tags["v0"], "Cargo.toml"),
            project.show("HEAD", "Cargo.toml"),
            "{fault}"
        );
    }
}

/// `gh release edit` published the release but its answer was lost: the release is
/// complete, so the tags stay, and nothing is published twice.
#[test]
fn a_publish_whose_answer_is_lost_is_complete() {
    let Some(project) = Project::new() else {
        return;
    };
    project.tagged("0.1.0");
    project.fail("fail-edit-published");
    let (run, _) = project.publish("0.1.0", &project.archives("0.1.0", "first"));
    run.code(0)
        .stdout_has("gh reported a failure, but v0.1.0 is published: the release is complete");
    let tags = project.tags();
    assert_eq!(tags["v0"], tags["v0.1.0"]);
    assert_eq!(project.published().len(), 1);
    assert_eq!(project.releases().len(), 1);
}

/// Publishing failed and the network went with it, so the tags stayed moved. A re-run
/// with the same archives (GitHub's "Re-run failed jobs") makes the same release commit,
/// finds the tags on it and publishes; rebuilt archives, whose manifest would make
/// another commit, are refused before anything changes.
#[test]
fn after_a_failed_rollback_only_the_same_archives_complete_the_release() {
    let Some(project) = Project::new() else {
        return;
    };
    let source = project.tagged("0.1.0");
    let archives = project.archives("0.1.0", "first");
    project.fail("fail-edit-offline");
    let (run, _) = project.publish("0.1.0", &archives);
    run.code(1)
        .stdout_has("publishing the draft of v0.1.0 failed, and so did putting v0.1.0 v0 back");
    project.heal();
    let tags = project.tags();
    let moved = tags["v0.1.0"].clone();
    assert_ne!(moved, source);

    let (run, log) = project.publish("0.1.0", &project.archives("0.1.0", "rebuilt"));
    run.code(1).stdout_has(&format!(
        "v0.1.0 points at {moved} on origin, neither this commit ({source}) nor the release \
         commit these archives make"
    ));
    assert_eq!(log, Vec::<String>::new(), "nothing changed");
    assert_eq!(project.tags(), tags);

    let (run, log) = project.publish("0.1.0", &archives);
    run.code(0)
        .stdout_has(&format!("release commit: {moved}"))
        .stdout_has("the tags already point at the release commit");
    assert!(!log.iter().any(|line| line.starts_with("push")), "{log:#?}");
    assert_eq!(project.tags(), tags);
    let [published] = &project.releases()[..] else {
        panic!("{:#?}", project.releases());
    };
    assert!(!published.draft);
}

#[test]
fn a_rerun_after_a_release_stops_at_once() {
    let Some(project) = Project::new() else {
        return;
    };
    release(&project, "0.1.0");
    let (tags, releases) = (project.tags(), project.releases());
    for (run, log) in [
        project.check("v0.1.0"),
        project.publish("0.1.0", &project.archives("0.1.0", "rebuilt")),
    ] {
        run.code(1).stdout_has(
            "::error title=release::v0.1.0 is already released: its GitHub release is published",
        );
        assert_eq!(log, Vec::<String>::new());
    }
    assert_eq!(project.tags(), tags);
    assert_eq!(project.releases(), releases);
}

/// `v0` follows the highest 0.x release: a patch to an older line (0.1.1 after 0.2.0)
/// gets its own tag and release, not `v0`, and is not marked Latest.
#[test]
fn the_major_tag_never_moves_back_to_an_older_release() {
    let Some(project) = Project::new() else {
        return;
    };
    release(&project, "0.1.0");
    let newer = release(&project, "0.2.0");
    assert_eq!(project.tags()["v0"], newer);

    project.tagged("0.1.1");
    let (run, log) = project.publish("0.1.1", &project.archives("0.1.1", "first"));
    run.code(0)
        .stdout_has("v0 stays at v0.2.0, a later release than 0.1.1");
    let tags = project.tags();
    assert_eq!(tags["v0"], newer);
    assert_eq!(log[1], format!("push refs/tags/v0.1.1 {}", tags["v0.1.1"]));
    assert_eq!(
        log.last().unwrap(),
        "publish release 1003 v0.1.1 latest=false"
    );

    let next = release(&project, "0.3.0");
    assert_eq!(project.tags()["v0"], next, "a later release moves it");
    let first_of_v1 = release(&project, "1.0.0");
    let tags = project.tags();
    assert_eq!(tags["v1"], first_of_v1);
    assert_eq!(tags["v0"], next, "another major leaves v0");
}

#[test]
fn a_tag_that_is_not_this_commits_release_is_refused_before_anything_changes() {
    let Some(project) = Project::new() else {
        return;
    };
    for (version, changelog, tag, says) in [
        (
            "0.1.0",
            "0.1.0",
            "v0.2.0",
            "the tag v0.2.0 is not Cargo.toml's version (0.1.0)",
        ),
        (
            "0.3.0",
            "0.1.0",
            "v0.3.0",
            "CHANGELOG.md has no entries under `## [0.3.0]`",
        ),
        (
            "0.4.0",
            "0.4.0",
            "release-0.4.0",
            "`release-0.4.0` is not a release tag",
        ),
    ] {
        project.commit(version, changelog, tag);
        let (run, log) = project.check(tag);
        run.code(1)
            .stdout_has(&format!("::error title=release::{says}"));
        assert_eq!(log, Vec::<String>::new());
    }
    assert!(project.releases().is_empty());
}

#[test]
fn archives_that_do_not_match_their_sha256_are_refused_before_anything_changes() {
    let Some(project) = Project::new() else {
        return;
    };
    project.tagged("0.1.0");
    let tags = project.tags();
    let archives = project.archives("0.1.0", "first");
    let name = "heroku-reaper-0.1.0-aarch64-apple-darwin.tar.gz";
    let mut bytes = std::fs::read(archives.join(name)).unwrap();
    bytes.push(0);
    std::fs::write(archives.join(name), bytes).unwrap();
    let (run, log) = project.publish("0.1.0", &archives);
    run.code(1).stdout_has(&format!(
        "::error title=release::{name} does not match its .sha256"
    ));
    assert_eq!(log, Vec::<String>::new());
    assert_eq!(project.tags(), tags);
    assert!(project.releases().is_empty());
}

/// The build job runs each binary it can (`dist/smoke.sh`): `--version`, then a dry run
/// against the binary's own sandbox. The binary under test passes; one that names
/// another version, or whose dry run fails, fails the job.
#[test]
fn the_build_jobs_smoke_test_runs_the_binary_and_a_dry_run_against_its_sandbox() {
    if !runner::has_tools(&["bash", "seq"]) {
        return;
    }
    let smoke = |binary: &Path, version: &str| {
        let output = Command::new("bash")
            .arg(runner::repo().join("dist/smoke.sh"))
            .arg(binary)
            .arg(version)
            .env_remove("HEROKU_API_KEY")
            .output()
            .unwrap();
        Run::from(output)
    };
    let version = env!("CARGO_PKG_VERSION");
    smoke(Path::new(BIN), version)
        .code(0)
        .stdout_has(&format!("heroku-reaper {version}\n"))
        .stdout_has("would delete         30")
        .stdout_has("smoke test passed");
    smoke(Path::new(BIN), "9.9.9").code(1).stdout_has(&format!(
        "::error title=smoke test::`{BIN} --version` says `heroku-reaper {version}`, not \
         `heroku-reaper 9.9.9`"
    ));

    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("heroku-reaper");
    std::fs::write(
        &failing,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n--version) echo 'heroku-reaper {version}' ;;\n\
             sandbox) exec '{BIN}' sandbox ;;\n*) echo 'error: broken' >&2; exit 1 ;;\nesac\n"
        ),
    )
    .unwrap();
    runner::make_executable(&failing);
    smoke(&failing, version)
        .code(1)
        .stdout_has("error: broken")
        .stdout_has("::error title=smoke test::the dry run against the sandbox exited 1");
}

/// CHANGELOG.md keeps the shape `dist/release.sh` reads its notes from: `## [Unreleased]`
/// first, each release as `## [X.Y.Z] - YYYY-MM-DD`, Keep a Changelog's kinds of change.
#[test]
fn the_changelog_keeps_a_changelogs_shape() {
    let text = std::fs::read_to_string(runner::repo().join("CHANGELOG.md")).unwrap();
    let sections: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(sections.first(), Some(&"## [Unreleased]"), "{sections:?}");
    for section in &sections[1..] {
        let (version, date) = section
            .strip_prefix("## [")
            .and_then(|rest| rest.split_once("] - "))
            .unwrap_or_else(|| panic!("not `## [X.Y.Z] - YYYY-MM-DD`: {section}"));
        assert_eq!(version.split('.').count(), 3, "{section}");
        assert!(
            date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
            "{section}"
        );
    }
    let kinds = [
        "Added",
        "Changed",
        "Deprecated",
        "Removed",
        "Fixed",
        "Security",
    ];
    for kind in text.lines().filter_map(|l| l.strip_prefix("### ")) {
        assert!(
            kinds.contains(&kind),
            "`### {kind}` is not one of {kinds:?}"
        );
    }
}
