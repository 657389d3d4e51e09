//! The module graph has no cycle: between the top-level modules of `src/`, and between
//! the submodules of `reap/`. Read from the source's `crate::` and `super::` paths, so a
//! new import that closes a loop fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn top_level_modules_form_no_cycle() {
    let mut graph = Graph::new();
    for (module, text) in sources() {
        let Some(from) = module.first() else {
            continue; // lib.rs, the root, may name every module
        };
        for path in paths(&text) {
            // `super::` never leaves a top-level module (from its files, it is the module).
            if let ["crate", to, ..] = path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                add_edge(&mut graph, from, to);
            }
        }
    }
    assert_eq!(cycle(&graph), None, "top-level modules import each other");
}

#[test]
fn reap_submodules_form_no_cycle() {
    let mut graph = Graph::new();
    let mut files = 0;
    for (module, text) in sources() {
        // mod.rs is the engine that uses its parts; the parts must not loop among themselves.
        let [top, from] = module.as_slice() else {
            continue;
        };
        if top != "reap" {
            continue;
        }
        files += 1;
        graph.entry(from.clone()).or_default();
        for path in paths(&text) {
            let to = match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["crate", "reap", to, ..] | ["super", to, ..] => to.to_string(),
                _ => continue,
            };
            let is_submodule = sources_dir().join("reap").join(format!("{to}.rs")).exists();
            if is_submodule {
                add_edge(&mut graph, from, &to);
            }
        }
    }
    assert!(files >= 3, "too few reap/ files seen: {graph:?}");
    assert_eq!(cycle(&graph), None, "reap/ submodules import each other");
}

#[test]
fn the_checker_sees_grouped_imports_and_finds_a_cycle() {
    let text =
        "use crate::{lock, report::{self, human}};\n// crate::not_this\nlet x = super::plan::Age;";
    let found: Vec<String> = paths(text).iter().map(|path| path.join("::")).collect();
    assert_eq!(
        found,
        [
            "crate::lock",
            "crate::report",
            "crate::report::human",
            "super::plan::Age"
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

fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/` as (module path, text): `reap/mod.rs` is `["reap"]`.
fn sources() -> Vec<(Vec<String>, String)> {
    let root = sources_dir();
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("read a source folder entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                files.push((module_of(path.strip_prefix(&root).unwrap()), text));
            }
        }
    }
    files
}

fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The `crate::…` and `super::…` paths in Rust source, with `{a, b::c}` groups spread out.
/// Comments are skipped: a doc link is not an import.
fn paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    for root in ["crate", "super"] {
        let marker = format!("{root}::");
        let mut rest = code.as_str();
        while let Some(at) = rest.find(&marker) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + marker.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::`, or part of a longer name
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
