//! Listings that hold what they should not: an app listed twice with two creation times,
//! apps whose `created_at` is missing or unreadable. The run goes on with the rest, and
//! no such app is deleted on a guess.

use std::time::Duration;

use heroku_sandbox::{Oddity, Role, Seed};
use serde_json::json;

use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::named;

#[test]
fn an_app_listed_twice_is_aged_by_its_younger_entry() {
    let sandbox = start(Seed::default());
    let young = sandbox.add_app(
        "hatchet-t-0000listedtwice",
        Duration::from_secs(60),
        Role::Added,
    );
    // Listed first, a copy that claims an hour: by it alone, the young app is stale.
    sandbox.list_oddly(
        &young.id,
        Oddity::ListedTwice {
            older_by: Duration::from_secs(3_600),
        },
    );
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    assert!(sandbox.apps().iter().any(|app| app.id == young.id));
    assert_eq!(sandbox.deleted().len(), 30);
    let entry = named(&report["apps"], &young.name);
    assert_eq!(entry["verdict"], "too-young", "{entry}");
    // Once in the report, as in the plan.
    let listed = report["apps"].as_array().unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|app| app["id"] == young.id.as_str())
            .count(),
        1
    );
}

#[test]
fn apps_of_unknown_age_are_kept_and_the_rest_of_the_page_is_reaped() {
    let sandbox = start(Seed::default());
    let odd = [
        ("hatchet-t-0000nocreated", Oddity::NoCreatedAt),
        (
            "hatchet-t-0000yesterday",
            Oddity::CreatedAt(json!("yesterday")),
        ),
        ("hatchet-t-00000000null", Oddity::CreatedAt(json!(null))),
        ("billing-nocreated", Oddity::NoCreatedAt),
    ];
    for (name, oddity) in odd.clone() {
        let app = sandbox.add_app(name, Duration::from_secs(3_600), Role::Added);
        sandbox.list_oddly(&app.id, oddity);
    }
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    assert_eq!(report["status"], "done");
    // Every stale app with a readable age went; none of the others.
    assert_eq!(sandbox.deleted().len(), 30);
    assert!(sandbox.deleted().iter().all(|app| app.role == Role::Stale));
    for (name, _) in &odd[..3] {
        let entry = named(&report["apps"], name);
        assert_eq!(entry["verdict"], "keep", "{entry}");
        assert!(
            entry["reason"].as_str().unwrap().starts_with("age unknown"),
            "{entry}"
        );
        assert!(entry["created_at"].is_null() && entry["age_seconds"].is_null());
        assert_eq!(entry["age"], "unknown");
    }
    // A name that does not match is none of the reaper's business, age or not.
    let names: Vec<&str> = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| app["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"billing-nocreated"));
    assert_eq!(report["counts"]["kept"], 3);
}
