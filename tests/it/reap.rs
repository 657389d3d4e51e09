//! What gets deleted, and what never does.

use std::time::Duration;

use heroku_sandbox::{Fault, Options, Role, Sandbox, Seed, Server};
use serde_json::Value;

use crate::reaper::{Reaper, Run};

pub fn start(seed: Seed) -> Sandbox {
    Sandbox::start(Options {
        seed,
        ..Options::default()
    })
    .expect("the sandbox starts")
}

/// 30 stale apps whose DELETEs each take `latency`.
pub fn slow_deletes(latency: Duration) -> Sandbox {
    Sandbox::start(Options {
        seed: Seed {
            stale: 30,
            ..Seed::default()
        },
        server: Server {
            delete_latency: Some(latency),
            ..Server::default()
        },
        ..Options::default()
    })
    .unwrap()
}

/// `reaper` run with every DELETE answering 500 and no retries: a run that fails.
pub fn run_with_deletes_failing(sandbox: &Sandbox, reaper: Reaper) -> Run {
    sandbox.inject("DELETE /apps/{app}", Fault::Status(500), 1_000);
    reaper.args(["--retries", "0"]).run()
}

fn count(sandbox: &Sandbox, role: Role) -> usize {
    sandbox.apps().iter().filter(|app| app.role == role).count()
}

#[test]
fn deletes_exactly_the_stale_matching_apps() {
    let sandbox = start(Seed::default());
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    let deleted = sandbox.deleted();
    assert_eq!(deleted.len(), 30);
    assert!(
        deleted.iter().all(|app| app.role == Role::Stale),
        "{deleted:?}"
    );
    assert_eq!(count(&sandbox, Role::Stale), 0);
    assert_eq!(count(&sandbox, Role::Fresh), 10);
    assert_eq!(count(&sandbox, Role::Other), 5);
    assert_eq!(count(&sandbox, Role::Team), 3);
    assert_eq!(count(&sandbox, Role::Collaborator), 2);
    assert_eq!(report["status"], "done");
    let counts = &report["counts"];
    assert_eq!(counts["deleted"], 30);
    assert_eq!(counts["conflicts"], 0);
    assert_eq!(counts["too_young"], 10);
    assert_eq!(counts["team_apps"], 3);
    assert_eq!(counts["not_owned"], 2);
    assert_eq!(counts["remaining"], 10);
    // The report tells the truth app by app.
    let gone: Vec<&str> = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|app| app["outcome"] == "deleted")
        .map(|app| app["name"].as_str().unwrap())
        .collect();
    let mut deleted_names: Vec<&str> = deleted.iter().map(|app| app.name.as_str()).collect();
    deleted_names.sort();
    let mut gone_sorted = gone.clone();
    gone_sorted.sort();
    assert_eq!(gone_sorted, deleted_names);
    // One list, and one DELETE per stale app: no more.
    assert_eq!(
        sandbox.stats().requests,
        report["requests"]["requests"].as_u64().unwrap()
    );
    assert_eq!(sandbox.stats().sent("DELETE"), 30);
}

#[test]
fn a_second_run_finds_nothing_to_do() {
    let sandbox = start(Seed::default());
    Reaper::against(&sandbox).run().code(0);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    assert_eq!(report["counts"]["deleted"], 0);
    assert_eq!(report["counts"]["stale"], 0);
    assert_eq!(sandbox.deleted().len(), 30);
}

#[test]
fn team_apps_are_reaped_only_with_team() {
    let sandbox = start(Seed::default());
    let (run, report) = Reaper::against(&sandbox)
        .args(["--team", "hatchet-ci"])
        .json();
    run.code(0);
    let deleted = sandbox.deleted();
    assert_eq!(deleted.len(), 3);
    assert!(deleted.iter().all(|app| app.role == Role::Team));
    assert_eq!(count(&sandbox, Role::Stale), 30);
    assert_eq!(report["scope"], "team `hatchet-ci`");
    let run = Reaper::against(&sandbox)
        .args(["--team", "no-such-team"])
        .run();
    run.code(1).stderr_has("not_found");
}

#[test]
fn kept_apps_and_other_names_survive_even_with_all() {
    let sandbox = start(Seed::default());
    sandbox.add_app(
        "hatchet-t-0keep00001",
        Duration::from_secs(3600),
        Role::Added,
    );
    let (run, report) = Reaper::against(&sandbox)
        .args(["--all", "--keep", "hatchet-t-0keep*"])
        .json();
    run.code(0);
    let left: Vec<String> = sandbox.apps().into_iter().map(|app| app.name).collect();
    assert!(left.contains(&"hatchet-t-0keep00001".to_string()));
    // `--all` takes the fresh ones too, and nothing of another name or owner.
    assert_eq!(count(&sandbox, Role::Fresh), 0);
    assert_eq!(count(&sandbox, Role::Other), 5);
    assert_eq!(count(&sandbox, Role::Collaborator), 2);
    let kept = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["name"] == "hatchet-t-0keep00001")
        .unwrap();
    assert_eq!(kept["verdict"], "keep");
    assert_eq!(kept["reason"], "kept by `--keep hatchet-t-0keep*`");
}

