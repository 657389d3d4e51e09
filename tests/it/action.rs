//! `action.yml` end to end under a simulated runner: its steps run in order, as the
//! runner runs a composite action's `run:` steps (bash, the step's `env:` with
//! `${{ inputs.x }}` expanded, `GITHUB_PATH` carried to later steps, outputs read per
//! step), against the sandbox. The install step finds the binary under test in the
//! tool cache, so no test builds or downloads anything.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use heroku_sandbox::{Fault, Role, Seed};
use yaml_rust2::{Yaml, YamlLoader};

use crate::docs::{self, read_text};
use crate::reap::start;
use crate::reaper::{BIN, Reaper, Run};
use crate::runner::{self, Checkout, Runner};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TOOLS: [&str; 2] = ["bash", "tar"];
/// What `${{ github.token }}` stands for here.
const GITHUB_TOKEN: &str = "ghs_simulated-token";

fn action() -> Yaml {
    let text = std::fs::read_to_string(runner::repo().join("action.yml")).expect("action.yml");
    YamlLoader::load_from_str(&text)
        .expect("action.yml is YAML")
        .remove(0)
}

fn text(yaml: &Yaml) -> &str {
    yaml.as_str()
        .unwrap_or_else(|| panic!("not a string: {yaml:?}"))
}

fn entries(yaml: &Yaml) -> Vec<(&str, &Yaml)> {
    yaml.as_hash()
        .unwrap_or_else(|| panic!("not a mapping: {yaml:?}"))
        .iter()
        .map(|(key, value)| (text(key), value))
        .collect()
}

