//! Lines for people, on stdout and stderr. A closed pipe (`heroku-reaper | head -1`) is no
//! reason to stop deleting, nor to skip the report file: what cannot be shown is dropped.
//! `println!` would panic there instead, so the program prints through here only.

use std::io::Write;

/// Where a line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Writes `text` and a line break to `stream`; a write that fails changes nothing.
pub fn line(stream: Stream, text: &str) {
    let _ = write_line(stream, text);
}

/// A line on stdout.
pub fn out(text: &str) {
    line(Stream::Stdout, text);
}

/// A line on stderr.
pub fn err(text: &str) {
    line(Stream::Stderr, text);
}

/// Writes `text` and a line break to `stream`, and says whether it got there: for the
/// JSON report on stdout (`--report -`), whose loss is the run's business.
pub fn write_line(stream: Stream, text: &str) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    match stream {
        Stream::Stdout => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes).and_then(|()| stdout.flush())
        }
        Stream::Stderr => std::io::stderr().lock().write_all(&bytes),
    }
}