/// Hatchet's rule (`Reaper::DEFAULT_REGEX`): the prefix, then a lowercase hex digit.
/// Names Hatchet never takes are never planned, not even with `--all`, whatever sets
/// the prefix; nor are their pipelines.
#[test]
fn the_prefix_rule_is_hatchets_even_with_all() {
    const HOURS: Duration = Duration::from_secs(3 * 3600);
    let sandbox = start(Seed::empty());
    for name in [
        "hatchet-t-pinned-demo",
        "hatchet-t-zzz-manual",
        "hatchet-t-0a1b2c3d4e",
    ] {
        sandbox.add_app(name, HOURS, Role::Added);
        sandbox.add_pipeline(name, HOURS);
    }
    for name in ["ruby-ci-pinned", "ruby-ci-7f00d"] {
        sandbox.add_app(name, HOURS, Role::Added);
    }
    let (run, plan) = Reaper::against(&sandbox)
        .args(["--all", "--pipelines", "--dry-run"])
        .json();
    run.code(0);
    let planned = |list: &Value| -> Vec<String> {
        let names = list.as_array().unwrap().iter();
        names
            .map(|entry| entry["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(planned(&plan["apps"]), ["hatchet-t-0a1b2c3d4e"]);
    assert_eq!(planned(&plan["pipelines"]), ["hatchet-t-0a1b2c3d4e"]);
    assert_eq!(
        plan["rule"],
        "names starting with `hatchet-t-` and a hex digit"
    );

    Reaper::against(&sandbox)
        .args(["--all", "--pipelines"])
        .run()
        .code(0);
    let gone = |sandbox: &Sandbox| -> Vec<String> {
        sandbox.deleted().into_iter().map(|app| app.name).collect()
    };
    assert_eq!(gone(&sandbox), ["hatchet-t-0a1b2c3d4e"]);
    let pipelines: Vec<String> = (sandbox.deleted_pipelines().into_iter())
        .map(|pipeline| pipeline.name)
        .collect();
    assert_eq!(pipelines, ["hatchet-t-0a1b2c3d4e"]);

    // `HATCHET_APP_PREFIX` and `--prefix` set the prefix of the same rule.
    Reaper::against(&sandbox)
        .env("HATCHET_APP_PREFIX", "ruby-ci-")
        .args(["--all"])
        .run()
        .code(0);
    assert_eq!(gone(&sandbox), ["hatchet-t-0a1b2c3d4e", "ruby-ci-7f00d"]);
    let (run, plan) = Reaper::against(&sandbox)
        .args(["--all", "--prefix", "ruby-ci-"])
        .json();
    run.code(0);
    assert_eq!(planned(&plan["apps"]), Vec::<String>::new());
    let mut left: Vec<String> = sandbox.apps().into_iter().map(|app| app.name).collect();
    left.sort();
    assert_eq!(
        left,
        [
            "hatchet-t-pinned-demo",
            "hatchet-t-zzz-manual",
            "ruby-ci-pinned"
        ]
    );
}

#[test]
fn a_regex_rule_matches_whole_names() {
    let sandbox = start(Seed::default());
    sandbox.add_app("ci-review-42", Duration::from_secs(3600), Role::Added);
    sandbox.add_app("ci-review-42-prod", Duration::from_secs(3600), Role::Added);
    Reaper::against(&sandbox)
        .args(["--match", "ci-review-[0-9]+"])
        .run()
        .code(0);
    let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    assert_eq!(deleted, ["ci-review-42"]);
}

#[test]
fn hatchet_app_prefix_sets_the_prefix() {
    let sandbox = start(Seed {
        prefix: "ruby-ci-".into(),
        ..Seed::default()
    });
    Reaper::against(&sandbox).run().code(0);
    assert!(
        sandbox.deleted().is_empty(),
        "the default prefix matches none of them"
    );
    Reaper::against(&sandbox)
        .env("HATCHET_APP_PREFIX", "ruby-ci-")
        .run()
        .code(0);
    assert_eq!(sandbox.deleted().len(), 30);
}

#[test]
fn dry_run_shows_the_plan_and_sends_no_delete() {
    let sandbox = start(Seed::default());
    let run = Reaper::against(&sandbox).args(["--dry-run"]).run();
    run.code(0).stdout_has("dry run: nothing deleted");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
    assert!(sandbox.deleted().is_empty());
    for app in sandbox.apps().iter().filter(|app| app.role == Role::Stale) {
        let line = run
            .stdout
            .lines()
            .find(|line| line.contains(&app.name))
            .unwrap_or_else(|| panic!("{} is not in the plan:\n{}", app.name, run.stdout));
        assert!(
            line.starts_with("delete") && line.contains("older than 10m"),
            "{line}"
        );
    }
    for app in sandbox.apps().iter().filter(|app| app.role == Role::Fresh) {
        assert!(
            run.stdout.contains(&format!("too young   {}", app.name)),
            "{}",
            run.stdout
        );
    }
    let (_, report) = Reaper::against(&sandbox).args(["--dry-run"]).json();
    assert_eq!(report["status"], "dry-run");
    let planned = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|app| app["outcome"] == "planned")
        .count();
    assert_eq!(planned, 30);
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
}

#[test]
fn pages_through_2500_apps() {
    let sandbox = start(Seed {
        stale: 2_450,
        ..Seed::default()
    });
    let (run, report) = Reaper::against(&sandbox).args(["--dry-run"]).json();
    run.code(0);
    assert_eq!(report["counts"]["stale"], 2_450);
    assert_eq!(report["counts"]["matched"], 2_450 + 10 + 3 + 2);
    let stats = sandbox.stats();
    assert_eq!(stats.by_status.get("GET /apps 206"), Some(&2));
    assert_eq!(stats.by_status.get("GET /apps 200"), Some(&1));
    assert_eq!(report["requests"]["list_pages"], 3);
}

#[test]
fn deletes_across_pages() {
    let sandbox = start(Seed {
        stale: 1_100,
        ..Seed::default()
    });
    let (run, report) = Reaper::against(&sandbox)
        .args(["--max-deletes", "0", "--concurrency", "16"])
        .json();
    run.code(0);
    assert_eq!(report["counts"]["deleted"], 1_100);
    assert_eq!(count(&sandbox, Role::Stale), 0);
    assert!(sandbox.deleted().iter().all(|app| app.role == Role::Stale));
}

#[test]
fn max_deletes_refuses_before_any_delete() {
    let sandbox = start(Seed::default());
    let run = Reaper::against(&sandbox).args(["--max-deletes", "5"]).run();
    run.code(2)
        .stderr_has("more than `--max-deletes 5`")
        .stderr_has("--max-deletes 30");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
}

#[test]
fn human_output_has_a_line_per_deleted_app_and_a_summary() {
    let sandbox = start(Seed {
        stale: 3,
        ..Seed::default()
    });
    let run = Reaper::against(&sandbox).run();
    run.code(0);
    for app in sandbox.deleted() {
        let line = run
            .stdout
            .lines()
            .find(|line| line.contains(&app.name))
            .unwrap();
        assert!(line.starts_with("deleted"), "{line}");
    }
    assert_eq!(summary_row(&run.stdout, "deleted"), "3");
    assert_eq!(summary_row(&run.stdout, "too young"), "10");
    assert_eq!(summary_row(&run.stdout, "conflicts"), "0");
}

/// The value of a row of the human summary table.
fn summary_row<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("  {name} ")))
        .unwrap_or_else(|| panic!("no `{name}` row in:\n{stdout}"))
        .trim()
}

