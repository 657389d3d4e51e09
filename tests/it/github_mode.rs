//! GitHub mode (`GITHUB_ACTIONS=true`): the key masked first, the per-app lines in a
//! group, annotations for conflicts and failures, the step's outputs, the report and
//! the job summary, all from the real binary against the sandbox.

use heroku_sandbox::{Fault, Seed};
use serde_json::Value;

use crate::reap::{run_with_deletes_failing, start};
use crate::reaper::{Reaper, Run};
use crate::runner::Runner;

fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

fn report_at(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).expect("the report is JSON")
}

fn count(report: &Value, name: &str) -> String {
    report["counts"][name].to_string()
}

/// The lines of stdout between `::group::` and `::endgroup::`, checking there is one group.
fn grouped_lines(run: &Run, title: &str) -> Vec<String> {
    let stdout: Vec<&str> = run.stdout.lines().collect();
    let open = stdout
        .iter()
        .position(|l| *l == format!("::group::{title}"));
    let close = stdout.iter().position(|l| *l == "::endgroup::");
    let (Some(open), Some(close)) = (open, close) else {
        panic!("no group {title:?}:\n{}", run.stdout);
    };
    assert_eq!(lines_starting(&run.stdout, "::group::").len(), 1);
    stdout[open + 1..close]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn a_run_masks_the_key_groups_its_lines_and_writes_outputs_and_summary() {
    let sandbox = start(Seed::default());
    let runner = Runner::new();
    let run = Reaper::against(&sandbox).in_runner(&runner).run();
    run.code(0);
    assert_eq!(
        run.stdout.lines().next(),
        Some(format!("::add-mask::{}", sandbox.token()).as_str())
    );
    let grouped = grouped_lines(&run, "heroku-reaper: deleting 30 stale apps");
    let deleted = sandbox.deleted();
    assert_eq!(grouped.len(), 30);
    for app in &deleted {
        assert!(
            grouped
                .iter()
                .any(|l| l.starts_with("deleted ") && l.contains(&app.name)),
            "{} is not in the group:\n{}",
            app.name,
            run.stdout
        );
    }
    assert!(!run.stdout.contains("::warning") && !run.stdout.contains("::error"));

    let outputs = runner.outputs();
    let default_path = runner.temp().join("heroku-reaper-report.json");
    assert_eq!(outputs["report"], default_path.display().to_string());
    let report = report_at(&outputs["report"]);
    assert_eq!(outputs["deleted"], "30");
    assert_eq!(deleted.len(), 30);
    assert_eq!(outputs["conflicts"], "0");
    assert_eq!(outputs["remaining"], "10");
    assert_eq!(outputs["remaining"], count(&report, "remaining"));

    let summary = runner.summary();
    for expected in [
        "## heroku-reaper: done".to_string(),
        "| deleted | 30 |".to_string(),
        "| conflicts | 0 |".to_string(),
        "| too young | 10 |".to_string(),
        "| team apps | 3 |".to_string(),
        "| not owned | 2 |".to_string(),
        format!(
            "Rate limit left: {} requests",
            report["rate_limit_remaining"]
        ),
        "### Deleted (30)".to_string(),
        "### Too young (10)".to_string(),
    ] {
        assert!(
            summary.contains(&expected),
            "{expected:?} not in:\n{summary}"
        );
    }
    for app in &deleted {
        assert!(
            summary.contains(&format!("| `{}` |", app.name)),
            "{}",
            app.name
        );
    }
}

#[test]
fn a_conflict_raises_one_warning_and_is_counted() {
    let sandbox = start(Seed::default());
    sandbox.inject("DELETE /apps/{app}", Fault::Status(404), 1);
    let runner = Runner::new();
    let run = Reaper::against(&sandbox).in_runner(&runner).run();
    run.code(0);
    let grouped = grouped_lines(&run, "heroku-reaper: deleting 30 stale apps");
    assert!(
        grouped
            .iter()
            .any(|l| l.starts_with("already deleted by another reaper")),
        "{}",
        run.stdout
    );
    let warnings = lines_starting(&run.stdout, "::warning title=heroku-reaper%3A conflict::");
    assert_eq!(warnings.len(), 1, "{}", run.stdout);
    assert!(warnings[0].contains("DELETE answered 404, Request-Id "));
    let outputs = runner.outputs();
    assert_eq!(outputs["conflicts"], "1");
    assert_eq!(outputs["deleted"], sandbox.deleted().len().to_string());
    let summary = runner.summary();
    assert!(summary.contains("| conflicts | 1 |"), "{summary}");
    assert!(
        summary.contains("### Already deleted by another reaper (1)"),
        "{summary}"
    );
}

#[test]
fn failed_deletes_raise_errors_with_their_request_ids() {
    let sandbox = start(Seed::default());
    let runner = Runner::new();
    let run = run_with_deletes_failing(&sandbox, Reaper::against(&sandbox).in_runner(&runner));
    run.code(1);
    let report = report_at(&runner.outputs()["report"]);
    let failed = report["counts"]["failed"].as_u64().unwrap() as usize;
    assert!(failed > 0);
    let errors = lines_starting(
        &run.stdout,
        "::error title=heroku-reaper%3A delete failed::",
    );
    assert_eq!(errors.len(), failed, "{}", run.stdout);
    for app in report["apps"].as_array().unwrap() {
        if app["outcome"] == "failed" {
            let line = format!(
                "`{}` is still there: `DELETE /apps/{}` answered 500",
                app["name"].as_str().unwrap(),
                app["id"].as_str().unwrap()
            );
            let request_id = format!("(Request-Id {})", app["request_id"].as_str().unwrap());
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains(&line) && e.contains(&request_id)),
                "no error for {app}:\n{}",
                run.stdout
            );
        }
    }
    assert_eq!(
        lines_starting(&run.stdout, "::error title=heroku-reaper::").len(),
        1
    );
    let summary = runner.summary();
    assert!(summary.starts_with("## heroku-reaper: failed"), "{summary}");
    assert!(
        summary.contains(&format!("### Failed ({failed})")),
        "{summary}"
    );
    assert_eq!(runner.outputs()["deleted"], "0");
}