/// Expands the expressions the runner would in a step's `env:` value; any other
/// expression fails the test, so the harness never silently differs from the runner.
fn expand(value: &str, inputs: &BTreeMap<String, String>, steps: &Steps) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("an expression ends") + start;
        let expression = rest[start + 3..end].trim();
        let value = if let Some(name) = expression.strip_prefix("inputs.") {
            inputs
                .get(name)
                .unwrap_or_else(|| panic!("no input {name}"))
                .clone()
        } else if expression == "github.token" {
            GITHUB_TOKEN.to_string()
        } else if let Some(output) = expression.strip_prefix("steps.") {
            let (id, name) = output
                .split_once(".outputs.")
                .expect("steps.ID.outputs.NAME");
            steps
                .get(id)
                .and_then(|outputs| outputs.get(name))
                .cloned()
                .unwrap_or_default()
        } else {
            panic!("the harness does not evaluate `{expression}`");
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

type Steps = BTreeMap<String, BTreeMap<String, String>>;

/// Evaluates a step's `if:`. Only the form the action uses, `steps.ID.outputs.NAME ==
/// 'VALUE'`, is understood; any other fails the test.
fn condition(expression: &str, steps: &Steps) -> bool {
    let (left, right) = expression
        .split_once(" == ")
        .unwrap_or_else(|| panic!("the harness does not evaluate `if: {expression}`"));
    let wanted = right
        .trim()
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not a quoted string: {right}"));
    let value = expand(
        &format!("${{{{ {} }}}}", left.trim()),
        &BTreeMap::new(),
        steps,
    );
    value == wanted
}

/// One step as it ran.
struct StepRun {
    name: String,
    run: Run,
}

/// The action as it ran: every step that ran, each step's outputs, the action's
/// outputs, the job summary.
struct ActionRun {
    steps: Vec<StepRun>,
    step_outputs: Steps,
    outputs: BTreeMap<String, String>,
    summary: String,
}

impl ActionRun {
    fn step(&self, name: &str) -> &Run {
        &self
            .steps
            .iter()
            .find(|step| step.name == name)
            .unwrap_or_else(|| panic!("the step {name:?} did not run"))
            .run
    }

    fn ran(&self, name: &str) -> bool {
        self.steps.iter().any(|step| step.name == name)
    }

    /// The step's result: the exit code of the last step that ran.
    fn code(&self) -> i32 {
        self.steps.last().map_or(0, |step| step.run.code)
    }
}

/// The `actions/cache` service, shared by the jobs of a test: a directory per key.
struct CacheService {
    dir: tempfile::TempDir,
}

impl CacheService {
    fn new() -> CacheService {
        CacheService {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn entry(&self, key: &str) -> PathBuf {
        assert!(
            !key.is_empty() && !key.contains(['/', '\\']),
            "a cache key: {key:?}"
        );
        self.dir.path().join(key)
    }

    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        keys.sort();
        keys
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            // Keeps the mode, as the cache's tar does.
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A simulated runner with the action checked out. `new()`: a release, with the binary
/// under test in the tool cache, as a release install of an earlier job on the same
/// runner leaves it. `unreleased()`: a branch, which builds from source.
struct Harness<'a> {
    runner: Runner,
    checkout: Checkout,
    home: PathBuf,
    /// The workflow's own `env:`.
    env: Vec<(String, OsString)>,
    /// Where `cargo` and other stand-ins are, after `GITHUB_PATH` on PATH.
    stand_ins: PathBuf,
    cache: Option<&'a CacheService>,
    /// What `actions/cache` saves when the job ends: (key, path).
    to_save: RefCell<Vec<(String, PathBuf)>>,
}

impl<'a> Harness<'a> {
    fn new() -> Harness<'a> {
        let runner = Runner::new();
        // A manifest of this version with an asset for the runner; the cache hit means
        // its URL is never fetched.
        let sums = runner.root().join("sums");
        std::fs::create_dir(&sums).unwrap();
        let archive = format!("heroku-reaper-{VERSION}-x86_64-unknown-linux-musl.tar.gz");
        std::fs::write(
            sums.join(format!("{archive}.sha256")),
            format!("{}  {archive}\n", "0".repeat(64)),
        )
        .unwrap();
        let manifest = runner::manifest(VERSION, "http://127.0.0.1:9/never-fetched", &sums);
        let checkout = Checkout::new(&manifest, VERSION);
        let cached = runner.tool_cache().join("heroku-reaper").join(VERSION);
        std::fs::create_dir_all(cached.join("x64")).unwrap();
        std::fs::copy(BIN, cached.join("x64/heroku-reaper")).unwrap();
        std::fs::write(cached.join("x64.complete"), "").unwrap();
        Harness::with(runner, checkout, None)
    }

    /// A job on `runner` with the action checked out at a commit that is not a release
    /// (the committed `dist/manifest.json`), and `cache` as the actions cache.
    fn unreleased(runner: Runner, cache: &'a CacheService) -> Harness<'a> {
        let manifest = std::fs::read_to_string(runner::repo().join("dist/manifest.json")).unwrap();
        let checkout = Checkout::new(&manifest, VERSION);
        Harness::with(runner, checkout, Some(cache))
    }

    fn with(runner: Runner, checkout: Checkout, cache: Option<&'a CacheService>) -> Harness<'a> {
        let home = runner.root().join("home");
        std::fs::create_dir(&home).unwrap();
        let stand_ins = runner.root().join("stand-ins");
        std::fs::create_dir(&stand_ins).unwrap();
        // `cargo` fails the test if called, unless `cargo_builds` says otherwise.
        runner::stand_in(&stand_ins, "cargo", 97);
        Harness {
            runner,
            checkout,
            home,
            env: Vec::new(),
            stand_ins,
            cache,
            to_save: RefCell::default(),
        }
    }

    /// A stand-in `cargo` that "builds" by copying the binary under test to
    /// `--root`/bin, and records its arguments; gives where they go.
    fn cargo_builds(&self) -> PathBuf {
        let args = self.stand_ins.join("cargo.args");
        let script = self.stand_ins.join("cargo");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n\
                 while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
                 mkdir -p \"$root/bin\" && cp '{}' \"$root/bin/heroku-reaper\"\n",
                args.display(),
                Path::new(BIN).display()
            ),
        )
        .unwrap();
        runner::make_executable(&script);
        args
    }

    /// Replaces the binary in the tool cache with a shell script that runs `body` (`$0`
    /// is its path) and answers `--version` as the binary does; gives its path.
    fn stand_in_binary(&self, body: &str) -> PathBuf {
        let binary = self
            .runner
            .tool_cache()
            .join("heroku-reaper")
            .join(VERSION)
            .join("x64/heroku-reaper");
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'heroku-reaper {VERSION}'; exit 0; fi\n{body}\n"
        );
        std::fs::write(&binary, script).unwrap();
        runner::make_executable(&binary);
        binary
    }

    /// A variable of the workflow's `env:`, which every step inherits.
    fn workflow_env(mut self, name: &str, value: impl Into<OsString>) -> Harness<'a> {
        self.env.push((name.to_string(), value.into()));
        self
    }

    /// Runs the action's steps with these `with:` values, as the runner would.
    fn run(&self, with: &[(&str, &str)]) -> ActionRun {
        let action = action();
        let mut inputs = BTreeMap::new();
        for (name, input) in entries(&action["inputs"]) {
            let given = with.iter().find(|(key, _)| *key == name).map(|(_, v)| *v);
            let value = match given {
                Some(value) => value.to_string(),
                None if input["required"].as_bool() == Some(true) => {
                    panic!("the required input {name} is not given")
                }
                None => expand(
                    input["default"].as_str().unwrap_or_default(),
                    &BTreeMap::new(),
                    &Steps::new(),
                ),
            };
            inputs.insert(name.to_string(), value);
        }
        for (name, _) in with {
            assert!(inputs.contains_key(*name), "action.yml has no input {name}");
        }
        let mut steps = Steps::new();
        let mut ran = Vec::new();
        let runs = &action["runs"];
        assert_eq!(text(&runs["using"]), "composite");
        for step in runs["steps"].as_vec().expect("steps") {
            for (key, _) in entries(step) {
                assert!(
                    ["name", "id", "if", "shell", "env", "run", "uses", "with"].contains(&key),
                    "the harness does not run steps with `{key}:`"
                );
            }
            if let Some(expression) = step["if"].as_str()
                && !condition(expression, &steps)
            {
                continue;
            }
            self.runner.new_step();
            let run = if let Some(uses) = step["uses"].as_str() {
                let with: BTreeMap<&str, String> = entries(&step["with"])
                    .into_iter()
                    .map(|(name, value)| (name, expand(text(value), &inputs, &steps)))
                    .collect();
                self.uses(uses, &with)
            } else {
                self.run_script(step, &inputs, &steps)
            };
            let code = run.code;
            let name = text(&step["name"]).to_string();
            if let Some(id) = step["id"].as_str() {
                steps.insert(id.to_string(), self.runner.outputs());
            }
            let summary = self.runner.summary();
            ran.push((StepRun { name, run }, summary));
            if code != 0 {
                break;
            }
        }
        let outputs = entries(&action["outputs"])
            .into_iter()
            .map(|(name, output)| {
                let value = expand(text(&output["value"]), &BTreeMap::new(), &steps);
                (name.to_string(), value)
            })
            .collect();
        let summary = ran.iter().map(|(_, summary)| summary.as_str()).collect();
        ActionRun {
            steps: ran.into_iter().map(|(step, _)| step).collect(),
            step_outputs: steps,
            outputs,
            summary,
        }
    }

    /// A `run:` step: bash, the step's `env:` with its expressions expanded.
    fn run_script(&self, step: &Yaml, inputs: &BTreeMap<String, String>, steps: &Steps) -> Run {
        assert_eq!(text(&step["shell"]), "bash");
        let script = self.runner.temp().join("step.sh");
        std::fs::write(&script, text(&step["run"])).unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script)
            .env_clear()
            .env("PATH", self.path())
            .env("HOME", &self.home)
            // The binary's lock file lives in the temp dir; each job has its own.
            .env("TMPDIR", self.runner.temp())
            .env("GITHUB_ACTION_PATH", self.checkout.path());
        self.runner.apply(&mut command);
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        if let Some(env) = step["env"].as_hash() {
            for (name, value) in env {
                command.env(text(name), expand(text(value), inputs, steps));
            }
        }
        Run::from(command.output().expect("bash runs a step"))
    }

    /// A `uses:` step. Only `actions/cache`, pinned by commit, is simulated: it restores
    /// `path` from the entry of `key` when there is one, and otherwise saves `path` there
    /// when the job ends (`end_job`), as its post step does.
    fn uses(&self, uses: &str, with: &BTreeMap<&str, String>) -> Run {
        let (action, commit) = uses.split_once('@').expect("ACTION@REF");
        assert_eq!(
            action, "actions/cache",
            "the harness simulates no other action"
        );
        assert!(
            commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "{uses} is not pinned by commit"
        );
        let cache = self.cache.expect("this harness has an actions cache");
        let (key, path) = (&with["key"], PathBuf::from(&with["path"]));
        let entry = cache.entry(key);
        let stdout = if entry.is_dir() {
            copy_dir(&entry, &path);
            std::fs::write(
                self.runner.outputs_file(),
                format!("cache-hit=true\ncache-primary-key={key}\n"),
            )
            .unwrap();
            format!("Cache restored from key: {key}\n")
        } else {
            self.to_save.borrow_mut().push((key.clone(), path));
            format!("Cache not found for input keys: {key}\n")
        };
        Run {
            code: 0,
            stdout,
            stderr: String::new(),
        }
    }

    /// The end of a job that succeeded: `actions/cache` saves what it did not restore.
    fn end_job(&self) {
        let cache = self.cache.expect("this harness has an actions cache");
        for (key, path) in self.to_save.borrow_mut().drain(..) {
            let entry = cache.entry(&key);
            if path.is_dir() && !entry.exists() {
                copy_dir(&path, &entry);
            }
        }
    }

    /// PATH as the runner builds it: `GITHUB_PATH` entries first, newest first; then the
    /// stand-ins (`cargo`); then the system's.
    fn path(&self) -> OsString {
        let mut dirs: Vec<PathBuf> = self.runner.path_entries().into_iter().rev().collect();
        dirs.push(self.stand_ins.clone());
        let system = std::env::var_os("PATH").unwrap_or_default();
        dirs.extend(std::env::split_paths(&system));
        std::env::join_paths(dirs).unwrap()
    }
}

