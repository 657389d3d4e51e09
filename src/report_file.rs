//! Where `--report` goes: stdout (`-`); a FIFO or a character device (`/dev/null`),
//! written in place as a shell's `>` would; or a file, written beside its path and renamed
//! over it, so that a symlink planted there is replaced, never followed, and a reader
//! never sees half a report. A path that cannot take a report is refused before the run.

use std::fs::{FileType, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::console::{self, Stream};

/// The `--report` of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `--report -`.
    Stdout,
    File(PathBuf),
}

impl Target {
    /// `-` is stdout; anything else a path.
    pub fn parse(path: PathBuf) -> Target {
        if path.as_os_str() == "-" {
            Target::Stdout
        } else {
            Target::File(path)
        }
    }
}

/// Refuses, before any request, a path the report could not be written to: a directory,
/// a socket, a path whose directory is missing or takes no new file. What the message
/// says follows `` `--report PATH` ``.
pub fn check(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(format!(
                "is a directory; name a file in it, such as `{}`",
                path.join("report.json").display()
            ));
        }
        Ok(meta) if written_in_place(meta.file_type()) => return Ok(()),
        Ok(meta) if !(meta.is_file() || meta.file_type().is_symlink()) => {
            return Err(
                "is neither a file nor a FIFO or character device; name a file".to_string(),
            );
        }
        Ok(_) => {}
        Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {}
        Err(error) => return Err(format!("cannot be looked at ({error})")),
    }
    let temporary = temporary_path(path)?;
    let directory = match temporary.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !directory.is_dir() {
        let why = match directory.exists() {
            true => "which is not a directory",
            false => "which does not exist; create it first",
        };
        return Err(format!("is in `{}`, {why}", directory.display()));
    }
    // Trying is the only check that holds for every user, root included.
    new_file(&temporary)
        .map(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
        .map_err(|error| {
            format!(
                "cannot be written: no new file can be made in `{}` ({error})",
                directory.display()
            )
        })
}

/// Writes `json` to the target.
pub fn write(target: &Target, json: &str) -> std::io::Result<()> {
    let path = match target {
        Target::Stdout => return console::write_line(Stream::Stdout, json),
        Target::File(path) => path,
    };
    let text = format!("{json}\n");
    let in_place =
        std::fs::symlink_metadata(path).is_ok_and(|meta| written_in_place(meta.file_type()));
    if in_place {
        return open_in_place(path)?.write_all(text.as_bytes());
    }
    let temporary =
        temporary_path(path).map_err(|why| std::io::Error::new(ErrorKind::InvalidInput, why))?;
    let mut file = new_file(&temporary)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        // Ours: `new_file` made it.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// `name.PID.tmp` beside `path`.
fn temporary_path(path: &Path) -> Result<PathBuf, String> {
    let name = path.file_name().ok_or("names no file")?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(temporary))
}

/// `create_new` (O_EXCL) follows no symlink.
fn new_file(path: &Path) -> std::io::Result<std::fs::File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// A FIFO or a device: opened as it is, never truncated or replaced, and not through a
/// symlink swapped in since it was looked at.
fn open_in_place(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(unix)]
fn written_in_place(kind: FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_fifo() || kind.is_char_device()
}

#[cfg(not(unix))]
fn written_in_place(_kind: FileType) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dash_is_stdout() {
        assert_eq!(Target::parse("-".into()), Target::Stdout);
        assert_eq!(
            Target::parse("./-".into()),
            Target::File(PathBuf::from("./-"))
        );
    }

    #[test]
    fn a_path_that_cannot_take_a_file_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check(dir.path()).unwrap_err().contains("is a directory"));
        let missing = dir.path().join("missing/report.json");
        assert!(check(&missing).unwrap_err().contains("create it first"));
        let under_a_file = dir.path().join("file");
        std::fs::write(&under_a_file, "").unwrap();
        assert!(
            check(&under_a_file.join("report.json"))
                .unwrap_err()
                .contains("not a directory")
        );
        assert!(check(&dir.path().join("report.json")).is_ok());
        // Only the file the test made is there: the check's own is gone.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
