//! What a broken or hostile Heroku API may send, through the binary: ids that are a
//! path's dot segments, text that would start workflow commands, bodies with no end.

use std::time::Duration;

use heroku_sandbox::{Fault, Role, Seed};

use crate::reap::start;
use crate::reaper::Reaper;
use crate::runner::Runner;
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

/// An error a server could send to close the log's group and raise annotations of its
/// own, in every form the runner reads: `::` at a line's start after `\n` or `\r`, and
/// the old `##[command]` anywhere in a line.
const CRAFTED_ID: &str = "invalid_params\n::add-mask::x";
const CRAFTED_MESSAGE: &str = "gone\n::endgroup::\n::error title=pwned::owned\r::warning::%0A ##[error]legacy <script>alert(1)</script> | cell";

/// The workflow commands the program itself prints.
fn ours(command: &str) -> bool {
    command.starts_with("::add-mask::")
        || command.starts_with("::group::heroku-reaper: ")
        || command == "::endgroup::"
        || command.starts_with("::error title=heroku-reaper")
        || command.starts_with("::warning title=heroku-reaper")
}

#[test]
fn server_text_starts_no_workflow_command_in_github_mode() {
    for format in ["human", "json"] {
        let sandbox = start(Seed::empty());
        sandbox.add_app(OLD, STALE, Role::Added);
        let crafted = Fault::Error {
            status: 422,
            id: CRAFTED_ID,
            message: CRAFTED_MESSAGE,
        };
        sandbox.inject("DELETE /apps/{app}", crafted, 1_000);
        let runner = Runner::new();
        let run = Reaper::against(&sandbox)
            .in_runner(&runner)
            .args(["--format", format])
            .run();
        run.code(1);
        assert_eq!(sandbox.stats().faults["error"], 1, "{format}");
        let mut commands = Vec::new();
        for line in run.stdout.lines().chain(run.stderr.lines()) {
            assert!(!line.contains("##["), "{format}: {line}");
            let line = line.trim_start();
            if line.starts_with("::") {
                assert!(ours(line), "{format}: not the program's: {line}");
                commands.push(line);
            }
        }
        let groups = commands
            .iter()
            .filter(|c| c.starts_with("::group::"))
            .count();
        let ends = commands.iter().filter(|c| **c == "::endgroup::").count();
        assert_eq!(
            (groups, ends),
            if format == "human" { (1, 1) } else { (0, 0) }
        );
        // The annotation carries the text, escaped once more for the command.
        let failed = commands
            .iter()
            .find(|c| c.starts_with("::error title=heroku-reaper%3A delete failed::"))
            .unwrap_or_else(|| panic!("{format}: no error annotation: {commands:#?}"));
        assert!(
            failed.contains(
                "`invalid_params\\n::add-mask::x`: gone\\n::endgroup::\\n::error title=pwned::owned\\r::warning::%250A ##\\[error]legacy"
            ),
            "{failed}"
        );
        let summary = runner.summary();
        assert!(!summary.contains("<script>"), "{summary}");
        let row = summary
            .lines()
            .find(|line| line.contains("gone"))
            .expect("the failed app's row");
        assert!(row.starts_with(&format!("| `{OLD}` |")), "{row}");
        assert!(
            row.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\| cell (Request-Id "),
            "{row}"
        );
    }
}
