//! The official Heroku CLI (npm package `heroku`, 11.x) against the sandbox: `apps`,
//! `apps:create`, `apps:info` and `apps:destroy` work as on Heroku, and a create at the
//! app limit fails with Heroku's message.
//!
//! The CLI is the one `HEROKU_REAPER_HEROKU_CLI` names. The test is ignored in a plain
//! `cargo test`, and says so; `.ci/run` installs the CLI, sets the variable and runs it
//! (`cargo test --locked -p heroku-sandbox --test it -- --ignored heroku_cli`). Run with
//! the variable unset, or set to a CLI that does not run, it fails. Telemetry, analytics
//! and update checks are off, and every URL the CLI knows points at the sandbox on
//! loopback.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use heroku_sandbox::{Options, Role, Sandbox, Seed};

/// The CLI's major version the test is written for.
const MAJOR: &str = "heroku/11.";

fn heroku_cli() -> Option<PathBuf> {
    std::env::var_os("HEROKU_REAPER_HEROKU_CLI").map(PathBuf::from)
}

/// Runs the CLI in a home of its own, with nothing but the sandbox to talk to.
struct Cli {
    path: PathBuf,
    home: tempfile::TempDir,
    url: String,
    token: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        let home = self.home.path();
        let mut command = Command::new(&self.path);
        command
            .args(args)
            // Outside any git repository: `apps:create` and `apps:destroy` edit the
            // `heroku` remote of the one they run in.
            .current_dir(home)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("HEROKU_API_KEY", &self.token)
            .env("HEROKU_HOST", &self.url)
            // `GET /account` also asks Particleboard whether the account is delinquent.
            .env("HEROKU_PARTICLEBOARD_URL", &self.url)
            .env("DISABLE_TELEMETRY", "true")
            .env("HEROKU_SKIP_ANALYTICS", "1")
            .env("HEROKU_SKIP_NEW_VERSION_CHECK", "true")
            .env("HEROKU_DISABLE_AUTOUPDATE", "true")
            .env("HEROKU_UPDATE_INSTRUCTIONS", "updates are off in this test")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        let output = command.output().unwrap_or_else(|error| {
            panic!(
                "HEROKU_REAPER_HEROKU_CLI names {}, which cannot run: {error}",
                self.path.display()
            )
        });
        eprintln!(
            "$ heroku {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
#[ignore = "runs the official Heroku CLI named by HEROKU_REAPER_HEROKU_CLI; `.ci/run` installs it and runs this test"]
fn the_heroku_cli_lists_creates_shows_and_destroys_apps() {
    let path = heroku_cli().expect(
        "HEROKU_REAPER_HEROKU_CLI is not set: set it to a `heroku` executable (11.x), as `.ci/run` does",
    );
    // 3 apps the account owns and a limit of 4: one create fits, the next is refused.
    let sandbox = Sandbox::start(Options {
        seed: Seed {
            stale: 1,
            fresh: 1,
            other: 1,
            team_apps: 1,
            collaborator_apps: 1,
            ..Seed::default()
        },
        server: heroku_sandbox::Server {
            app_limit: 4,
            ..heroku_sandbox::Server::default()
        },
        ..Options::default()
    })
    .expect("the sandbox starts");
    let cli = Cli {
        path,
        home: tempfile::tempdir().expect("a home for the CLI"),
        url: sandbox.url(),
        token: sandbox.token().to_string(),
    };
    let version = cli.run(&["--version"]);
    assert!(stdout(&version).starts_with(MAJOR), "{}", stdout(&version));

    // `heroku apps`: the account's apps and those it shares, not its team's.
    let apps = cli.run(&["apps"]);
    assert!(apps.status.success());
    let listed = stdout(&apps);
    for app in sandbox.apps() {
        assert_eq!(
            listed.contains(&app.name),
            app.role != Role::Team,
            "{} ({:?}) in:\n{listed}",
            app.name,
            app.role
        );
    }

    let create = cli.run(&["apps:create", "my-new-app"]);
    assert!(create.status.success());
    let created = sandbox
        .apps()
        .into_iter()
        .find(|app| app.name == "my-new-app")
        .expect("the app the CLI created");
    assert_eq!(
        (created.role, created.owner_id.as_str()),
        (Role::Created, sandbox.account_id())
    );

    let at_limit = cli.run(&["apps:create"]);
    assert!(!at_limit.status.success());
    let said = String::from_utf8_lossy(&at_limit.stderr).replace(['\n', '›'], " ");
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains(
            "You've reached your app limit of 4 apps. Delete some apps or open a ticket at \
             https://help.heroku.com/new/increase-limits to have this limit increased."
        ),
        "{said}"
    );
    assert!(said.contains("invalid_params"), "{said}");

    let info = cli.run(&["apps:info", "--app", "my-new-app"]);
    assert!(info.status.success());
    let shown = stdout(&info);
    assert!(shown.contains("=== my-new-app"), "{shown}");
    assert!(shown.contains("sandbox@example.com"), "{shown}");
    assert!(shown.contains("heroku-24"), "{shown}");

    let destroy = cli.run(&[
        "apps:destroy",
        "--app",
        "my-new-app",
        "--confirm",
        "my-new-app",
    ]);
    assert!(destroy.status.success());
    let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    assert_eq!(deleted, ["my-new-app"]);

    // What the four commands asked for, and how the sandbox answered.
    let stats = sandbox.stats();
    let answered: BTreeSet<&str> = stats.by_status.keys().map(String::as_str).collect();
    let expected = BTreeSet::from([
        "GET /account 200",
        "GET /users/{user}/apps 200",
        "POST /apps 201",
        "POST /apps 422",
        "GET /apps/{app} 200",
        "GET /apps/{app}/addons 200",
        "GET /apps/{app}/collaborators 200",
        "GET /apps/{app}/dynos 200",
        "GET /apps/{app}/pipeline-couplings 404",
        "DELETE /apps/{app} 200",
    ]);
    assert_eq!(answered, expected);
}