/// The line `dist/run.sh` echoes before running the binary.
fn command_line(run: &Run) -> &str {
    run.stdout
        .lines()
        .find(|line| line.starts_with("heroku-reaper"))
        .unwrap_or_else(|| panic!("no command line:\n{}", run.stdout))
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn the_action_reaps_the_sandbox_and_reports_its_outputs_and_summary() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let pinned = sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == Role::Stale)
        .unwrap();
    let harness = Harness::new();
    let (url, keep) = (sandbox.url(), format!("{}, hatchet-t-never*", pinned.name));
    let ran = harness.run(&[
        ("heroku-api-key", sandbox.token()),
        ("api-url", &url),
        ("keep", &keep),
    ]);
    assert_eq!(ran.code(), 0, "{}", ran.steps.last().unwrap().run.stderr);
    ran.step("Install heroku-reaper")
        .stdout_has("found in the tool cache");
    let reap = ran.step("Delete stale Heroku apps");
    assert_eq!(
        command_line(reap),
        format!(
            "heroku-reaper --keep {} --keep hatchet-t-never* --api-url {}",
            pinned.name,
            sandbox.url()
        )
    );
    let holding: Vec<&str> = (reap.stdout.lines())
        .filter(|line| line.contains(sandbox.token()))
        .collect();
    assert_eq!(holding, [format!("::add-mask::{}", sandbox.token())]);
    assert!(
        reap.stdout
            .contains("::group::heroku-reaper: deleting 29 stale apps")
    );

    assert_eq!(sandbox.deleted().len(), 29);
    assert!(sandbox.apps().iter().any(|app| app.name == pinned.name));
    let outputs = &ran.outputs;
    assert_eq!(outputs["deleted"], "29");
    assert_eq!(outputs["conflicts"], "0");
    assert_eq!(outputs["remaining"], "11", "10 too young and the kept one");
    let report_path = PathBuf::from(&outputs["report"]);
    assert!(
        report_path.starts_with(harness.runner.temp()),
        "{report_path:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["counts"]["deleted"], 29);
    assert!(!ran.ran("Restore the source build of an earlier job"));
    assert!(!ran.ran("Build heroku-reaper from source"));

    let summary = &ran.summary;
    for expected in [
        "## heroku-reaper: done",
        "| deleted | 29 |",
        "| kept | 1 |",
        "### Deleted (29)",
        "### Kept (1)",
        "### Too young (10)",
        "Rate limit left: ",
    ] {
        assert!(
            summary.contains(expected),
            "{expected:?} not in:\n{summary}"
        );
    }
    assert!(summary.contains(&format!(
        "| `{}` | 30m | kept by `--keep {}` |",
        pinned.name, pinned.name
    )));
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn an_empty_input_passes_no_flag_so_the_workflow_env_applies() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let harness = Harness::new().workflow_env("HEROKU_REAPER_OLDER_THAN", "2h");
    let url = sandbox.url();
    let ran = harness.run(&[
        ("heroku-api-key", sandbox.token()),
        ("api-url", &url),
        ("older-than", ""),
    ]);
    assert_eq!(ran.code(), 0);
    let reap = ran.step("Delete stale Heroku apps");
    assert_eq!(
        command_line(reap),
        format!("heroku-reaper --api-url {}", sandbox.url())
    );
    assert_eq!(
        ran.outputs["deleted"], "0",
        "the 30m-old apps are younger than 2h"
    );
    assert!(sandbox.deleted().is_empty());
    assert!(ran.summary.contains("older than 2h00m"), "{}", ran.summary);
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_wrong_key_fails_the_step_with_an_error_and_deletes_nothing() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let ran = Harness::new().run(&[("heroku-api-key", "wrong"), ("api-url", &sandbox.url())]);
    assert_eq!(ran.code(), 2);
    let reap = ran.step("Delete stale Heroku apps");
    assert!(
        reap.stdout.contains("::error title=heroku-reaper::"),
        "{}",
        reap.stdout
    );
    assert_eq!(ran.outputs["deleted"], "0");
    assert!(ran.summary.contains("unauthorized: nothing deleted"));
    assert!(sandbox.deleted().is_empty());
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_dry_run_deletes_nothing_and_a_bad_boolean_sends_nothing() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let url = sandbox.url();
    let inputs = |name, value| {
        [
            ("heroku-api-key", sandbox.token()),
            ("api-url", &url),
            (name, value),
        ]
    };
    let ran = Harness::new().run(&inputs("dry-run", "true"));
    assert_eq!(ran.code(), 0);
    assert!(sandbox.deleted().is_empty());
    assert!(
        ran.summary.contains("### Would delete (30)"),
        "{}",
        ran.summary
    );
    let requests = sandbox.stats().requests;
    let ran = Harness::new().run(&inputs("all", "yes"));
    assert_eq!(ran.code(), 2);
    ran.step("Delete stale Heroku apps")
        .stdout_has("::error title=heroku-reaper::`all: yes` is not a boolean");
    assert_eq!(sandbox.stats().requests, requests, "no request sent");
}

