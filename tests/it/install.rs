//! `dist/install.sh` under a simulated runner, against a loopback server that serves
//! release archives made by `dist/package.sh` from the binary under test: the right
//! asset per OS and CPU, verified; a tampered archive refused with nothing installed;
//! the tool cache reused; retries; and the build-from-source fallback.

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
}

#[derive(Clone)]
struct Served {
    files: Arc<HashMap<String, Vec<u8>>>,
    log: Arc<Mutex<Vec<String>>>,
    failures: Arc<AtomicUsize>,
}

impl Releases {
    /// Serves every archive, with `tamper` applied to the bytes of each.
    fn start(tamper: impl Fn(&str, &mut Vec<u8>)) -> Releases {
        let mut files = HashMap::new();
        for (_, _, target) in PLATFORMS {
            let name = asset(target);
            let mut bytes = std::fs::read(archives().join(&name)).expect("an archive");
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
        Releases { shared, server }
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
            &runner::manifest(VERSION, &self.base_url(), archives()),
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
    let releases = Releases::start(tamper);
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

#[test]
fn without_a_prebuilt_binary_it_builds_from_source_and_says_why() {
    let Some((releases, checkout)) = serve(|_, _| {}) else {
        return;
    };
    let released = runner::manifest(VERSION, &releases.base_url(), archives());
    let committed = std::fs::read_to_string(runner::repo().join("dist/manifest.json")).unwrap();
    let not_a_release = "this action ref is not a release";
    let linux = Runner::new;
    builds_from_source(
        not_a_release,
        &Checkout::new(&committed, VERSION),
        linux(),
        &[],
    );
    builds_from_source(
        not_a_release,
        &Checkout::new(&released, "99.0.0"),
        linux(),
        &[],
    );
    let windows_arm = Runner::on("Windows", "ARM64");
    builds_from_source(
        "has no prebuilt binary for Windows ARM64",
        &checkout,
        windows_arm,
        &[],
    );
    let asked = [("INPUT_BUILD_FROM_SOURCE", "true")];
    builds_from_source("`build-from-source` is true", &checkout, linux(), &asked);
    assert!(releases.log().is_empty(), "nothing was downloaded");
}

/// Checks that `install.sh` asked the stand-in `cargo` for a source build, saying `why`.
fn builds_from_source(why: &str, checkout: &Checkout, runner: Runner, inputs: &[(&str, &str)]) {
    let (run, cargo) = install(checkout, &runner, inputs);
    run.code(0)
        .stdout_has("building from source: ")
        .stdout_has(why);
    let root = runner.temp().join("heroku-reaper-source");
    let expected = format!(
        "install --locked --path {} --root {}",
        checkout.path().display(),
        root.display()
    );
    assert_eq!(cargo.map(|args| args.join(" ")), Some(expected), "{why}");
    assert_eq!(runner.path_entries(), [root.join("bin")], "{why}");
}

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
