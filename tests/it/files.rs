//! The files the reaper writes, the lock and the report: only its own, never through a
//! symlink, and never another user's.

use heroku_sandbox::Seed;
use serde_json::Value;

use crate::reap::start;
use crate::reaper::Reaper;

#[test]
fn a_lock_file_that_is_not_a_lock_is_left_byte_identical() {
    let sandbox = start(Seed::default());
    let dir = tempfile::tempdir().unwrap();
    let netrc = dir.path().join(".netrc");
    let content = b"machine api.heroku.com\n  login ci@example.com\n  password not-a-key\n\xff";
    std::fs::write(&netrc, content).unwrap();
    let run = Reaper::against(&sandbox)
        .args(["--lock-file".as_ref(), netrc.as_os_str()])
        .run();
    run.code(2)
        .stderr_has("error: cannot take the lock")
        .stderr_has("holds something other than a heroku-reaper lock")
        .stderr_has("choose another path with `--lock-file`");
    assert_eq!(std::fs::read(&netrc).unwrap(), content);
    assert_eq!(sandbox.stats().requests, 0);
}

#[cfg(unix)]
#[test]
fn the_default_lock_is_per_user_and_marked_as_a_heroku_reaper_lock() {
    use std::os::unix::fs::MetadataExt;
    let sandbox = start(Seed::default());
    let temp = tempfile::tempdir().unwrap();
    let uid = std::fs::metadata(temp.path()).unwrap().uid();
    Reaper::against(&sandbox)
        .env_remove("HEROKU_REAPER_LOCK_FILE")
        .env("TMPDIR", temp.path())
        .run()
        .code(0);
    let lock = temp.path().join(format!("heroku-reaper-{uid}.lock"));
    let written = std::fs::read_to_string(&lock).unwrap();
    assert!(written.starts_with("heroku-reaper lock\n"), "{written:?}");
    // The next run recognises it as a lock and takes it again.
    Reaper::against(&sandbox)
        .env_remove("HEROKU_REAPER_LOCK_FILE")
        .env("TMPDIR", temp.path())
        .run()
        .code(0);
}

/// Needs root, to give the file to another user; elsewhere it says so and passes.
#[cfg(unix)]
#[test]
fn a_lock_file_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    if std::fs::metadata(dir.path()).unwrap().uid() != 0 {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let sandbox = start(Seed::default());
    let lock = dir.path().join("reaper.lock");
    std::fs::write(&lock, "").unwrap();
    std::os::unix::fs::chown(&lock, Some(65534), Some(65534)).unwrap();
    let run = Reaper::against(&sandbox)
        .env("HEROKU_REAPER_LOCK_FILE", &lock)
        .run();
    run.code(2)
        .stderr_has("cannot take the lock")
        .stderr_has("belongs to another user (uid 65534)");
    assert_eq!(std::fs::read(&lock).unwrap(), b"");
    assert_eq!(sandbox.stats().requests, 0);
}

#[cfg(unix)]
#[test]
fn a_report_path_planted_as_a_symlink_is_replaced_not_followed() {
    let sandbox = start(Seed::default());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    std::fs::write(&target, "precious").unwrap();
    let report = dir.path().join("report.json");
    std::os::unix::fs::symlink(&target, &report).unwrap();
    let (run, printed) = Reaper::against(&sandbox)
        .args(["--report".as_ref(), report.as_os_str()])
        .json();
    run.code(0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    assert!(!std::fs::symlink_metadata(&report).unwrap().is_symlink());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written, printed);
    // Nothing left beside it but the two files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