/// A cleanup past its `deadline` fails the step as a failure does, with its report.
#[test]
fn stopping_at_the_deadline_fails_the_step_with_the_report() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    // A listing that answers long after the deadline.
    sandbox.inject(
        "GET /apps",
        Fault::Delay(std::time::Duration::from_secs(30)),
        1,
    );
    let url = sandbox.url();
    // Kept to the end: its runner's temp dir holds the report.
    let harness = Harness::new();
    let ran = harness.run(&[
        ("heroku-api-key", sandbox.token()),
        ("api-url", &url),
        ("deadline", "1s"),
    ]);
    assert_eq!(ran.code(), 5);
    ran.step("Delete stale Heroku apps")
        .stdout_has("::error title=heroku-reaper::stopped at `--deadline`");
    assert!(
        ran.summary.contains("stopped at the deadline"),
        "{}",
        ran.summary
    );
    let report = std::fs::read_to_string(&ran.outputs["report"]).unwrap();
    assert!(
        report.contains(r#""status": "deadline-reached""#),
        "{report}"
    );
    assert!(sandbox.deleted().is_empty());
}

/// Every input reaches the binary as the flag the issue names, and exit 3 (stopped at
/// the rate-limit reserve) is a warning: a stand-in binary records what it was given.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn every_input_becomes_its_flag_and_exit_3_is_only_a_warning() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let harness = Harness::new();
    let args = harness.stand_in_binary("printf '%s\\n' \"$@\" > \"$0.args\"\nexit 3");
    let args = args.with_extension("args");
    let ran = harness.run(&[
        ("heroku-api-key", "key"),
        ("prefix", "ci-"),
        ("older-than", "15"),
        ("all", "false"),
        ("app-limit", "80"),
        ("wait-for-room", "5m"),
        ("reserve-apps", "40"),
        ("account-limit", "200"),
        ("if-no-room", "proceed"),
        ("deadline", "12m"),
        ("team", "ci-team"),
        ("keep", "ci-pinned*\nci-keep, ci-other"),
        ("dry-run", "TRUE"),
        ("max-deletes", "50"),
        ("concurrency", "2"),
        ("shard", "1/3"),
        ("reserve-rate-limit", "500"),
        ("github-live-runs", "true"),
        ("github-repos", "acme/one, acme/two"),
        ("pipelines", "true"),
        ("api-url", "https://api.example.com"),
    ]);
    assert_eq!(ran.code(), 0, "exit 3 does not fail the step");
    ran.step("Delete stale Heroku apps")
        .stdout_has("::warning title=heroku-reaper::stopped at the rate-limit reserve");
    let expected = "--prefix ci- --older-than 15 --app-limit 80 --wait-for-room 5m \
        --reserve-apps 40 --account-limit 200 --if-no-room proceed --deadline 12m \
        --team ci-team \
        --keep ci-pinned* --keep ci-keep --keep ci-other --dry-run --max-deletes 50 \
        --concurrency 2 --shard 1/3 --reserve-rate-limit 500 --github-live-runs \
        --github-repo acme/one --github-repo acme/two --pipelines --api-url https://api.example.com";
    assert_eq!(runner::recorded(&args).unwrap().join(" "), expected);
}

