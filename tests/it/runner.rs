//! A simulated GitHub Actions runner: the directories, files and variables a runner
//! gives a step (`RUNNER_TEMP`, `RUNNER_TOOL_CACHE`, `GITHUB_PATH`, `GITHUB_OUTPUT`,
//! `GITHUB_STEP_SUMMARY`, ...), and readers for what a step wrote into them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `RUNNER_OS`/`RUNNER_ARCH` pairs of GitHub's hosted runners and the release
/// target each maps to.
pub const PLATFORMS: [(&str, &str, &str); 5] = [
    ("Linux", "X64", "x86_64-unknown-linux-musl"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
    ("macOS", "X64", "x86_64-apple-darwin"),
    ("macOS", "ARM64", "aarch64-apple-darwin"),
    ("Windows", "X64", "x86_64-pc-windows-msvc"),
];

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

    /// The `GITHUB_OUTPUT` file of the current step.
    pub fn outputs_file(&self) -> PathBuf {
        self.file("output")
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

    /// The directories steps added to `GITHUB_PATH`, in order.
    pub fn path_entries(&self) -> Vec<PathBuf> {
        read(&self.file("path"))
            .lines()
            .filter(|line| !line.is_empty())
            .map(PathBuf::from)
            .collect()
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

/// Whether the tools a runner's bash steps use are on PATH; says which are missing
/// when some are, so a skipped test shows in the output rather than passing silently.
/// (On Windows the tests that call it are ignored: Git Bash would run the scripts, but
/// with Windows paths this harness does not model; ci.yml's self-test runs the action on
/// a real Windows runner instead.)
pub fn has_tools(tools: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            !std::env::split_paths(&path)
                .any(|dir| dir.join(tool).is_file() || dir.join(format!("{tool}.exe")).is_file())
        })
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "skipped: this test runs the action's bash scripts and needs {} on PATH",
            missing.join(", ")
        );
    }
    missing.is_empty()
}

/// The repository's root: where `action.yml`, `dist/` and `Cargo.toml` are.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the action as the runner checks it out (`GITHUB_ACTION_PATH`), with the
/// given `dist/manifest.json` and `Cargo.toml` version, and the sources a build would
/// be made from (`Cargo.lock`, `src/`, `crates/`), which key the cache of that build.
pub struct Checkout {
    dir: tempfile::TempDir,
}

impl Checkout {
    pub fn new(manifest: &str, version: &str) -> Checkout {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir(dir.path().join("dist")).expect("dist/");
        for file in [
            "action.yml",
            "dist/install.sh",
            "dist/build.sh",
            "dist/run.sh",
            "Cargo.lock",
        ] {
            std::fs::copy(repo().join(file), dir.path().join(file)).expect("copy the action");
        }
        for sources in ["src", "crates"] {
            copy_dir(&repo().join(sources), &dir.path().join(sources));
        }
        std::fs::write(dir.path().join("dist/manifest.json"), manifest).expect("the manifest");
        let cargo_toml = std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml");
        let ours = format!("version = \"{}\"", env!("CARGO_PKG_VERSION"));
        assert!(cargo_toml.contains(&ours));
        let cargo_toml = cargo_toml.replacen(&ours, &format!("version = \"{version}\""), 1);
        std::fs::write(dir.path().join("Cargo.toml"), cargo_toml).expect("Cargo.toml");
        Checkout { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for entry in std::fs::read_dir(from)
        .expect("a source directory")
        .flatten()
    {
        let (path, target) = (entry.path(), to.join(entry.file_name()));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy a source file");
        }
    }
}

/// Runs `dist/<script>` with bash and gives its stdout, failing the test if it fails.
pub fn dist(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new("bash")
        .arg(repo().join("dist").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("bash runs dist/{script}: {error}"));
    assert!(
        output.status.success(),
        "dist/{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("text on stdout")
}

/// What `dist/manifest.sh` makes of the `.sha256` files in `dir`.
pub fn manifest(version: &str, base_url: &str, dir: &Path) -> String {
    dist(
        "manifest.sh",
        &[version.as_ref(), base_url.as_ref(), dir.as_os_str()],
    )
}

/// A stand-in for a program, first on PATH: it records its arguments, one a line, to
/// `<name>.args` beside it and exits with `code`.
pub fn stand_in(dir: &Path, name: &str, code: i32) -> PathBuf {
    let script = dir.join(name);
    let args = dir.join(format!("{name}.args"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {code}\n",
            args.display()
        ),
    )
    .expect("write a stand-in");
    make_executable(&script);
    args
}

pub fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod +x");
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The arguments a stand-in was called with, if it was.
pub fn recorded(args: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(args).ok()?;
    Some(text.lines().map(str::to_string).collect())
}
