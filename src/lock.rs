//! The machine-wide lock, so reapers on one machine take turns.
//!
//! The standard library's `File::lock` (stable since Rust 1.89) does what fs2 did, with
//! no dependency: an advisory exclusive lock that the OS releases when the process ends,
//! however it ends, so a crashed reaper never leaves a stale lock behind.
//!
//! The file is only ever written when it is ours: empty, or starting with `MAGIC`, and
//! (on Unix) owned by this user. A `--lock-file` pointed at anything else (`~/.netrc`) is
//! refused untouched, and a symlink is never followed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether and how a run takes the machine-wide lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Wait for another reaper on this machine to finish, then list the apps afresh.
    Wait,
    /// Exit 0 at once if another reaper on this machine holds the lock.
    Skip,
    /// Take no lock.
    Off,
}

/// The first line of every lock file this program writes; the holder's pid follows.
const MAGIC: &[u8] = b"heroku-reaper lock\n";
/// How often a waiting reaper tries the lock again: `File::lock` takes no deadline.
const POLL: Duration = Duration::from_millis(100);

/// Held until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

#[derive(Debug)]
pub enum Acquired {
    Held(Lock),
    /// Another process holds it; its pid if it wrote one.
    Busy {
        holder: Option<u32>,
    },
    /// Another process held it for the whole wait.
    TimedOut {
        holder: Option<u32>,
    },
}

/// Why the file cannot serve as the lock; the caller names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("it holds something other than a heroku-reaper lock, so it is left as it is")]
    NotOurs,
    #[error("it belongs to another user (uid {0}), who could hold every reaper up")]
    OtherOwner(u32),
    #[error("it is not a regular file")]
    NotAFile,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Per user, so that another user of the machine cannot create it first and block or
/// stall this one's reapers. (Windows' temp dir is per user already.)
pub fn default_path() -> PathBuf {
    #[cfg(unix)]
    let name = format!("heroku-reaper-{}.lock", effective_uid());
    #[cfg(not(unix))]
    let name = "heroku-reaper.lock".to_string();
    std::env::temp_dir().join(name)
}

/// Takes the lock; when another process holds it, waits up to `wait` if given (telling
/// `on_wait` who holds it first), else answers `Busy`.
pub fn acquire(
    path: &Path,
    wait: Option<Duration>,
    on_wait: impl FnOnce(Option<u32>),
) -> Result<Acquired, LockError> {
    let mut file = open(path)?;
    check(&file)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = read_pid(&file);
            let Some(timeout) = wait else {
                return Ok(Acquired::Busy { holder });
            };
            on_wait(holder);
            if !wait_for(&file, timeout)? {
                let holder = read_pid(&file).or(holder);
                return Ok(Acquired::TimedOut { holder });
            }
        }
        Err(TryLockError::Error(error)) => return Err(error.into()),
    }
    // Only the holder writes, so the pid is whoever holds the lock now. One write, so a
    // reader sees the magic line whole or a part of it, never something else.
    let mut content = MAGIC.to_vec();
    content.extend(format!("{}\n", std::process::id()).bytes());
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&content)?;
    file.flush()?;
    Ok(Acquired::Held(Lock { _file: file }))
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Private to this user, and never through a symlink someone planted in /tmp.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Whether the open file may serve as our lock, judged from the open file itself so that
/// nothing can be swapped in between the check and the write.
fn check(file: &File) -> Result<(), LockError> {
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(LockError::NotAFile);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.uid() != effective_uid() {
            return Err(LockError::OtherOwner(metadata.uid()));
        }
    }
    let mut head = Vec::new();
    file.take(MAGIC.len() as u64).read_to_end(&mut head)?;
    // Empty or a part of the magic line: new, or a holder is writing it now.
    if MAGIC.starts_with(&head) {
        Ok(())
    } else {
        Err(LockError::NotOurs)
    }
}

/// Tries the lock until it is free (true) or `timeout` has passed (false).
fn wait_for(file: &File, timeout: Duration) -> std::io::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {}
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(error)) => return Err(error),
        }
    }
}

fn read_pid(mut file: &File) -> Option<u32> {
    let mut text = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(64).read_to_end(&mut text).ok()?;
    let pid = text.strip_prefix(MAGIC)?;
    std::str::from_utf8(pid).ok()?.trim().parse().ok()
}

#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "geteuid has no preconditions and cannot fail; std has no safe wrapper"
)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid reads the process's credentials and touches no memory of ours.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Option<Duration> = None;

    #[test]
    fn a_second_holder_is_told_it_is_busy_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reaper.lock");
        let first = acquire(&path, NOW, |_| {}).unwrap();
        assert!(matches!(first, Acquired::Held(_)));
        let second = acquire(&path, NOW, |_| {}).unwrap();
        assert!(matches!(
            second,
            Acquired::Busy { holder: Some(pid) } if pid == std::process::id()
        ));
        drop(first);
        assert!(matches!(
            acquire(&path, NOW, |_| {}).unwrap(),
            Acquired::Held(_)
        ));
    }

    #[test]
    fn a_wait_ends_when_the_holder_lets_go_or_the_time_is_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reaper.lock");
        let first = acquire(&path, NOW, |_| {}).unwrap();
        let mut told = None;
        let waited = acquire(&path, Some(Duration::from_millis(50)), |holder| {
            told = holder;
        })
        .unwrap();
        assert!(matches!(
            waited,
            Acquired::TimedOut { holder: Some(pid) } if pid == std::process::id()
        ));
        assert_eq!(told, Some(std::process::id()));
        let released = std::thread::spawn(move || drop(first));
        let waited = acquire(&path, Some(Duration::from_secs(600)), |_| {}).unwrap();
        assert!(matches!(waited, Acquired::Held(_)));
        released.join().unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_lock_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netrc");
        let content = "machine api.heroku.com login ci password secret\n";
        std::fs::write(&path, content).unwrap();
        assert!(matches!(
            acquire(&path, NOW, |_| {}),
            Err(LockError::NotOurs)
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
        // An older lock holding a bare pid is not recognisable either.
        std::fs::write(&path, "1234").unwrap();
        assert!(matches!(
            acquire(&path, NOW, |_| {}),
            Err(LockError::NotOurs)
        ));
        assert!(matches!(
            acquire(dir.path(), NOW, |_| {}),
            Err(LockError::NotAFile | LockError::Io(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_never_followed_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reaper.lock");
        let _held = acquire(&path, NOW, |_| {}).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let target = dir.path().join("target");
        std::fs::write(&target, "").unwrap();
        let link = dir.path().join("link.lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(acquire(&link, NOW, |_| {}).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    }

    #[cfg(unix)]
    #[test]
    fn the_default_path_names_the_user() {
        let name = default_path();
        let name = name.file_name().unwrap().to_string_lossy();
        assert_eq!(name, format!("heroku-reaper-{}.lock", effective_uid()));
    }
}