#[test]
fn no_run_script_holds_an_expression_and_every_input_reaches_a_step() {
    let action = action();
    let mut mapped = Vec::new();
    for step in action["runs"]["steps"].as_vec().unwrap() {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        assert!(!script.contains("${{"), "an expression in `run:`: {script}");
        for (_, value) in entries(&step["env"]) {
            mapped.push(text(value).to_string());
        }
    }
    let mut names = Vec::new();
    for (name, _) in entries(&action["inputs"]) {
        let expression = format!("${{{{ inputs.{name} }}}}");
        assert!(
            mapped.contains(&expression),
            "the input {name} reaches no step"
        );
        names.push(name);
    }
    for name in [
        "heroku-api-key",
        "if-no-key",
        "prefix",
        "older-than",
        "all",
        "app-limit",
        "wait-for-room",
        "deadline",
        "team",
        "keep",
        "dry-run",
        "max-deletes",
        "concurrency",
        "shard",
        "api-url",
        "version",
        "build-from-source",
        "reserve-rate-limit",
        "github-token",
        "github-live-runs",
        "github-repos",
        "pipelines",
        "reserve-apps",
        "account-limit",
        "if-no-room",
    ] {
        assert!(names.contains(&name), "action.yml lacks the input {name}");
    }
    let outputs: Vec<&str> = entries(&action["outputs"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        outputs,
        [
            "deleted",
            "conflicts",
            "remaining",
            "report",
            "admitted",
            "waited-seconds"
        ]
    );
}

/// Every action the composite action uses is pinned by commit, with its version beside it.
#[test]
fn every_action_the_action_uses_is_pinned_by_commit() {
    let text = std::fs::read_to_string(runner::repo().join("action.yml")).unwrap();
    let uses: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("uses: "))
        .collect();
    assert!(!uses.is_empty());
    for line in uses {
        let (action, rest) = line.split_once('@').expect("ACTION@REF");
        let (commit, comment) = rest.split_once(" # v").unwrap_or_else(|| {
            panic!("{action}: no `# vX.Y.Z` beside the commit");
        });
        assert!(
            commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "{action} is not pinned by commit: {rest}"
        );
        assert!(!comment.is_empty(), "{line}");
    }
}

/// The example workflows live in `examples/`, linked from the README's index and from
/// docs/action.md, and no page copies one: a copy would drift from the file that CI
/// validates and users download.
#[test]
fn each_example_workflow_is_linked_and_never_copied() {
    let examples = [
        "cleanup-job",
        "matrix-pre-step",
        "daily-cleanup",
        "room-for-the-run",
    ];
    for page in ["README.md", "docs/action.md"] {
        let text = read_text(page);
        for example in examples {
            let link = match page {
                "README.md" => format!("](examples/{example}.yml)"),
                _ => format!("](../examples/{example}.yml)"),
            };
            assert!(
                text.contains(&link),
                "{page} does not link examples/{example}.yml"
            );
        }
    }
    for page in docs::pages() {
        let text = read_text(&page);
        for example in examples {
            let body = read_text(&format!("examples/{example}.yml"));
            let lines: Vec<&str> = body.lines().collect();
            for run in lines.windows(COPIED_LINES) {
                let run = run.join("\n");
                assert!(
                    !text.contains(&run),
                    "{page} copies examples/{example}.yml:\n{run}"
                );
            }
        }
    }
}

