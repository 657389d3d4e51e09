//! `dist/install.sh` under a simulated runner, against a loopback server that serves
//! release archives made by `dist/package.sh` from the binary under test: the right
//! asset per OS and CPU, verified; a tampered or broken archive refused with nothing
//! installed or marked complete; the tool cache reused; retries; and the hand-over to a
//! source build, with the key that caches it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::reaper::{BIN, Run};
use crate::runner::{self, Checkout, PLATFORMS, Runner};
use crate::support::Fixture;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The tools `dist/install.sh` and `dist/package.sh` use.
const TOOLS: [&str; 6] = ["bash", "tar", "curl", "gzip", "zip", "unzip"];

/// The archives of every target, made once per test run from the binary under test.
fn archives() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under the target directory, not /tmp: a static is never dropped to clean up.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-archives");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the archive directory");
        // Releases are stripped (Cargo.toml's release profile); so is this copy, which
        // also makes packing it quick.
        let binary = dir.join("heroku-reaper-under-test");
        std::fs::copy(BIN, &binary).expect("copy the binary");
        let _ = Command::new("strip").arg(&binary).status();
        // `dist/package.sh` packs a tar.gz and a zip; the other targets' archives are
        // copies of the tar.gz under their own names, which is all the install tests
        // tell apart, and keeps the suite fast.
        let (tar_target, zip_target) = ("x86_64-unknown-linux-musl", "x86_64-pc-windows-msvc");
        std::thread::scope(|scope| {
            for target in [tar_target, zip_target] {
                let (binary, dir) = (&binary, &dir);
                scope.spawn(move || {
                    let args = [VERSION.as_ref(), target.as_ref(), binary.as_os_str()];
                    runner::dist("package.sh", &[&args[..], &[dir.as_os_str()]].concat());
                });
            }
        });
        let (tar, checksum) = (asset(tar_target), format!("{}.sha256", asset(tar_target)));
        let line = std::fs::read_to_string(dir.join(&checksum)).expect("a .sha256 file");
        for (_, _, target) in PLATFORMS {
            let name = asset(target);
            if !dir.join(&name).exists() {
                std::fs::copy(dir.join(&tar), dir.join(&name)).expect("copy an archive");
                std::fs::write(
                    dir.join(format!("{name}.sha256")),
                    line.replace(&tar, &name),
                )
                .expect("write a .sha256 file");
            }
        }
        std::fs::remove_file(&binary).expect("remove the copy");
        dir
    })
}

fn asset(target: &str) -> String {
    let extension = if target.contains("-windows-") {
        "zip"
    } else {
        "tar.gz"
    };
    format!("heroku-reaper-{VERSION}-{target}.{extension}")
}

/// A loopback server of release archives: logs each path asked for, and can answer
/// 503 to the first few requests.
struct Releases {
    shared: Served,
    server: Fixture,
    /// Where the archives and their `.sha256` files are.
    dir: PathBuf,
}

#[derive(Clone)]
struct Served {
    files: Arc<HashMap<String, Vec<u8>>>,
    log: Arc<Mutex<Vec<String>>>,
    failures: Arc<AtomicUsize>,
}

