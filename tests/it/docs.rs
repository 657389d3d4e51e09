//! The docs hold together: every relative link in the README and the pages beside it
//! points at a file that exists (and at a heading of it, for a `#fragment`), and the CLI
//! reference lists exactly the options `--help` does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::reaper::Reaper;
use crate::runner;

/// The pages of the docs, as paths from the repository's root.
pub fn pages() -> Vec<String> {
    let mut pages: Vec<String> = [
        "README.md",
        "CONTRIBUTING.md",
        "RELEASING.md",
        "CHANGELOG.md",
        "bench/README.md",
        "crates/heroku-sandbox/README.md",
    ]
    .map(String::from)
    .to_vec();
    let docs = std::fs::read_dir(runner::repo().join("docs")).expect("a docs/ folder");
    for entry in docs {
        let name = entry.expect("a docs/ entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".md") {
            pages.push(format!("docs/{name}"));
        }
    }
    pages.sort();
    pages
}

/// A file of the repository, with line endings as git may check them out on Windows.
pub fn read_text(path: &str) -> String {
    let text = std::fs::read_to_string(runner::repo().join(path))
        .unwrap_or_else(|error| panic!("read {path}: {error}"));
    text.replace("\r\n", "\n")
}

/// The lines of `text` outside fenced code blocks, where a `](…)` is not a link.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The fragment GitHub gives a heading: lowercase, punctuation dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .into_iter()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| anchor(heading.trim_start_matches('#')))
        .collect()
}

/// Where `target`, linked from the page `page`, points: the file and the fragment.
fn resolve(page: &str, target: &str) -> (PathBuf, Option<String>) {
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment.to_string())),
        None => (target, None),
    };
    let from = Path::new(page).parent().unwrap_or(Path::new(""));
    let file = if path.is_empty() {
        PathBuf::from(page)
    } else {
        from.join(path)
    };
    (file, fragment)
}

/// `a/b/../c` as `a/c`, so a link can be checked without touching the file system twice.
fn normal(path: &Path) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                assert!(
                    parts.pop().is_some(),
                    "{} leaves the repository",
                    path.display()
                );
            }
            std::path::Component::CurDir => {}
            other => parts.push(other.as_os_str()),
        }
    }
    parts.iter().collect()
}

#[test]
fn every_relative_link_in_the_docs_points_at_something_that_exists() {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in pages() {
        let text = read_text(&page);
        for line in prose(&text) {
            for found in link.captures_iter(line) {
                let target = &found[1];
                if target.starts_with("http://") || target.starts_with("https://") {
                    continue;
                }
                checked += 1;
                let (file, fragment) = resolve(&page, target);
                let file = normal(&file);
                let path = runner::repo().join(&file);
                if !path.exists() {
                    broken.push(format!("{page}: {target}: no {}", file.display()));
                    continue;
                }
                if let Some(fragment) = fragment {
                    let heading = path.extension().is_some_and(|ext| ext == "md")
                        && anchors(&read_text(&file.to_string_lossy())).contains(&fragment);
                    if !heading {
                        broken.push(format!("{page}: {target}: no heading `#{fragment}`"));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 30, "only {checked} links found");
}

#[test]
fn the_index_links_every_page_of_the_docs() {
    let readme = read_text("README.md");
    let index = readme
        .split("\n## Documentation\n")
        .nth(1)
        .expect("the README's index");
    for page in pages().into_iter().filter(|page| page != "README.md") {
        assert!(
            index.contains(&format!("]({page})")),
            "the README's index does not link {page}"
        );
    }
}

#[test]
fn every_page_opens_with_a_title_and_what_it_is_for() {
    for page in pages() {
        let text = read_text(&page);
        let mut paragraphs = text.split("\n\n");
        let title = paragraphs.next().unwrap_or_default();
        assert!(
            title.starts_with("# ") && !title.contains('\n'),
            "{page} opens with a `# title`"
        );
        let opening = paragraphs.next().unwrap_or_default();
        assert!(
            !opening.starts_with(['#', '`', '|', '-']) && opening.contains('.'),
            "{page}: after its title, a sentence that says what the page is for"
        );
    }
}

/// The long options `--help` lists, and the first column of docs/cli.md's "Options"
/// table, are the same set: an option added to one is documented in the other.
#[test]
fn the_cli_reference_lists_every_option_of_help() {
    let help = Reaper::bare().args(["--help"]).run().stdout;
    let option = Regex::new(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)").unwrap();
    let from_help: BTreeSet<String> = help
        .split("Examples:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|line| option.captures(line).map(|found| found[1].to_string()))
        .filter(|name| !matches!(name.as_str(), "--help" | "--version"))
        .collect();
    let first_cell = Regex::new(r"^\| `(-\w, )?(--[a-z][a-z-]*|-v)").unwrap();
    let documented: BTreeSet<String> =
        crate::support::doc_table("docs/cli.md", "## Options", "| option")
            .iter()
            .filter_map(|row| first_cell.captures(row).map(|found| found[2].to_string()))
            .map(|name| {
                if name == "-v" {
                    "--verbose".into()
                } else {
                    name
                }
            })
            .collect();
    assert_eq!(documented, from_help);
}