/// Lines in a row of an example that make a copy of it: a page may quote a step or two
/// (`uses:`, `with:` and an input), not more.
const COPIED_LINES: usize = 6;

/// Without a release, the first job builds from source (with a warning that says what it
/// costs and how to avoid it) and the actions cache saves the build at the end of the
/// job; the next job on the same OS and CPU restores it and builds nothing; a job on
/// another CPU does not take it.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_source_build_is_cached_so_only_the_first_job_builds() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let url = sandbox.url();
    let inputs = [("heroku-api-key", sandbox.token()), ("api-url", &url)];
    let cache = CacheService::new();

    let first = Harness::unreleased(Runner::new(), &cache);
    let cargo = first.cargo_builds();
    let ran = first.run(&inputs);
    assert_eq!(ran.code(), 0, "{}", ran.steps.last().unwrap().run.stdout);
    let key = ran.step_outputs["install"]["source-key"].clone();
    assert!(
        key.starts_with(&format!("heroku-reaper-source-{VERSION}-Linux-X64-")),
        "{key}"
    );
    ran.step("Restore the source build of an earlier job")
        .stdout_has("Cache not found");
    ran.step("Build heroku-reaper from source")
        .stdout_has(
            "::warning title=heroku-reaper install::building heroku-reaper from source, \
         which takes a few minutes, because this action ref is not a release",
        )
        .stdout_has("pin the action at a release tag");
    let root = first.runner.temp().join("heroku-reaper-source");
    assert_eq!(
        runner::recorded(&cargo).map(|args| args.join(" ")),
        Some(format!(
            "install --locked --path {} --root {}",
            first.checkout.path().display(),
            root.display()
        ))
    );
    assert_eq!(ran.outputs["deleted"], "30");
    assert!(cache.keys().is_empty(), "saved only when the job ends");
    first.end_job();
    assert_eq!(cache.keys(), std::slice::from_ref(&key));

    // Another job: its own runner and checkout; `cargo` fails the test if called.
    let second = Harness::unreleased(Runner::new(), &cache);
    let ran = second.run(&inputs);
    assert_eq!(ran.code(), 0, "{}", ran.steps.last().unwrap().run.stdout);
    assert_eq!(ran.step_outputs["install"]["source-key"], key);
    ran.step("Restore the source build of an earlier job")
        .stdout_has(&format!("Cache restored from key: {key}"));
    let build = ran.step("Build heroku-reaper from source");
    build.stdout_has("restored from the actions cache");
    assert!(!build.stdout.contains("::warning"), "{}", build.stdout);
    assert_eq!(
        second.runner.path_entries(),
        [second.runner.temp().join("heroku-reaper-source/bin")]
    );
    assert_eq!(ran.outputs["deleted"], "0", "the first job deleted them");
    command_line(ran.step("Delete stale Heroku apps"));

    let arm = Harness::unreleased(Runner::on("Linux", "ARM64"), &cache);
    let cargo = arm.cargo_builds();
    let ran = arm.run(&inputs);
    assert_eq!(ran.code(), 0);
    ran.step("Restore the source build of an earlier job")
        .stdout_has("Cache not found");
    assert!(runner::recorded(&cargo).is_some(), "ARM64 builds its own");
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_missing_key_fails_with_an_error_that_names_the_secret_and_the_fork_case() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let ran = Harness::new().run(&[("heroku-api-key", ""), ("api-url", &sandbox.url())]);
    assert_eq!(ran.code(), 2);
    let reap = ran.step("Delete stale Heroku apps");
    let error = reap
        .stdout
        .lines()
        .find(|line| line.starts_with("::error title=heroku-reaper::"))
        .unwrap_or_else(|| panic!("no error annotation:\n{}", reap.stdout));
    for says in [
        "no Heroku API key: `heroku-api-key` is empty",
        "the secret `HEROKU_API_KEY`",
        "a pull request from a fork or from Dependabot",
        "set `if-no-key: skip`",
    ] {
        assert!(error.contains(says), "{says:?} not in {error}");
    }
    assert_eq!(ran.outputs["deleted"], "0");
    assert_eq!(sandbox.stats().requests, 0, "no request sent");
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn with_if_no_key_skip_a_missing_key_is_a_warning_with_the_outputs_at_zero() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let url = sandbox.url();
    let ran = Harness::new().run(&[
        ("heroku-api-key", ""),
        ("if-no-key", "skip"),
        ("api-url", &url),
    ]);
    assert_eq!(ran.code(), 0);
    let reap = ran.step("Delete stale Heroku apps");
    reap.stdout_has("::warning title=heroku-reaper::skipped: no Heroku API key")
        .stdout_has("a pull request from a fork or from Dependabot");
    assert!(!reap.stdout.contains("::error"), "{}", reap.stdout);
    for output in ["deleted", "conflicts", "remaining"] {
        assert_eq!(ran.outputs[output], "0", "{output}");
    }
    assert!(
        ran.summary.contains("## heroku-reaper: skipped"),
        "{}",
        ran.summary
    );
    assert_eq!(sandbox.stats().requests, 0, "no request sent");
    assert_eq!(
        ran.outputs["admitted"], "",
        "no `reserve-apps`, no admission"
    );
    // With `reserve-apps`, the run was not admitted, and waited for nothing.
    let ran = Harness::new().run(&[
        ("heroku-api-key", ""),
        ("if-no-key", "skip"),
        ("reserve-apps", "40"),
        ("api-url", &url),
    ]);
    assert_eq!(ran.code(), 0);
    assert_eq!(ran.outputs["admitted"], "false");
    assert_eq!(ran.outputs["waited-seconds"], "0");

    // A key given: `skip` changes nothing. A value that is neither: refused.
    let ran = Harness::new().run(&[
        ("heroku-api-key", sandbox.token()),
        ("if-no-key", "skip"),
        ("api-url", &url),
    ]);
    assert_eq!(ran.code(), 0);
    assert_eq!(ran.outputs["deleted"], "30");
    let requests = sandbox.stats().requests;
    let ran = Harness::new().run(&[
        ("heroku-api-key", sandbox.token()),
        ("if-no-key", "ignore"),
        ("api-url", &url),
    ]);
    assert_eq!(ran.code(), 2);
    ran.step("Delete stale Heroku apps").stdout_has(
        "::error title=heroku-reaper::`if-no-key: ignore` is not one of `fail` or `skip`",
    );
    assert_eq!(sandbox.stats().requests, requests, "no request sent");
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn two_uses_in_one_job_keep_two_reports() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let sandbox = start(Seed::default());
    let url = sandbox.url();
    let harness = Harness::new();
    let dry = harness.run(&[
        ("heroku-api-key", sandbox.token()),
        ("api-url", &url),
        ("dry-run", "true"),
    ]);
    let real = harness.run(&[("heroku-api-key", sandbox.token()), ("api-url", &url)]);
    assert_eq!((dry.code(), real.code()), (0, 0));
    let (first, second) = (&dry.outputs["report"], &real.outputs["report"]);
    assert_ne!(first, second);
    let read = |path: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert_eq!(read(first)["counts"]["deleted"], 0, "the dry run's, kept");
    assert_eq!(read(second)["counts"]["deleted"], 30);
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn the_github_token_reaches_the_binary_only_with_github_live_runs_or_reserve_apps() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let harness = Harness::new();
    let env = harness
        .stand_in_binary("env > \"$0.env\"")
        .with_extension("env");
    let seen = |with: (&str, &str)| {
        let ran = harness.run(&[("heroku-api-key", "key"), with]);
        assert_eq!(ran.code(), 0);
        std::fs::read_to_string(&env).unwrap()
    };
    let without = seen(("github-live-runs", "false"));
    assert!(!without.contains(GITHUB_TOKEN), "{without}");
    assert!(!without.contains("GITHUB_TOKEN="), "{without}");
    for with in [("github-live-runs", "true"), ("reserve-apps", "40")] {
        let env = seen(with);
        assert!(
            env.lines()
                .any(|line| line == format!("GITHUB_TOKEN={GITHUB_TOKEN}")),
            "{with:?}: {env}"
        );
        assert!(!env.contains("INPUT_GITHUB_TOKEN"), "{env}");
    }
}

