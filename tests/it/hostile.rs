//! What a broken or hostile Heroku API may send, through the binary: ids that are a
//! path's dot segments, text that would start workflow commands, bodies with no end.

use std::time::Duration;

use heroku_sandbox::{Fault, Role, Seed};

use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::named;

const STALE: Duration = Duration::from_secs(30 * 60);
const OLD: &str = "hatchet-t-00000000aa";

#[test]
fn ids_that_are_dot_segments_are_never_sent() {
    let sandbox = start(Seed::empty());
    let dots = [
        ("hatchet-t-00000000d1", ".."),
        ("hatchet-t-00000000d2", "."),
    ];
    for (name, id) in dots {
        sandbox.add_app_with_id(name, id, STALE);
    }
    sandbox.add_app(OLD, STALE, Role::Added);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    assert_eq!(deleted, [OLD]);
    let stats = sandbox.stats();
    // `DELETE /apps/..` would reach the server as `DELETE /`, and `/apps/.` as `/apps/`.
    assert!(stats.unrouted.is_empty(), "{:?}", stats.unrouted);
    assert_eq!(stats.sent("DELETE"), 1, "{:?}", stats.by_status);
    for (name, id) in dots {
        let entry = named(&report["apps"], name);
        assert_eq!(entry["verdict"], "keep", "{entry}");
        assert_eq!(
            entry["reason"],
            format!("its id `{id}` is neither a UUID nor an app's name; no request is sent for it")
        );
    }
    assert_eq!(report["counts"]["kept"], 2);
}

#[test]
fn a_list_page_past_the_body_limit_fails_the_run_before_any_delete() {
    let sandbox = start(Seed::empty());
    sandbox.add_app(OLD, STALE, Role::Added);
    // 400 MB of whitespace after the page: valid JSON, if anyone read it all.
    sandbox.inject("GET /apps", Fault::Padded(400 << 20), 1);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(1).stderr_has(
        "error: `GET /apps` answered with a body over 32 MiB, far more than any answer of the Platform API; stopped reading it (check `--api-url`)",
    );
    assert_eq!(report["status"], "failed");
    let stats = sandbox.stats();
    assert_eq!(stats.faults["padded"], 1);
    // Not retried: the next answer would be as large.
    assert_eq!(stats.sent("GET /apps"), 1, "{:?}", stats.by_status);
    assert_eq!(stats.sent("DELETE"), 0);
    assert_eq!(sandbox.apps().len(), 1);
}
