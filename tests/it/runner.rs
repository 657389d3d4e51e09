//! A simulated GitHub Actions runner: the directories, files and variables a runner
//! gives a step (`RUNNER_TEMP`, `RUNNER_TOOL_CACHE`, `GITHUB_PATH`, `GITHUB_OUTPUT`,
//! `GITHUB_STEP_SUMMARY`, ...), and readers for what a step wrote into them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Runner {
    root: tempfile::TempDir,
    pub os: &'static str,
    pub arch: &'static str,
}

impl Runner {
    /// A Linux X64 runner with empty files and directories.
    pub fn new() -> Runner {
        Runner::on("Linux", "X64")
    }

    pub fn on(os: &'static str, arch: &'static str) -> Runner {
        let root = tempfile::tempdir().expect("a temp dir");
        for dir in ["temp", "tool-cache", "files"] {
            std::fs::create_dir(root.path().join(dir)).expect("a runner directory");
        }
        let runner = Runner { root, os, arch };
        runner.new_step();
        std::fs::write(runner.file("path"), "").expect("the GITHUB_PATH file");
        runner
    }

    /// Fresh `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files, as the runner gives each step.
    pub fn new_step(&self) {
        for name in ["output", "summary"] {
            std::fs::write(self.file(name), "").expect("a runner file");
        }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn temp(&self) -> PathBuf {
        self.root.path().join("temp")
    }

    pub fn tool_cache(&self) -> PathBuf {
        self.root.path().join("tool-cache")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.root.path().join("files").join(name)
    }

    /// The variables the runner sets for every step.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("GITHUB_ACTIONS", "true".into()),
            ("CI", "true".into()),
            ("RUNNER_OS", self.os.into()),
            ("RUNNER_ARCH", self.arch.into()),
            ("RUNNER_TEMP", self.temp().into()),
            ("RUNNER_TOOL_CACHE", self.tool_cache().into()),
            ("GITHUB_PATH", self.file("path").into()),
            ("GITHUB_OUTPUT", self.file("output").into()),
            ("GITHUB_STEP_SUMMARY", self.file("summary").into()),
        ]
    }

    /// Applies `env()` to a command.
    pub fn apply(&self, command: &mut Command) {
        for (name, value) in self.env() {
            command.env(name, value);
        }
    }

    /// The outputs this step wrote, `name=value` and `name<<DELIMITER` forms alike.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        parse_outputs(&read(&self.file("output")))
    }

    /// The job summary this step wrote.
    pub fn summary(&self) -> String {
        read(&self.file("summary"))
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Parses a `GITHUB_OUTPUT` file as the runner does.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_string(), value.join("\n"));
        } else {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not an output line: {line:?}"));
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}