/// The `run:` scripts of the action, the workflows and the examples pass shellcheck, as
/// `dist/*.sh` do; `.ci/run` installs shellcheck before it runs the tests.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn every_run_script_passes_shellcheck() {
    if !runner::has_tools(&["shellcheck"]) {
        return;
    }
    let mut files = vec![runner::repo().join("action.yml")];
    for dir in [".github/workflows", "examples"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(runner::repo().join(dir))
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
            .collect();
        found.sort();
        files.extend(found);
    }
    let scripts = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let yaml = YamlLoader::load_from_str(&text).unwrap().remove(0);
        let steps: Vec<&Yaml> = match yaml["jobs"].as_hash() {
            Some(jobs) => jobs
                .values()
                .flat_map(|job| job["steps"].as_vec().into_iter().flatten())
                .collect(),
            None => yaml["runs"]["steps"].as_vec().unwrap().iter().collect(),
        };
        for (index, step) in steps.into_iter().enumerate() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            let name = file.file_name().unwrap().to_string_lossy();
            let script = scripts.path().join(format!("{name}-step-{index}.sh"));
            std::fs::write(&script, run).unwrap();
            let output = Command::new("shellcheck")
                .args(["--shell=bash", "--severity=style"])
                .arg(&script)
                .output()
                .expect("shellcheck runs");
            assert!(
                output.status.success(),
                "shellcheck: {name}, step {index}:\n{run}\n{}",
                String::from_utf8_lossy(&output.stdout)
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} scripts found");
}

