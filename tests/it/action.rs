//! `action.yml` end to end under a simulated runner: its steps run in order, as the
//! runner runs a composite action's `run:` steps (bash, the step's `env:` with
//! `${{ inputs.x }}` expanded, `GITHUB_PATH` carried to later steps, outputs read per
//! step), against the sandbox. The install step finds the binary under test in the
//! tool cache, so no test builds or downloads anything.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use heroku_sandbox::{Role, Seed};
use yaml_rust2::{Yaml, YamlLoader};

use crate::reap::start;
use crate::reaper::{BIN, Run};
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

/// One step as it ran.
struct StepRun {
    name: String,
    run: Run,
}

/// The action as it ran: every step that ran, the action's outputs, the job summary.
struct ActionRun {
    steps: Vec<StepRun>,
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

    /// The step's result: the exit code of the last step that ran.
    fn code(&self) -> i32 {
        self.steps.last().map_or(0, |step| step.run.code)
    }
}

/// A simulated runner with the action checked out and the binary under test in its
/// tool cache, as a release install of an earlier job on the same runner leaves it.
struct Harness {
    runner: Runner,
    checkout: Checkout,
    home: PathBuf,
    /// The workflow's own `env:`.
    env: Vec<(String, OsString)>,
}

impl Harness {
    fn new() -> Harness {
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
        let home = runner.root().join("home");
        std::fs::create_dir(&home).unwrap();
        Harness {
            runner,
            checkout,
            home,
            env: Vec::new(),
        }
    }

    fn cached_binary(&self) -> PathBuf {
        self.runner
            .tool_cache()
            .join("heroku-reaper")
            .join(VERSION)
            .join("x64/heroku-reaper")
    }

    /// A variable of the workflow's `env:`, which every step inherits.
    fn workflow_env(mut self, name: &str, value: impl Into<OsString>) -> Harness {
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
                    ["name", "id", "shell", "env", "run"].contains(&key),
                    "the harness does not run steps with `{key}:`"
                );
            }
            assert_eq!(text(&step["shell"]), "bash");
            self.runner.new_step();
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
                    command.env(text(name), expand(text(value), &inputs, &steps));
                }
            }
            let run = Run::from(command.output().expect("bash runs a step"));
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
            outputs,
            summary,
        }
    }

    /// PATH as the runner builds it: `GITHUB_PATH` entries first, newest first; then a
    /// stand-in `cargo` that fails the test if called; then the system's.
    fn path(&self) -> OsString {
        let stand_ins = self.runner.root().join("stand-ins");
        std::fs::create_dir_all(&stand_ins).unwrap();
        runner::stand_in(&stand_ins, "cargo", 97);
        let mut dirs: Vec<PathBuf> = self.runner.path_entries().into_iter().rev().collect();
        dirs.push(stand_ins);
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
    let report_path = harness.runner.temp().join("heroku-reaper-report.json");
    assert_eq!(outputs["report"], report_path.display().to_string());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["counts"]["deleted"], 29);

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

/// Every input reaches the binary as the flag the issue names, and exit 3 (stopped at
/// the rate-limit reserve) is a warning: a stand-in binary records what it was given.
#[test]
fn every_input_becomes_its_flag_and_exit_3_is_only_a_warning() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let harness = Harness::new();
    let args = runner::stand_in(
        harness.cached_binary().parent().unwrap(),
        "heroku-reaper",
        3,
    );
    let ran = harness.run(&[
        ("heroku-api-key", "key"),
        ("prefix", "ci-"),
        ("older-than", "15"),
        ("all", "false"),
        ("app-limit", "80"),
        ("wait-for-room", "5m"),
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
    let expected = "--prefix ci- --older-than 15 --app-limit 80 --wait-for-room 5m --team ci-team \
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
        let script = text(&step["run"]);
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
        "prefix",
        "older-than",
        "all",
        "app-limit",
        "wait-for-room",
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
    ] {
        assert!(names.contains(&name), "action.yml lacks the input {name}");
    }
    let outputs: Vec<&str> = entries(&action["outputs"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(outputs, ["deleted", "conflicts", "remaining", "report"]);
}

#[test]
fn the_readme_shows_each_example_workflow_as_it_is() {
    // Line endings as git may check them out on Windows.
    let read = |path: &str| {
        let text = std::fs::read_to_string(runner::repo().join(path)).unwrap();
        text.replace("\r\n", "\n")
    };
    let readme = read("README.md");
    for example in ["cleanup-job", "matrix-pre-step", "daily-cleanup"] {
        let text = read(&format!("examples/{example}.yml"));
        assert!(
            readme.contains(&format!("```yaml\n{text}```")),
            "README.md does not show examples/{example}.yml as it is"
        );
    }
}