impl Releases {
    /// Serves every archive in `dir`, with `tamper` applied to the bytes of each.
    fn start(dir: &Path, tamper: impl Fn(&str, &mut Vec<u8>)) -> Releases {
        let mut files = HashMap::new();
        for (_, _, target) in PLATFORMS {
            let name = asset(target);
            let Ok(mut bytes) = std::fs::read(dir.join(&name)) else {
                continue;
            };
            tamper(&name, &mut bytes);
            files.insert(format!("/download/{name}"), bytes);
        }
        let shared = Served {
            files: Arc::new(files),
            log: Arc::default(),
            failures: Arc::default(),
        };
        let server = Fixture::serve(|_| {
            axum::Router::new()
                .fallback(serve_file)
                .with_state(shared.clone())
        });
        Releases {
            shared,
            server,
            dir: dir.to_path_buf(),
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/download", self.server.addr)
    }

    /// The paths asked for so far.
    fn log(&self) -> Vec<String> {
        self.shared.log.lock().expect("not poisoned").clone()
    }

    fn fail_next(&self, times: usize) {
        self.shared.failures.store(times, Ordering::SeqCst);
    }

    /// A checkout whose manifest points at this server.
    fn checkout(&self) -> Checkout {
        Checkout::new(
            &runner::manifest(VERSION, &self.base_url(), &self.dir),
            VERSION,
        )
    }
}

async fn serve_file(State(served): State<Served>, uri: Uri) -> Response {
    served
        .log
        .lock()
        .expect("not poisoned")
        .push(uri.path().to_string());
    let failing = served
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if failing.is_ok() {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    match served.files.get(uri.path()) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The release server (each archive passed through `tamper`) and a checkout whose
/// manifest points at it; `None`, saying why, when the tools are missing.
fn serve(tamper: impl Fn(&str, &mut Vec<u8>)) -> Option<(Releases, Checkout)> {
    if !runner::has_tools(&TOOLS) {
        return None;
    }
    let releases = Releases::start(archives(), tamper);
    let checkout = releases.checkout();
    Some((releases, checkout))
}

/// Runs `dist/install.sh` of `checkout` as the runner's step would, with a stand-in
/// `cargo` first on PATH; gives what it printed and the arguments `cargo` got, if any.
fn install(
    checkout: &Checkout,
    runner: &Runner,
    inputs: &[(&str, &str)],
) -> (Run, Option<Vec<String>>) {
    let bin = runner.root().join("stand-ins");
    std::fs::create_dir_all(&bin).expect("a stand-in directory");
    let cargo_args = runner::stand_in(&bin, "cargo", 0);
    let _ = std::fs::remove_file(&cargo_args);
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(checkout.path().join("dist/install.sh"))
        .env("GITHUB_ACTION_PATH", checkout.path())
        .env("HEROKU_REAPER_INSTALL_BACKOFF", "0")
        .env("PATH", path_with(&bin));
    runner.apply(&mut command);
    for (name, value) in inputs {
        command.env(name, value);
    }
    let run = Run::from(command.output().expect("bash runs"));
    (run, runner::recorded(&cargo_args))
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)))
        .expect("a PATH")
}

/// Every file under `dir`, for checking that nothing was installed.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn each_runner_gets_the_verified_binary_of_its_os_and_cpu() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    for (os, arch, target) in PLATFORMS {
        let runner = Runner::on(os, arch);
        let before = releases.log().len();
        let (run, cargo) = install(&checkout, &runner, &[]);
        run.code(0)
            .stdout_has(&format!("installed the prebuilt {target} binary"))
            .stdout_has("matches dist/manifest.json");
        assert_eq!(
            releases.log()[before..],
            [format!("/download/{}", asset(target))]
        );
        assert_eq!(cargo, None, "no source build");
        let dir = runner
            .tool_cache()
            .join("heroku-reaper")
            .join(VERSION)
            .join(arch.to_lowercase());
        assert_eq!(runner.path_entries(), std::slice::from_ref(&dir));
        let exe = if os == "Windows" {
            "heroku-reaper.exe"
        } else {
            "heroku-reaper"
        };
        let version = Command::new(dir.join(exe))
            .arg("--version")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("heroku-reaper {VERSION}")
        );
    }
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_tampered_archive_is_refused_and_nothing_is_installed() {
    let tamper = |_: &str, bytes: &mut Vec<u8>| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
    };
    let Some((releases, checkout)) = serve(tamper) else {
        return;
    };
    let runner = Runner::new();
    let (run, cargo) = install(&checkout, &runner, &[]);
    run.code(1).stdout_has(&format!(
        "::error title=heroku-reaper install::checksum mismatch for {}",
        asset("x86_64-unknown-linux-musl")
    ));
    assert_eq!(releases.log().len(), 1, "a mismatch is not retried");
    assert_eq!(cargo, None, "a mismatch does not fall back to building");
    assert!(runner.path_entries().is_empty());
    assert_eq!(files_under(&runner.tool_cache()), Vec::<PathBuf>::new());
    assert_eq!(
        files_under(&runner.temp()),
        Vec::<PathBuf>::new(),
        "the download is removed"
    );
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_cache_hit_downloads_nothing() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    let runner = Runner::new();
    install(&checkout, &runner, &[]).0.code(0);
    assert_eq!(releases.log().len(), 1);
    let (run, _) = install(&checkout, &runner, &[]);
    run.code(0).stdout_has("found in the tool cache");
    assert_eq!(releases.log().len(), 1, "nothing more was downloaded");
    let entries = runner.path_entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0], entries[1]);
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_failing_download_is_retried() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    releases.fail_next(2);
    let runner = Runner::new();
    let (run, _) = install(&checkout, &runner, &[]);
    run.code(0)
        .stdout_has("download failed (attempt 1 of 5)")
        .stdout_has("download failed (attempt 2 of 5)")
        .stdout_has("installed the prebuilt");
    assert_eq!(releases.log().len(), 3);
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn without_a_prebuilt_binary_it_leaves_a_source_build_to_the_next_steps_and_says_why() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    let released = runner::manifest(VERSION, &releases.base_url(), archives());
    let committed = std::fs::read_to_string(runner::repo().join("dist/manifest.json")).unwrap();
    let not_a_release = "this action ref is not a release";
    let linux = Runner::new;
    hands_over_to_a_source_build(
        not_a_release,
        &Checkout::new(&committed, VERSION),
        linux(),
        &[],
    );
    hands_over_to_a_source_build(
        not_a_release,
        &Checkout::new(&released, "99.0.0"),
        linux(),
        &[],
    );
    hands_over_to_a_source_build(
        "has no prebuilt binary for Linux ARM",
        &checkout,
        Runner::on("Linux", "ARM"),
        &[],
    );
    let asked = [("INPUT_BUILD_FROM_SOURCE", "true")];
    hands_over_to_a_source_build("`build-from-source` is true", &checkout, linux(), &asked);
    assert!(releases.log().is_empty(), "nothing was downloaded");
}

