//! How the source is laid out, checked from its text: no import cycle between the
//! top-level modules of `src/`, nor between the files of any folder, its `mod.rs`
//! included; and few long functions. Read from the code with comments and strings
//! blanked, so a new import that closes a loop, or a function that grows past its
//! bound, fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// A function longer than this many lines is split into named steps...
const LONG_FUNCTION: usize = 60;
/// ...but for at most this many, whose steps would say less than the whole.
const LONG_FUNCTIONS_ALLOWED: usize = 2;

#[test]
fn top_level_modules_form_no_cycle() {
    let mut graph = Graph::new();
    for file in sources() {
        let Some(from) = file.module.first() else {
            continue; // lib.rs, the root, may name every module
        };
        for path in file.imports() {
            if let Some(to) = path.first() {
                add_edge(&mut graph, from, to);
            }
        }
    }
    assert_eq!(cycle(&graph), None, "top-level modules import each other");
}

/// In each folder module (`reap/`, `reap/walk/`, `heroku/`, …) the files, `mod.rs` among
/// them, import each other in one direction only: a part that takes a type from
/// `super` (what `mod.rs` defines) while `mod.rs` uses that part closes a loop, and so
/// does a part that reaches a sibling's items through the folder's re-exports.
#[test]
fn the_files_of_each_folder_form_no_cycle() {
    let files = sources();
    let folders: BTreeSet<Vec<String>> = files
        .iter()
        .filter(|file| file.is_folder_root && !file.module.is_empty())
        .map(|file| file.module.clone())
        .collect();
    assert!(
        folders.contains(&vec!["reap".to_string()]) && folders.len() >= 4,
        "too few folders seen: {folders:?}"
    );
    let mut cycles = Vec::new();
    for folder in &folders {
        let graph = folder_graph(folder, &files);
        assert!(
            graph.len() >= 3,
            "too few files seen in {folder:?}: {graph:?}"
        );
        if let Some(cycle) = cycle(&graph) {
            cycles.push(format!("src/{}/: {}", folder.join("/"), cycle.join(" -> ")));
        }
    }
    assert!(
        cycles.is_empty(),
        "files import each other (`mod` is the folder's mod.rs):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_imports_and_finds_a_cycle() {
    let text = "use crate::{lock, report::{self, human}};\n// crate::not_this\nlet s = \"crate::nor_this\";\nlet x = super::plan::Age;\nuse walk::Answer;";
    let file = Source {
        path: "reap/mod.rs".into(),
        module: vec!["reap".into()],
        is_folder_root: true,
        code: blank(text),
    };
    let found: Vec<String> = file
        .imports_among(&["walk".into()])
        .iter()
        .map(|path| path.join("::"))
        .collect();
    assert_eq!(
        found,
        [
            "lock",
            "report",
            "report::human",
            "plan::Age",
            "reap::walk::Answer"
        ]
    );
    let mut graph = Graph::new();
    add_edge(&mut graph, "a", "b");
    add_edge(&mut graph, "b", "c");
    assert_eq!(cycle(&graph), None);
    add_edge(&mut graph, "c", "a");
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// Counts, in `src/` and the sandbox's `crates/heroku-sandbox/src/`, the lines of every
/// function from its `fn` line to its closing brace, leaving out test code (items under
/// `#[cfg(test)]` or `#[test]`, and files declared under `#[cfg(test)]`). A function over
/// `LONG_FUNCTION` lines is split into named steps, but for `LONG_FUNCTIONS_ALLOWED`.
#[test]
fn few_functions_are_long() {
    let mut lengths = Vec::new();
    for (crate_dir, files) in [
        ("src", sources()),
        (
            "crates/heroku-sandbox/src",
            rust_files(&root().join("crates/heroku-sandbox/src")),
        ),
    ] {
        let test_only = test_only_files(&files);
        for file in files
            .iter()
            .filter(|file| !test_only.contains(&file.module))
        {
            for (name, line, lines) in functions(&file.code) {
                let place = format!("{crate_dir}/{}:{line} {name}", file.path);
                lengths.push((lines, place));
            }
        }
    }
    assert!(
        lengths.len() > 300,
        "too few functions seen: {}",
        lengths.len()
    );
    lengths.sort_by(|a, b| b.cmp(a));
    let long: Vec<String> = lengths
        .iter()
        .take_while(|(lines, _)| *lines > LONG_FUNCTION)
        .map(|(lines, place)| format!("{lines:>4} {place}"))
        .collect();
    // Printed so that a run with `--nocapture` shows them, and the longest under the bound.
    for (lines, place) in lengths.iter().take(LONG_FUNCTIONS_ALLOWED + 8) {
        println!("{lines:>4} {place}");
    }
    assert!(
        long.len() <= LONG_FUNCTIONS_ALLOWED,
        "{} functions are over {LONG_FUNCTION} lines (at most {LONG_FUNCTIONS_ALLOWED} may be); split them into named steps:\n{}",
        long.len(),
        long.join("\n")
    );
}

#[test]
fn the_counter_skips_strings_comments_and_test_code() {
    let text = r##"
fn short() {
    let s = "}}}";
    let c = '}';
    let r = r#"{"#;
    // }
}

#[cfg(test)]
mod tests {
    fn inside_tests() {
    }
}

impl Thing {
    fn declared(&self);
    pub async fn three<T: Fn() -> u8>(f: T) -> u8 {
        f()
    }
}
"##;
    let found = functions(&blank(text));
    assert_eq!(
        found,
        [("short".to_string(), 2, 6), ("three".to_string(), 17, 3)]
    );
}

/// One source file: its module path (`reap/mod.rs` is `["reap"]`) and its code with
/// comments and strings blanked.
struct Source {
    /// From the crate's `src/`.
    path: String,
    module: Vec<String>,
    /// `mod.rs`, `lib.rs` or `main.rs`: the module's own file, with its children beside it.
    is_folder_root: bool,
    code: String,
}

impl Source {
    /// Every module path this file imports, from the crate's root: `crate::a::b` is
    /// `[a, b]`, `super::` and `self::` are resolved from this file's module.
    fn imports(&self) -> Vec<Vec<String>> {
        self.imports_among(&[])
    }

    /// As [`Source::imports`], and in a folder's own file, the paths that start with one
    /// of its `children` (`use ledger::Ledger;`).
    fn imports_among(&self, children: &[String]) -> Vec<Vec<String>> {
        let mut roots = vec!["crate", "super", "self"];
        if self.is_folder_root {
            roots.extend(children.iter().map(String::as_str));
        }
        // `super::` names the module around this one, and `self::` this one.
        let own: &[String] = &self.module;
        let around = &own[..own.len().saturating_sub(1)];
        // Test code may reach anywhere, and its `super::` is the file's own module.
        let mut code = self.code.clone();
        for (start, end) in test_items(&self.code) {
            code.replace_range(start..end, &" ".repeat(end - start));
        }
        paths(&code, &roots)
            .into_iter()
            .map(|path| {
                let (first, rest) = path.split_first().expect("a path has a root");
                let mut absolute: Vec<String> = match first.as_str() {
                    "crate" => Vec::new(),
                    "super" => around.to_vec(),
                    "self" => own.to_vec(),
                    child => {
                        let mut inside = own.to_vec();
                        inside.push(child.to_string());
                        inside
                    }
                };
                absolute.extend(rest.iter().cloned());
                absolute
            })
            .collect()
    }
}

/// The graph of the files of `folder`: a node per child module (a file, or a folder with
/// everything in it), and `mod` for the folder's own file; an edge where one imports
/// from another. What `super::` names that is no child is an item of `mod`.
fn folder_graph(folder: &[String], files: &[Source]) -> Graph {
    let depth = folder.len();
    let inside = |module: &[String]| module.len() >= depth && module[..depth] == *folder;
    let children: Vec<String> = files
        .iter()
        .filter(|file| inside(&file.module) && file.module.len() > depth)
        .map(|file| file.module[depth].clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let node = |module: &[String]| match module.get(depth) {
        Some(child) if children.contains(child) => child.clone(),
        _ => "mod".to_string(),
    };
    let mut graph = Graph::new();
    for file in files.iter().filter(|file| inside(&file.module)) {
        let from = node(&file.module);
        graph.entry(from.clone()).or_default();
        let own_file = file.module.len() == depth;
        let imports = match own_file {
            true => file.imports_among(&children),
            false => file.imports(),
        };
        for path in imports.iter().filter(|path| inside(path)) {
            add_edge(&mut graph, &from, &node(path));
        }
    }
    graph
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sources() -> Vec<Source> {
    rust_files(&root().join("src"))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(folder) = dirs.pop() {
        for entry in std::fs::read_dir(&folder).expect("read a source folder") {
            let path = entry.expect("read a source folder entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                let relative = path.strip_prefix(dir).unwrap();
                let (module, is_folder_root) = module_of(relative);
                files.push(Source {
                    path: relative.to_string_lossy().replace('\\', "/"),
                    module,
                    is_folder_root,
                    code: blank(&text),
                });
            }
        }
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    files
}

fn module_of(relative: &Path) -> (Vec<String>, bool) {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let root = matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    );
    if root {
        parts.pop();
    }
    (parts, root)
}

/// The modules declared under `#[cfg(test)]` (`#[cfg(test)] mod sim;`), with their files.
fn test_only_files(files: &[Source]) -> BTreeSet<Vec<String>> {
    let mut test_only = BTreeSet::new();
    for file in files {
        let folder = match file.is_folder_root {
            true => file.module.clone(),
            false => file.module[..file.module.len() - 1].to_vec(),
        };
        for (start, end) in test_items(&file.code) {
            let item: Vec<&str> = file.code[start..end].split_whitespace().collect();
            if let [.., "mod", name] = item[..] {
                let mut module = folder.clone();
                module.push(name.trim_end_matches(';').to_string());
                test_only.insert(module);
            }
        }
    }
    let declared: Vec<Vec<String>> = test_only.iter().cloned().collect();
    for file in files {
        if declared
            .iter()
            .any(|module| file.module.starts_with(module))
        {
            test_only.insert(file.module.clone());
        }
    }
    test_only
}

/// The byte ranges of items marked `#[cfg(test)]`, `#[test]` or `#[tokio::test]`: from
/// the attribute to the item's closing brace, or its `;`.
fn test_items(code: &str) -> Vec<(usize, usize)> {
    let bytes = code.as_bytes();
    let mut items = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("#[").map(|at| at + from) {
        let Some(close) = code[at..].find(']').map(|close| close + at) else {
            break;
        };
        let attribute: String = code[at + 2..close].split_whitespace().collect();
        from = close + 1;
        if !matches!(attribute.as_str(), "cfg(test)" | "test" | "tokio::test") {
            continue;
        }
        let end = match code[close..].find(['{', ';']).map(|end| end + close) {
            Some(end) if bytes[end] == b'{' => matching_brace(bytes, end),
            Some(end) => end + 1,
            None => code.len(),
        };
        items.push((at, end));
        from = end;
    }
    items
}

/// Every function with a body outside test code: its name, the line of its `fn` and how
/// many lines it spans, closing brace included.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let bytes = code.as_bytes();
    let tests = test_items(code);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("fn ").map(|at| at + from) {
        from = at + 3;
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            || tests
                .iter()
                .any(|(start, end)| (*start..*end).contains(&at))
        {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = code[at..].find(['{', ';']).map(|open| open + at) else {
            break;
        };
        if name.is_empty() || bytes[open] == b';' {
            continue; // a declaration with no body
        }
        let end = matching_brace(bytes, open);
        let line = code[..at].matches('\n').count() + 1;
        let lines = code[at..end].matches('\n').count() + 1;
        found.push((name, line, lines));
    }
    found
}

/// Just past the brace that closes the one at `open`.
fn matching_brace(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    for (i, byte) in bytes.iter().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    bytes.len()
}

/// `text` with its comments, strings and character literals turned into spaces (line
/// breaks kept), so that only code is left to read: a brace in a string, or a path in
/// a doc comment, is not code.
fn blank(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank_to = |out: &mut String, chars: &[char], from: usize, to: usize| {
        for &c in &chars[from..to.min(chars.len())] {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let end = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if c == '"' {
            string_end(&chars, i + 1)
        } else if (c == 'r' || (c == 'b' && next == Some('r'))) && !after_ident {
            match raw_string_end(&chars, i) {
                Some(end) => end,
                None => {
                    out.push(c);
                    i += 1;
                    continue;
                }
            }
        } else if c == '\'' && next == Some('\\') {
            chars[i + 2..]
                .iter()
                .position(|&c| c == '\'')
                .map_or(chars.len(), |n| i + 2 + n + 1)
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        blank_to(&mut out, &chars, i, end);
        i = end;
    }
    out
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// Just past the `"` that closes a string whose text starts at `from`.
fn string_end(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Just past a raw string (`r"…"`, `r#"…"#`, `br"…"`) starting at `start`, if one does.
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + if chars[start] == 'b' { 2 } else { 1 };
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    i += hashes;
    if chars.get(i) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (i + 1..chars.len())
        .find(|&at| chars[at..].starts_with(&closing))
        .map(|at| at + closing.len())
        .or(Some(chars.len()))
}

/// The paths in `code` that start with one of `roots` (`crate`, `super`, a child
/// module's name), with `{a, b::c}` groups spread out; the root stays first.
fn paths(code: &str, roots: &[&str]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for root in roots {
        let marker = format!("{root}::");
        let mut rest = code;
        while let Some(at) = rest.find(&marker) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + marker.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::`, or part of a longer name or path
            }
            for tail in spread(rest) {
                let mut path = vec![root.to_string()];
                path.extend(tail);
                found.push(path);
            }
        }
    }
    found
}

/// The paths that `a::b::{c, d::{e}}` (the text after `crate::`) names.
fn spread(text: &str) -> Vec<Vec<String>> {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let after = &text[ident.len()..];
    if ident.is_empty() {
        let Some(group) = text.strip_prefix('{') else {
            return Vec::new();
        };
        let mut depth = 0;
        let mut items = Vec::new();
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&group[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items
            .into_iter()
            .flat_map(|item| spread(item.trim()))
            .collect();
    }
    if ident == "self" {
        return vec![Vec::new()];
    }
    match after.strip_prefix("::") {
        Some(more) => spread(more)
            .into_iter()
            .map(|tail| std::iter::once(ident.clone()).chain(tail).collect())
            .collect(),
        None => vec![vec![ident]],
    }
}

fn add_edge(graph: &mut Graph, from: &str, to: &str) {
    graph.entry(to.to_string()).or_default();
    if from != to {
        graph
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string());
    }
}

/// One cycle in the graph, as the modules along it back to the first, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|seen| seen == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(graph, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}
