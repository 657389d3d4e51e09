//! The files the reaper writes, the lock and the report: only its own, never through a
//! symlink, and never another user's.

use std::time::Duration;

use heroku_sandbox::{Fault, Seed};
use serde_json::Value;

use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::eventually;

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

#[test]
fn a_report_on_stdout_comes_with_the_human_lines_on_stderr() {
    let sandbox = start(Seed::default());
    let run = Reaper::against(&sandbox).args(["--report", "-"]).run();
    run.code(0);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("stdout is the JSON report ({error}):\n{}", run.stdout));
    assert_eq!(report["status"], "done");
    assert_eq!(report["counts"]["deleted"], 30);
    // The lines per app and the summary, where they do not spoil the JSON.
    run.stderr_has("deleted  ").stderr_has("matched");
    assert_eq!(sandbox.deleted().len(), 30);
}

/// A report that cannot be written after the run: the run is not undone, its outcome is
/// still printed, and the exit code says the report is missing.
#[test]
fn a_report_whose_directory_goes_away_mid_run_is_exit_1_with_the_outcome_printed() {
    let sandbox = start(Seed::default());
    // The listing answers late, and the directory is swapped for a file meanwhile.
    sandbox.inject("GET /apps", Fault::Delay(Duration::from_millis(500)), 1);
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("reports");
    std::fs::create_dir(&parent).unwrap();
    let report = parent.join("report.json");
    let reaper = Reaper::against(&sandbox).args(["--report".as_ref(), report.as_os_str()]);
    let (child, _home) = reaper.spawn();
    eventually("the listing is held back", || {
        sandbox.stats().faults.contains_key("slow")
    });
    std::fs::remove_dir(&parent).unwrap();
    std::fs::write(&parent, "a file where the directory was").unwrap();
    let run = crate::reaper::wait_within(child, Duration::from_secs(60));
    run.code(1)
        .stderr_has(&format!(
            "error: cannot write the report to `{}`",
            report.display()
        ))
        .stdout_has("done");
    assert_eq!(sandbox.deleted().len(), 30);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_written_in_place_and_stays_a_fifo() {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let sandbox = start(Seed::default());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|status| status.success()), "mkfifo");
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read_to_string(fifo)
    });
    let run = Reaper::against(&sandbox)
        .args(["--report".as_ref(), fifo.as_os_str()])
        .run();
    // Should the run not have opened it, the reader would wait for ever: open and close
    // it once, so it ends either way.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo);
    let written = reader.join().unwrap().unwrap();
    run.code(0);
    let report: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(report["status"], "done");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `/dev/null` stays the device it is. As root, which could replace it, the test uses a
/// device node of its own with the same numbers instead, so that a failure cannot break
/// the machine's.
#[cfg(unix)]
#[test]
fn a_character_device_is_written_in_place_and_never_replaced() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let sandbox = start(Seed::default());
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("null");
    let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
    let made = root
        && std::process::Command::new("mknod")
            .arg(&own)
            .args(["c", "1", "3"])
            .status()
            .is_ok_and(|status| status.success());
    let device = if made {
        own
    } else {
        std::path::PathBuf::from("/dev/null")
    };
    let before = std::fs::symlink_metadata(&device).unwrap();
    assert!(before.file_type().is_char_device());
    Reaper::against(&sandbox)
        .args(["--report".as_ref(), device.as_os_str()])
        .run()
        .code(0);
    let after = std::fs::symlink_metadata(&device).unwrap();
    assert!(after.file_type().is_char_device(), "{after:?}");
    assert_eq!((after.ino(), after.rdev()), (before.ino(), before.rdev()));
    assert_eq!(sandbox.deleted().len(), 30);
}