/// A release asset that the manifest lists but GitHub does not serve (404: the release is
/// not published yet, or was deleted) is not retried: the step hands over to a source
/// build, with a warning that says why and what to do.
#[test]
fn an_asset_that_is_not_published_hands_over_to_a_source_build_with_a_warning() {
    let Some((releases, _)) = serve(|_, _| {}) else {
        return;
    };
    let unpublished = format!("{}/v-unpublished", releases.base_url());
    let checkout = Checkout::new(
        &runner::manifest(VERSION, &unpublished, archives()),
        VERSION,
    );
    let asset = asset("x86_64-unknown-linux-musl");
    let key = hands_over_to_a_source_build(
        &format!("is not published ({asset}: 404)"),
        &checkout,
        Runner::new(),
        &[],
    );
    assert!(key.starts_with(&format!("heroku-reaper-source-{VERSION}-Linux-X64-")));
    assert_eq!(
        releases.log(),
        ["/download/v-unpublished/".to_string() + &asset]
    );
    let (run, _) = install(&checkout, &Runner::new(), &[]);
    run.stdout_has(&format!(
        "::warning title=heroku-reaper install::release {VERSION}'s {asset} is not on GitHub \
         (404), though dist/manifest.json of this action ref lists it: building heroku-reaper \
         from this ref's source instead"
    ))
    .stdout_has("pin the action at another release");
    assert!(
        !run.stdout.contains("attempt"),
        "not retried:\n{}",
        run.stdout
    );
}

/// Checks that `install.sh` installed nothing, built nothing, and set the outputs that
/// run the action's cache and build steps, saying `why`; gives the cache key.
fn hands_over_to_a_source_build(
    why: &str,
    checkout: &Checkout,
    runner: Runner,
    inputs: &[(&str, &str)],
) -> String {
    let (run, cargo) = install(checkout, &runner, inputs);
    run.code(0)
        .stdout_has("no prebuilt binary: ")
        .stdout_has(why);
    assert_eq!(cargo, None, "the build is the next step's: {why}");
    assert!(runner.path_entries().is_empty(), "{why}");
    let outputs = runner.outputs();
    assert_eq!(outputs["source"], "true", "{why}");
    assert!(outputs["source-why"].contains(why), "{outputs:?}");
    let root = runner.temp().join("heroku-reaper-source");
    assert_eq!(outputs["source-root"], root.display().to_string());
    outputs["source-key"].clone()
}

