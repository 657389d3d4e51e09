//! The workflows' own rules, read from `.github/workflows/`: one pinned Rust toolchain for
//! CI and releases, installed before any job builds; releases one at a time and never
//! cancelled; every action pinned by commit; every release target built and simulated.

use yaml_rust2::{Yaml, YamlLoader};

use crate::runner::{self, PLATFORMS};

fn workflow(name: &str) -> Yaml {
    let path = runner::repo().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn version(text: &str) -> Vec<u32> {
    text.split('.')
        .map(|part| {
            part.parse()
                .unwrap_or_else(|_| panic!("not a version: {text}"))
        })
        .collect()
}

/// The jobs of a workflow, each with its steps' `run:` scripts (empty for `uses:` steps).
fn jobs(workflow: &Yaml) -> Vec<(String, Vec<String>)> {
    let jobs = workflow["jobs"].as_hash().expect("jobs");
    jobs.iter()
        .map(|(name, job)| {
            let steps = job["steps"].as_vec().expect("steps");
            let runs = steps
                .iter()
                .map(|step| step["run"].as_str().unwrap_or_default().to_string())
                .collect();
            (name.as_str().unwrap().to_string(), runs)
        })
        .collect()
}

/// Whether a script builds with the Rust toolchain: a line that starts with `cargo` or
/// `rustup`, or runs `.ci/run`.
fn builds(script: &str) -> bool {
    script.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with("cargo ") || line.starts_with("rustup ") || line.contains(".ci/run")
    })
}

#[test]
fn ci_and_releases_build_with_one_pinned_toolchain_at_least_the_msrv() {
    let cargo = std::fs::read_to_string(runner::repo().join("Cargo.toml")).unwrap();
    let msrv = cargo
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("Cargo.toml's rust-version");
    let pins: Vec<String> = ["ci.yml", "release.yml"]
        .iter()
        .map(|name| {
            let pin = workflow(name)["env"]["RUST_TOOLCHAIN"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no `env: RUST_TOOLCHAIN`"))
                .to_string();
            assert_eq!(version(&pin).len(), 3, "{name}: not an exact X.Y.Z: {pin}");
            pin
        })
        .collect();
    assert_eq!(
        pins[0], pins[1],
        "ci.yml and release.yml pin other toolchains"
    );
    assert!(
        version(&pins[0]) >= version(msrv),
        "the pinned {} is older than Cargo.toml's rust-version {msrv}",
        pins[0]
    );
    assert!(!runner::repo().join("rust-toolchain.toml").exists());
}

/// Each job that builds installs the pinned toolchain and makes it the default first.
#[test]
fn every_job_that_builds_installs_the_pinned_toolchain_first() {
    let mut building = 0;
    for name in ["ci.yml", "release.yml"] {
        for (job, runs) in jobs(&workflow(name)) {
            let Some(first) = runs.iter().position(|run| builds(run)) else {
                continue;
            };
            building += 1;
            let install = &runs[first];
            assert!(
                install.contains("rustup toolchain install \"$RUST_TOOLCHAIN\"")
                    && install.contains("rustup default \"$RUST_TOOLCHAIN\""),
                "{name}, job {job}: the first step that builds does not install the pinned \
                 toolchain:\n{install}"
            );
        }
    }
    assert!(building >= 5, "only {building} jobs build");
}

#[test]
fn releases_run_one_at_a_time_and_are_never_cancelled() {
    let release = workflow("release.yml");
    assert_eq!(release["concurrency"]["group"].as_str(), Some("release"));
    assert_eq!(
        release["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false)
    );
    // The publish job hands over to dist/release.sh, which the release tests replay.
    let (_, runs) = jobs(&release)
        .into_iter()
        .find(|(job, _)| job == "publish")
        .expect("a publish job");
    assert!(
        runs.iter()
            .any(|run| run.contains("dist/release.sh publish"))
    );
}

#[test]
fn every_action_the_workflows_use_is_pinned_by_commit() {
    for name in ["ci.yml", "release.yml"] {
        let text =
            std::fs::read_to_string(runner::repo().join(".github/workflows").join(name)).unwrap();
        for line in text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- uses: "))
        {
            let (action, rest) = line.split_once('@').expect("ACTION@REF");
            let (commit, comment) = rest
                .split_once(" # v")
                .unwrap_or_else(|| panic!("{name}: {action} has no `# vX.Y.Z` beside its commit"));
            assert!(
                commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {action} is not pinned by commit: {rest}"
            );
            assert!(!comment.is_empty());
        }
    }
}

/// Every release target is built by release.yml, and packed by ci.yml's simulated release.
#[test]
fn every_release_target_is_built_and_simulated() {
    let release = workflow("release.yml");
    let matrix = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .unwrap();
    let mut built: Vec<&str> = matrix
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    built.sort();
    let mut targets: Vec<&str> = PLATFORMS.iter().map(|(_, _, target)| *target).collect();
    targets.sort();
    targets.dedup();
    assert_eq!(built, targets);
    let (_, runs) = jobs(&workflow("ci.yml"))
        .into_iter()
        .find(|(job, _)| job == "action-prebuilt")
        .expect("ci.yml's action-prebuilt job");
    let simulate = runs
        .iter()
        .find(|run| run.contains("dist/package.sh"))
        .unwrap();
    for target in targets {
        assert!(simulate.contains(target), "ci.yml does not pack {target}");
    }
}
