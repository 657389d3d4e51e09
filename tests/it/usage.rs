//! Bad input: every row of docs/cli.md's "Bad input" table, run through the binary
//! against a sandbox. Each must exit 2, say what its row says, and send no request.

use heroku_sandbox::Seed;

use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::doc_table;

/// One row: what is wrong, the input, and the parts the message must hold.
struct Row {
    misuse: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
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
        let assignment = word.split_once('=').filter(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        });
        match assignment {
            Some((name, value)) if args.is_empty() => env.push((name.into(), value.into())),
            _ => args.push(word),
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

/// Splits on spaces, keeping `'…'` together (and `''` as an empty word).
fn words(input: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in input.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
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
        assert_eq!(sandbox.stats().requests, 0, "a request was sent: {context}");
    }
}

#[test]
fn the_table_reader_splits_inputs_as_a_shell_would() {
    assert_eq!(words("--prefix ''"), ["--prefix", ""]);
    assert_eq!(words("--match '.*' --all"), ["--match", ".*", "--all"]);
    let row = row("| x | `HATCHET_APP_PREFIX= --older-than=-5m` | a … `b` |");
    assert_eq!(row.env, [("HATCHET_APP_PREFIX".to_string(), String::new())]);
    assert_eq!(row.args, ["--older-than=-5m"]);
    assert_eq!(row.says, ["a", "b"]);
}
