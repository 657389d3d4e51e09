//! The machine-wide lock, so reapers on one machine take turns.
//!
//! The standard library's `File::lock` (stable since Rust 1.89) does what fs2 did, with
//! no dependency: an advisory exclusive lock that the OS releases when the process ends,
//! however it ends, so a crashed reaper never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
}

pub fn default_path() -> PathBuf {
    std::env::temp_dir().join("heroku-reaper.lock")
}

/// Takes the lock, waiting for it if `wait`; `on_wait` is told who holds it first.
pub fn acquire(
    path: &Path,
    wait: bool,
    on_wait: impl FnOnce(Option<u32>),
) -> std::io::Result<Acquired> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = read_pid(&mut file);
            if !wait {
                return Ok(Acquired::Busy { holder });
            }
            on_wait(holder);
            file.lock()?;
        }
        Err(std::fs::TryLockError::Error(error)) => return Err(error),
    }
    // Only the holder writes, so the pid is whoever holds the lock now.
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(file, "{}", std::process::id())?;
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

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_it_is_busy_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reaper.lock");
        let first = acquire(&path, false, |_| {}).unwrap();
        assert!(matches!(first, Acquired::Held(_)));
        let second = acquire(&path, false, |_| {}).unwrap();
        assert!(matches!(
            second,
            Acquired::Busy { holder: Some(pid) } if pid == std::process::id()
        ));
        drop(first);
        assert!(matches!(
            acquire(&path, false, |_| {}).unwrap(),
            Acquired::Held(_)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_never_followed_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reaper.lock");
        let _held = acquire(&path, false, |_| {}).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let target = dir.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let link = dir.path().join("link.lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(acquire(&link, false, |_| {}).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    }
}