#[test]
fn the_json_report_is_also_written_to_a_file() {
    let sandbox = start(Seed::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    Reaper::against(&sandbox)
        .args(["--report".as_ref(), path.as_os_str()])
        .run()
        .code(0);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report["counts"]["deleted"], 30);
}

#[test]
fn app_limit_waits_for_the_oldest_young_app_to_pass_the_ttl() {
    let sandbox = start(Seed {
        stale: 0,
        fresh: 0,
        ..Seed::default()
    });
    // Heroku's times have whole seconds, so ages here are known to within a second; the
    // two young ones stay far from the TTL however slowly a loaded machine runs this.
    for (name, millis) in [
        ("hatchet-t-000000000a", 7_500),
        ("hatchet-t-000000000b", 7_000),
        ("hatchet-t-000000000c", 0),
        ("hatchet-t-000000000d", 0),
    ] {
        sandbox.add_app(name, Duration::from_millis(millis), Role::Added);
    }
    let (run, report) = Reaper::against(&sandbox)
        .args([
            "--older-than",
            "8s",
            "--app-limit",
            "3",
            "--wait-for-room",
            "20s",
        ])
        .json();
    run.code(0).stderr_has("waiting");
    let mut deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["hatchet-t-000000000a", "hatchet-t-000000000b"],
        "{report}"
    );
    assert_eq!(report["counts"]["remaining"], 2);
}

#[test]
fn app_limit_fails_at_once_when_room_would_come_too_late() {
    let sandbox = start(Seed {
        stale: 0,
        fresh: 4,
        ..Seed::default()
    });
    let run = Reaper::against(&sandbox)
        .args(["--app-limit", "3", "--wait-for-room", "5s"])
        .run();
    run.code(1)
        .stderr_has("at or over `--app-limit 3`")
        .stderr_has("after `--wait-for-room` runs out");
    assert!(sandbox.deleted().is_empty());
}