/// Most readers come for the Action: after the two opening commands, the README's first
/// section is the Action's, led by the one-job workflow; the CLI's basics follow, and the
/// README ends with the index of the docs, within 300 lines.
#[test]
fn the_readme_leads_with_the_action() {
    let readme = read_text("README.md");
    let sections: Vec<&str> = readme
        .lines()
        .filter(|line| line.starts_with("## "))
        .collect();
    assert_eq!(sections.first(), Some(&"## GitHub Action"), "{sections:?}");
    let action = readme.find("## GitHub Action").unwrap();
    assert!(readme[..action].contains("cargo run --locked -- demo"));
    let first_block = &readme[action..][readme[action..].find("```").unwrap()..];
    assert!(
        first_block.starts_with("```yaml\njobs:\n  reap:"),
        "{first_block}"
    );
    let cli = readme.find("\n## Use\n").expect("the CLI's basics");
    let index = readme
        .find("\n## Documentation\n")
        .expect("the index of the docs");
    assert!(action < cli && cli < index, "{sections:?}");
    assert!(
        readme.lines().count() <= 300,
        "the README is the front door, not the manual"
    );
}

/// The docs' inputs table and `action.yml` agree: the same inputs in the same order; a
/// default `action.yml` sets is the table's; an input that is empty by default says in
/// its description what empty means, as the table does; and then, when that is one value
/// (`24`, `10m`), it is the default the CLI's own `--help` gives, since an empty input
/// passes no flag.
#[test]
fn the_inputs_table_agrees_with_action_yml_and_the_cli() {
    let (doc, rows) = inputs_table();
    let action = action();
    let inputs = entries(&action["inputs"]);
    let names: Vec<&str> = inputs.iter().map(|(name, _)| *name).collect();
    let documented: Vec<&str> = rows.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(documented, names, "{doc}'s inputs table");
    let help = Reaper::bare().args(["--help"]).run();
    let plain = |text: &str| text.replace('`', "");
    for ((name, input), (_, option, default)) in inputs.iter().zip(&rows) {
        let set = input["default"].as_str().unwrap_or_default();
        let description = plain(text(&input["description"]));
        if !set.is_empty() {
            assert_eq!(plain(default), set, "{name}: {doc} vs action.yml");
        } else if !default.is_empty() {
            let empty = description
                .split_once("Empty: ")
                .unwrap_or_else(|| panic!("{name}: action.yml does not say what empty means"))
                .1;
            assert!(
                empty.contains(&plain(default)),
                "{name}: action.yml says empty is {empty:?}, {doc} says {default:?}"
            );
        }
        let single =
            set.is_empty() && default.starts_with('`') && default.matches('`').count() == 2;
        let flag = option
            .split('`')
            .nth(1)
            .filter(|flag| flag.starts_with("--"));
        if let (true, Some(flag)) = (single, flag) {
            let cli = cli_default(&help.stdout, flag)
                .unwrap_or_else(|| panic!("{name}: `--help` gives no default for {flag}"));
            assert_eq!(
                plain(default),
                cli,
                "{name}: {doc} vs `heroku-reaper --help`"
            );
        }
    }
}

/// The docs' outputs table lists `action.yml`'s outputs, in their order.
#[test]
fn the_outputs_table_agrees_with_action_yml() {
    let rows = crate::support::doc_table("docs/action.md", "## Outputs", "| output |");
    let documented: Vec<&str> = rows
        .iter()
        .map(|row| row.split('`').nth(1).expect("a `name`"))
        .collect();
    let action = action();
    let outputs: Vec<&str> = entries(&action["outputs"])
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(documented, outputs, "docs/action.md's outputs table");
}

/// The rows (input, CLI option, default) of the inputs table, in docs/action.md once the
/// manual moves there, in README.md until then.
fn inputs_table() -> (&'static str, Vec<(String, String, String)>) {
    const HEADER: &str = "| input | CLI option | default |";
    for doc in ["docs/action.md", "README.md"] {
        let Ok(text) = std::fs::read_to_string(runner::repo().join(doc)) else {
            continue;
        };
        let Some(start) = text.find(HEADER) else {
            continue;
        };
        let rows = text[start..]
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
                let [input, option, default] = cells[..] else {
                    panic!("{doc}: not three cells: {line}");
                };
                let name = input.split('`').nth(1).expect("a `name`").to_string();
                (name, option.trim().to_string(), default.trim().to_string())
            })
            .collect();
        return (doc, rows);
    }
    panic!("no inputs table ({HEADER}) in docs/action.md or README.md");
}

/// The `[default: X]` that `--help` gives for a flag.
fn cli_default(help: &str, flag: &str) -> Option<String> {
    let start = help.find(&format!("\n      {flag} "))?;
    let block = &help[start + 1..];
    let block = &block[..block[1..]
        .find("\n      -")
        .map_or(block.len(), |end| end + 1)];
    let block = block.split_whitespace().collect::<Vec<_>>().join(" ");
    let value = block.split_once("[default: ")?.1.split_once(']')?.0;
    Some(value.to_string())
}