/// The source build's cache key names the version, OS and CPU, and a hash of what the
/// build is made of: the same wherever the action is checked out, different when a
/// source file or the runner differs.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn the_source_build_is_keyed_by_the_actions_source_the_os_and_the_cpu() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let committed = std::fs::read_to_string(runner::repo().join("dist/manifest.json")).unwrap();
    let key = |checkout: &Checkout, os, arch| {
        hands_over_to_a_source_build("not a release", checkout, Runner::on(os, arch), &[])
    };
    let (one, other) = (
        Checkout::new(&committed, VERSION),
        Checkout::new(&committed, VERSION),
    );
    let linux = key(&one, "Linux", "X64");
    let (prefix, hash) = linux.rsplit_once('-').unwrap();
    assert_eq!(prefix, format!("heroku-reaper-source-{VERSION}-Linux-X64"));
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{linux}"
    );
    assert_eq!(
        key(&other, "Linux", "X64"),
        linux,
        "where it is checked out"
    );
    let arm = key(&one, "Linux", "ARM64");
    assert_eq!(
        arm,
        format!("heroku-reaper-source-{VERSION}-Linux-ARM64-{hash}")
    );
    assert_eq!(
        key(&one, "macOS", "ARM64"),
        format!("heroku-reaper-source-{VERSION}-macOS-ARM64-{hash}")
    );
    // A changed file changes the key, wherever it is compiled from: the binary's own
    // source, or a crate it depends on by path (the sandbox, in the default features).
    let mut keys = vec![linux.clone()];
    for file in ["src/main.rs", "crates/heroku-sandbox/src/lib.rs"] {
        let path = other.path().join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("// changed\n");
        std::fs::write(&path, text).unwrap();
        let changed = key(&other, "Linux", "X64");
        assert!(changed.starts_with(prefix), "{changed}");
        assert!(!keys.contains(&changed), "changing {file} changes the key");
        keys.push(changed);
    }
}