#[test]
fn with_json_on_stdout_the_commands_go_to_stderr_and_report_keeps_its_path() {
    let sandbox = start(Seed::default());
    let runner = Runner::new();
    let path = runner.root().join("mine.json");
    let (run, stdout_report) = Reaper::against(&sandbox)
        .in_runner(&runner)
        .args(["--report".as_ref(), path.as_os_str()])
        .json();
    run.code(0);
    assert_eq!(
        run.stderr.lines().next(),
        Some(format!("::add-mask::{}", sandbox.token()).as_str())
    );
    assert!(!run.stdout.contains("::"), "{}", run.stdout);
    assert!(!run.stderr.contains("::group::"), "nothing to fold");
    let outputs = runner.outputs();
    assert_eq!(outputs["report"], path.display().to_string());
    assert_eq!(
        report_at(&outputs["report"])["counts"],
        stdout_report["counts"]
    );
    assert!(!runner.temp().join("heroku-reaper-report.json").exists());
}

#[test]
fn a_rejected_key_fails_the_step_with_an_error_annotation() {
    let sandbox = start(Seed::default());
    let runner = Runner::new();
    let run = Reaper::against(&sandbox)
        .in_runner(&runner)
        .env("HEROKU_API_KEY", "not-the-key")
        .run();
    run.code(2);
    assert_eq!(
        lines_starting(&run.stdout, "::add-mask::"),
        ["::add-mask::not-the-key"]
    );
    let errors = lines_starting(&run.stdout, "::error title=heroku-reaper::");
    assert_eq!(errors.len(), 1, "{}", run.stdout);
    assert!(errors[0].contains("401 `unauthorized`"), "{}", errors[0]);
    assert_eq!(runner.outputs()["deleted"], "0");
    assert!(runner.summary().contains("unauthorized: nothing deleted"));
}

#[test]
fn outside_github_actions_nothing_of_this_happens() {
    let sandbox = start(Seed::default());
    let runner = Runner::new();
    for value in ["false", ""] {
        let run: Run = Reaper::against(&sandbox)
            .in_runner(&runner)
            .env("GITHUB_ACTIONS", value)
            .run();
        run.code(0);
        assert!(!run.stdout.contains("::"), "{}", run.stdout);
        assert!(!run.stderr.contains("::"), "{}", run.stderr);
    }
    assert!(runner.outputs().is_empty());
    assert_eq!(runner.summary(), "");
    assert!(!runner.temp().join("heroku-reaper-report.json").exists());
}

#[test]
fn two_steps_of_one_job_keep_two_default_reports() {
    let sandbox = start(Seed::default());
    let runner = Runner::new();
    let first = Reaper::against(&sandbox)
        .in_runner(&runner)
        .env("GITHUB_ACTION", "__run")
        .run();
    first.code(0);
    let second = Reaper::against(&sandbox)
        .in_runner(&runner)
        .env("GITHUB_ACTION", "__run_2")
        .run();
    second.code(0);
    let first_report = report_at(
        &runner
            .temp()
            .join("heroku-reaper-report-__run.json")
            .display()
            .to_string(),
    );
    let second_report = report_at(
        &runner
            .temp()
            .join("heroku-reaper-report-__run_2.json")
            .display()
            .to_string(),
    );
    assert_eq!(count(&first_report, "deleted"), "30");
    assert_eq!(count(&second_report, "deleted"), "0");
}
