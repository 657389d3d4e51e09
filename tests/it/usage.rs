//! Bad input: every row of docs/cli.md's "Bad input" table, run through the binary
//! against a sandbox. Each must exit 2, say what its row says, and send no request.

use std::ffi::OsString;

use heroku_sandbox::Seed;

use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::doc_table;

/// One row: what is wrong, the input, and the parts the message must hold.
struct Row {
    misuse: String,
    env: Vec<(String, OsString)>,
    args: Vec<OsString>,
    /// `Some(text)`: the home's `.netrc` holds `text` and `HEROKU_API_KEY` is unset.
    netrc: Option<String>,
    says: Vec<String>,
}

fn table() -> Vec<Row> {
    doc_table("docs/cli.md", "## Bad input", "| misuse")
        .iter()
        .map(String::as_str)
        .map(row)
        .collect()
}

fn row(line: &str) -> Row {
    let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
    let [misuse, input, says] = cells[..] else {
        panic!("a row of three cells: {line}");
    };
    let input = input
        .strip_prefix('`')
        .and_then(|input| input.strip_suffix('`'))
        .unwrap_or_else(|| panic!("the input is one code span: {line}"));
    let says = says.split(" … ").map(plain).collect();
    if let Some(netrc) = input.strip_prefix("~/.netrc:") {
        return Row {
            misuse: misuse.to_string(),
            env: Vec::new(),
            args: Vec::new(),
            netrc: Some(format!("{}\n", netrc.trim())),
            says,
        };
    }
    let mut env = Vec::new();
    let mut args = Vec::new();
    for word in words(input) {
        let split = word.iter().position(|&b| b == b'=');
        let assignment = split.map(|at| word.split_at(at)).filter(|(name, _)| {
            !name.is_empty() && name.iter().all(|&b| b.is_ascii_uppercase() || b == b'_')
        });
        match assignment {
            Some((name, value)) if args.is_empty() => env.push((
                String::from_utf8(name.to_vec()).unwrap(),
                os(value[1..].to_vec()),
            )),
            _ => args.push(os(word)),
        }
    }
    Row {
        misuse: misuse.to_string(),
        env,
        args,
        netrc: None,
        says,
    }
}

/// Splits on spaces, keeping `'…'` together (and `''` as an empty word), and reads
/// bash's `$'…'` with its `\xHH` escapes, which can make bytes that are not UTF-8.
fn words(input: &str) -> Vec<Vec<u8>> {
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut quoted = false;
    let mut escapes = false;
    let mut started = false;
    let mut bytes = input.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'$' if !quoted && bytes.peek() == Some(&b'\'') => {
                bytes.next();
                (quoted, escapes, started) = (true, true, true);
            }
            b'\'' => {
                quoted = !quoted;
                escapes = false;
                started = true;
            }
            b'\\' if escapes => {
                let hex: Vec<u8> = match bytes.next() {
                    Some(b'x') => bytes.by_ref().take(2).collect(),
                    other => panic!("only `\\xHH` escapes in `$'…'`, not {other:?}: {input}"),
                };
                let hex = std::str::from_utf8(&hex).unwrap();
                word.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
            }
            b' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            b => {
                word.push(b);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// Bytes as an argument or a variable's value: as they are on Unix; elsewhere, where
/// they are UTF-16, what is not UTF-8 becomes U+FFFD.
fn os(bytes: Vec<u8>) -> OsString {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::from_vec(bytes)
    }
    #[cfg(not(unix))]
    {
        String::from_utf8_lossy(&bytes).into_owned().into()
    }
}

/// Text without backticks or single quotes, which the docs and clap use differently.
fn plain(text: &str) -> String {
    text.replace(['`', '\''], "")
}

#[test]
fn every_misuse_in_the_docs_exits_2_naming_problem_and_fix_with_no_request() {
    let rows = table();
    assert!(rows.len() >= 30, "the table has {} rows", rows.len());
    let sandbox = start(Seed::default());
    for row in rows {
        let not_text = row.env.iter().any(|(_, value)| value.to_str().is_none());
        if cfg!(windows)
            && row
                .env
                .iter()
                .any(|(_, value)| value.to_string_lossy().contains('\u{fffd}'))
        {
            eprintln!(
                "skipped on Windows, whose variables are always text: {}",
                row.misuse
            );
            continue;
        }
        let mut reaper = Reaper::against(&sandbox).args(&row.args);
        for (name, value) in &row.env {
            reaper = reaper.env(name, value);
        }
        if let Some(netrc) = &row.netrc {
            reaper = reaper.env_remove("HEROKU_API_KEY");
            std::fs::write(reaper.home().join(".netrc"), netrc).unwrap();
        }
        let run = reaper.run();
        let context = format!(
            "{}: {:?} {:?}\n{}",
            row.misuse, row.env, row.args, run.stderr
        );
        assert_eq!(run.code, 2, "{context}");
        assert!(run.stderr.starts_with("error: "), "{context}");
        let stderr = plain(&run.stderr);
        for part in &row.says {
            assert!(stderr.contains(part.as_str()), "lacks {part:?}: {context}");
        }
        if not_text {
            // A value that is not text is named, never shown, not even in part.
            assert!(!run.stderr.contains("key-"), "{context}");
        }
        assert_eq!(sandbox.stats().requests, 0, "a request was sent: {context}");
    }
}

#[test]
fn the_table_reader_splits_inputs_as_a_shell_would() {
    assert_eq!(words("--prefix ''"), [&b"--prefix"[..], b""]);
    assert_eq!(
        words("--match '.*' --all"),
        [&b"--match"[..], b".*", b"--all"]
    );
    assert_eq!(words("K=$'a-\\xff b'"), [&b"K=a-\xff b"[..]]);
    let row = row("| x | `HATCHET_APP_PREFIX= --older-than=-5m` | a … `b` |");
    assert_eq!(
        row.env,
        [("HATCHET_APP_PREFIX".to_string(), OsString::new())]
    );
    assert_eq!(row.args, ["--older-than=-5m"]);
    assert_eq!(row.says, ["a", "b"]);
}