/// Every crate the binary depends on by path lies under `crates/`, which the source
/// build's key hashes (with `src/`, `Cargo.toml` and `Cargo.lock`).
#[test]
fn every_path_dependency_is_under_crates() {
    let manifest = std::fs::read_to_string(runner::repo().join("Cargo.toml")).unwrap();
    let paths: Vec<&str> = manifest
        .lines()
        .filter(|line| !line.starts_with("path = ")) // a bench's or the lib's own file
        .filter_map(|line| line.split_once("path = \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path))
        .collect();
    assert!(!paths.is_empty());
    for path in paths {
        assert!(path.starts_with("crates/"), "{path} is not under crates/");
    }
}

/// An archive whose checksum matches but whose binary does not run (here, bytes that
/// are no program): the step fails with an error that says what to do, nothing stays in
/// the tool cache, and the next job does not take a broken copy from it.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_binary_that_does_not_run_is_removed_and_never_marked_complete() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("not-a-program");
    std::fs::write(&broken, b"\x7fELF\0\0\0 not a program\0").unwrap();
    let target = "x86_64-unknown-linux-musl";
    let args = [VERSION.as_ref(), target.as_ref(), broken.as_os_str()];
    runner::dist(
        "package.sh",
        &[&args[..], &[dir.path().as_os_str()]].concat(),
    );
    let releases = Releases::start(dir.path(), |_, _| {});
    let checkout = releases.checkout();
    let runner = Runner::new();
    for attempt in ["first", "second"] {
        let (run, cargo) = install(&checkout, &runner, &[]);
        run.code(1)
            .stdout_has("matches dist/manifest.json")
            .stdout_has(&format!(
                "::error title=heroku-reaper install::the {target} binary of {} does not run on this runner",
                asset(target)
            ))
            .stdout_has("Set `build-from-source: true`");
        assert!(
            !run.stdout.contains("found in the tool cache"),
            "{attempt} run:\n{}",
            run.stdout
        );
        assert_eq!(cargo, None);
        assert!(runner.path_entries().is_empty(), "{attempt} run");
        assert_eq!(
            files_under(&runner.tool_cache()),
            Vec::<PathBuf>::new(),
            "{attempt} run: nothing unpacked is left, nothing is marked complete"
        );
    }
    assert_eq!(releases.log().len(), 2, "each run downloads it again");
}

/// A tool cache that an older `install.sh` marked complete over a broken binary is not
/// trusted: the binary is installed again.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn a_tool_cache_copy_that_does_not_run_is_replaced() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    let runner = Runner::new();
    let cached = runner.tool_cache().join("heroku-reaper").join(VERSION);
    std::fs::create_dir_all(cached.join("x64")).unwrap();
    std::fs::write(cached.join("x64/heroku-reaper"), b"\0broken").unwrap();
    runner::make_executable(&cached.join("x64/heroku-reaper"));
    std::fs::write(cached.join("x64.complete"), "").unwrap();
    let (run, _) = install(&checkout, &runner, &[]);
    run.code(0)
        .stdout_has("the tool cache's copy does not run; installing it again")
        .stdout_has("installed the prebuilt");
    assert_eq!(releases.log().len(), 1);
    let version = Command::new(cached.join("x64/heroku-reaper"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
}

/// Windows on ARM64 has no binary of its own: it gets the x64 one, which Windows runs
/// under emulation, rather than a source build.
#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn windows_on_arm64_gets_the_x64_binary() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    let runner = Runner::on("Windows", "ARM64");
    let (run, cargo) = install(&checkout, &runner, &[]);
    run.code(0)
        .stdout_has("Windows on ARM64 runs the x64 binary under emulation")
        .stdout_has("installed the prebuilt x86_64-pc-windows-msvc binary");
    assert_eq!(
        releases.log(),
        [format!("/download/{}", asset("x86_64-pc-windows-msvc"))]
    );
    assert_eq!(cargo, None, "no source build");
    let dir = runner
        .tool_cache()
        .join("heroku-reaper")
        .join(VERSION)
        .join("arm64");
    assert_eq!(runner.path_entries(), std::slice::from_ref(&dir));
    assert!(dir.join("heroku-reaper.exe").is_file());
    assert_eq!(runner.outputs().get("source"), None);
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn bad_inputs_are_refused_before_anything_is_fetched() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    for (input, value, says) in [
        (
            "INPUT_VERSION",
            "9.9.9",
            "`version: 9.9.9` is not the version this action ref installs",
        ),
        (
            "INPUT_BUILD_FROM_SOURCE",
            "yes",
            "`build-from-source: yes` is not a boolean",
        ),
    ] {
        let runner = Runner::new();
        let (run, cargo) = install(&checkout, &runner, &[(input, value)]);
        run.code(1).stdout_has(says);
        assert_eq!(cargo, None);
        assert!(runner.path_entries().is_empty());
    }
    assert!(releases.log().is_empty());
    // The release's own version, with or without a `v`, is accepted.
    let runner = Runner::new();
    install(
        &checkout,
        &runner,
        &[("INPUT_VERSION", &format!("v{VERSION}"))],
    )
    .0
    .code(0);
}

#[cfg_attr(
    windows,
    ignore = "the simulated runner is Unix only; ci.yml runs the action on Windows"
)]
#[test]
fn manifests_are_json_with_a_url_and_sha256_per_asset() {
    if !runner::has_tools(&TOOLS) {
        return;
    }
    let committed = std::fs::read_to_string(runner::repo().join("dist/manifest.json")).unwrap();
    let released = runner::manifest(VERSION, "https://example.com/download/v1", archives());
    for (which, text, assets) in [
        ("committed", committed, None),
        ("released", released, Some(5)),
    ] {
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("the {which} manifest is not JSON ({error}):\n{text}"));
        assert_eq!(manifest["version"], VERSION, "{which}");
        let entries = manifest["assets"].as_object().expect("assets");
        if let Some(count) = assets {
            assert_eq!(entries.len(), count, "{which}");
        }
        for (target, entry) in entries {
            let url = entry["url"].as_str().unwrap();
            assert!(url.ends_with(&asset(target)), "{url}");
            let sha256 = entry["sha256"].as_str().unwrap();
            assert!(
                sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()),
                "{sha256}"
            );
        }
    }
}
