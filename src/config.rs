//! Validated settings, built from the parsed command line. Bad input is refused here,
//! before any request is sent.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

use crate::cli::ReapArgs;
use crate::duration::{self, DurationError};
use crate::github;
use crate::heroku::{ClientOptions, ids};
use crate::lock::{self, LockMode};
use crate::net;
use crate::reap::plan::{Age, Matcher, OnConflict, Policy, Scope, Shard};
use crate::reap::{AppLimit, Options};
use crate::report::Format;
use crate::report_file::Target;
use crate::room;

pub const DEFAULT_PREFIX: &str = "hatchet-t-";
const DEFAULT_OLDER_THAN: Duration = Duration::from_secs(600);
const DEFAULT_MAX_DELETES: usize = 500;
/// Enough parallel deletes that 100 stale apps go in a few seconds; the throttle slows
/// them as the rate-limit pool empties.
const DEFAULT_CONCURRENCY: usize = 24;
const DEFAULT_RESERVE: u32 = 500;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(600);
/// Under the examples' `timeout-minutes: 20`, so the report is written before the job dies.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(15 * 60);

// The longest each duration may be: far past any use, and short enough that no clock
// arithmetic on it can overflow.
const MAX_OLDER_THAN: Duration = Duration::from_secs(3_650 * 86_400);
const MAX_TIMEOUT: Duration = Duration::from_secs(3_600);
const MAX_GRACE: Duration = Duration::from_secs(3_600);
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60);
const MAX_SKEW: Duration = Duration::from_secs(86_400);
const MAX_DEADLINE: Duration = Duration::from_secs(7 * 86_400);
const MAX_ROOM_POLL: Duration = Duration::from_secs(600);

/// Heroku's app limit for an account, and for a team that is not an enterprise team.
const DEFAULT_ACCOUNT_LIMIT: usize = 100;
/// How long `--reserve-apps` waits for room, cut to `--deadline`.
const DEFAULT_ROOM_WAIT: Duration = Duration::from_secs(600);
/// Often enough to start soon after a run ends; a listing and a few GitHub requests each.
const DEFAULT_ROOM_POLL: Duration = Duration::from_secs(30);
/// The most apps `--reserve-apps`, `--account-limit` and `--github-repo OWNER/NAME:N` take.
const MAX_APPS: usize = 100_000;

/// How long a fixed start or end a `--match` needs, so that it cannot take unrelated apps.
const PINNED_LITERAL: usize = 3;

/// Everything a reap run needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub engine: Options,
    pub client: ClientOptions,
    pub lock: LockMode,
    /// `--lock wait`: how long another reaper may hold the lock before this one gives up.
    pub lock_timeout: Duration,
    pub lock_file: PathBuf,
    pub format: Format,
    pub report: Option<Target>,
    pub verbose: u8,
    /// After SIGINT, SIGTERM, SIGHUP or the deadline: how long the DELETEs in flight may
    /// take to answer.
    pub grace: Duration,
    /// `--deadline`: the whole run's bound, waits included; then it stops as on a signal.
    pub deadline: Duration,
    /// `--github-live-runs`: where to read the live workflow runs.
    pub github: Option<github::Settings>,
    /// `--reserve-apps`: the wait for room for this run, after the reaping.
    pub room: Option<room::Settings>,
}

/// Bad usage: the message names the problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

/// Where `--prefix` came from, which matters when `--match` is also set: the
/// environment's `HATCHET_APP_PREFIX` gives way to `--match`, a typed `--prefix` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixSource {
    CommandLine,
    Environment,
    Default,
}

impl Settings {
    pub fn from_args(
        args: &ReapArgs,
        prefix_source: PrefixSource,
    ) -> Result<Settings, ConfigError> {
        if args.api_key.is_some() {
            return refuse(
                "`--api-key` is not accepted: every user of this machine can read a command line in the process list. Set `HEROKU_API_KEY` (or `heroku login`, which writes `~/.netrc`), and rotate the key you typed",
            );
        }
        let matcher = matcher(args, prefix_source)?;
        let age = age(args)?;
        let keep = args
            .keep
            .iter()
            .filter(|glob| !glob.trim().is_empty())
            .map(|glob| {
                glob::Pattern::new(glob.trim()).map_err(|error| {
                    ConfigError(format!(
                        "`--keep {glob}` is not a glob ({error}); use `*`, `?` and `[a-z]`"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let scope = match args.team.as_deref().map(str::trim) {
            None => Scope::Account,
            Some("") => {
                return refuse(
                    "`--team` is empty; give the team's name, or leave it out to reap the account's own apps",
                );
            }
            Some(team) if !ids::is_team_identity(team) => {
                return refuse(format!(
                    "`--team {team}` is not a team's name or id; give the name as Heroku shows it (letters, digits, `-`, `_` or `.`, starting with a letter or digit)"
                ));
            }
            Some(team) => Scope::Team(team.to_string()),
        };
        let deadline = deadline(args)?;
        let app_limit = app_limit(args, age, deadline)?;
        let on_conflict = args
            .on_conflict
            .map_or(OnConflict::RefreshApiAndContinue, OnConflict::from);
        if on_conflict == OnConflict::StopIfUnderLimit && app_limit.is_none() {
            return refuse(
                "`--on-conflict stop-if-under-limit` needs `--app-limit N` to know what \"under the limit\" is",
            );
        }
        // Its range is the parser's.
        let concurrency = args.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        let max_deletes = match args.max_deletes.unwrap_or(DEFAULT_MAX_DELETES) {
            0 => None,
            cap => Some(cap),
        };
        let client = client_options(args)?;
        let env = |name: &str| std::env::var(name).ok();
        let github = github_settings(args, &client, &env)?;
        let skew = github
            .as_ref()
            .map_or(github::DEFAULT_SKEW, |github| github.skew);
        let room = room_settings(args, &client, &env, deadline, skew)?;
        Ok(Settings {
            engine: Options {
                policy: Policy {
                    matcher,
                    keep,
                    age,
                    scope,
                    shard: shard(args)?,
                    cutoff: None,
                },
                app_limit,
                on_conflict,
                dry_run: args.dry_run,
                max_deletes,
                concurrency,
                pipelines: args.pipelines,
            },
            client,
            lock: args.lock.into(),
            lock_timeout: lock_timeout(args, deadline)?,
            lock_file: args.lock_file.clone().unwrap_or_else(lock::default_path),
            format: args.format.into(),
            report: report(args)?,
            verbose: args.verbose,
            grace: match &args.grace {
                None => DEFAULT_GRACE,
                Some(text) => time("--grace", text, MAX_GRACE)?,
            },
            deadline,
            github,
            room,
        })
    }
}

fn matcher(args: &ReapArgs, prefix_source: PrefixSource) -> Result<Matcher, ConfigError> {
    if let Some(pattern) = &args.match_regex {
        if prefix_source == PrefixSource::CommandLine {
            return refuse("`--prefix` and `--match` are both given; use one of them");
        }
        // Checked on its own first, so that a pattern such as `a)|(.*` cannot break out of
        // the anchors it is wrapped in below.
        let hir = regex_syntax::parse(pattern).map_err(|error| {
            ConfigError(format!(
                "`--match {pattern}` is not a regular expression: {}; fix it (it matches whole names, as in `ci-[0-9]+-review`)",
                error
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim_start_matches("error: ")
            ))
        })?;
        if !args.all_apps && !pins_the_name(&hir) {
            return refuse(format!(
                "`--match {pattern}` does not pin the name: it needs a fixed start or end of at least {PINNED_LITERAL} characters (as in `ci-[0-9]+` or `.*-review`), or could take any app; narrow it, or pass `--all-apps` if you mean it"
            ));
        }
        let regex = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|error| ConfigError(format!("`--match {pattern}`: {error}")))?;
        return Ok(Matcher::Regex(regex));
    }
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
    if prefix.is_empty() && !args.all_apps {
        let from = if prefix_source == PrefixSource::Environment {
            "`HATCHET_APP_PREFIX` is set but empty"
        } else {
            "`--prefix` is empty"
        };
        return refuse(format!(
            "{from}; refusing to match every app whose name starts with a hex digit (pass `--all-apps` if you mean it)"
        ));
    }
    if let Some(bad) = prefix
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return refuse(format!(
            "`--prefix {prefix}` holds `{bad}`, which Heroku app names never have (lowercase letters, digits and `-` only)"
        ));
    }
    Ok(Matcher::Prefix(prefix))
}

/// Whether every name a `--match` takes (whole names: it is anchored at both ends) starts
/// or ends with one of a few literals of `PINNED_LITERAL` bytes or more. Worked out from
/// the parsed pattern rather than by trying names, so it holds for every name. Each branch
/// of an alternation may be pinned at its own end.
fn pins_the_name(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Capture(capture) => return pins_the_name(&capture.sub),
        HirKind::Alternation(branches) if branches.iter().all(pins_the_name) => return true,
        _ => {}
    }
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .any(|kind| {
            // A finite set whose shortest member is long enough; an infinite one (`.`, a big
            // class) pins nothing. Heroku names are ASCII, so bytes are characters.
            Extractor::new()
                .kind(kind)
                .extract(hir)
                .min_literal_len()
                .is_some_and(|len| len >= PINNED_LITERAL)
        })
}

/// A wait for the lock within the deadline: one given longer is refused, the default is
/// cut to fit.
fn lock_timeout(args: &ReapArgs, deadline: Duration) -> Result<Duration, ConfigError> {
    let Some(text) = &args.lock_timeout else {
        return Ok(DEFAULT_LOCK_TIMEOUT.min(deadline));
    };
    match time("--lock-timeout", text, MAX_DEADLINE)? {
        Duration::ZERO => refuse(
            "`--lock-timeout 0` would never wait; to give way at once to another reaper, use `--lock skip`",
        ),
        timeout => within_deadline("--lock-timeout", text, timeout, args, deadline),
    }
}

/// `--deadline`: more than nothing, and at most `MAX_DEADLINE`.
fn deadline(args: &ReapArgs) -> Result<Duration, ConfigError> {
    let Some(text) = &args.deadline else {
        return Ok(DEFAULT_DEADLINE);
    };
    match time("--deadline", text, MAX_DEADLINE)? {
        Duration::ZERO => refuse(format!(
            "`--deadline 0` would stop the run before it starts; give the longest the whole run may take, such as `{}`",
            duration::format_exact(DEFAULT_DEADLINE)
        )),
        deadline => Ok(deadline),
    }
}

/// A wait that `--deadline` bounds is refused when it is longer: it could never be waited out.
fn within_deadline(
    flag: &str,
    text: &str,
    wait: Duration,
    args: &ReapArgs,
    deadline: Duration,
) -> Result<Duration, ConfigError> {
    if wait <= deadline {
        return Ok(wait);
    }
    let given = match &args.deadline {
        Some(text) => format!("`--deadline {}`", text.trim()),
        None => format!(
            "the default `--deadline {}`",
            duration::format_exact(DEFAULT_DEADLINE)
        ),
    };
    refuse(format!(
        "`{flag} {}` is longer than {given}, which bounds the whole run, waits included; shorten `{flag}` or lengthen `--deadline`",
        text.trim()
    ))
}

/// A duration option, at most `max`: the message names the flag and the bound.
fn time(flag: &str, text: &str, max: Duration) -> Result<Duration, ConfigError> {
    match duration::parse(text) {
        Ok(value) if value <= max => Ok(value),
        Ok(_) | Err(DurationError::TooLong(_)) => refuse(format!(
            "`{flag} {}` is too long; use at most {}",
            text.trim(),
            duration::format_exact(max)
        )),
        Err(error) => refuse(format!("`{flag}`: {error}")),
    }
}

/// `--report`: `-` is stdout, which `--format json` already fills.
fn report(args: &ReapArgs) -> Result<Option<Target>, ConfigError> {
    let target = args.report.clone().map(Target::parse);
    if target == Some(Target::Stdout) && Format::from(args.format) == Format::Json {
        return refuse(
            "`--report -` and `--format json` would both print the JSON report on stdout; drop one (`--format json` alone prints it)",
        );
    }
    Ok(target)
}

/// `I/N`: share I (from 0) of N.
fn shard(args: &ReapArgs) -> Result<Option<Shard>, ConfigError> {
    let Some(text) = args
        .shard
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let usage = "write it as I/N with I from 0 to N-1, as `${{ strategy.job-index }}/${{ strategy.job-total }}`";
    let parsed = text.split_once('/').and_then(|(index, count)| {
        Some((
            index.trim().parse::<u32>().ok()?,
            count.trim().parse::<u32>().ok()?,
        ))
    });
    match parsed {
        None => refuse(format!("`--shard {text}` is not a shard; {usage}")),
        Some((_, 0)) => refuse(format!("`--shard {text}` has no shards; {usage}")),
        Some((index, count)) if index >= count => refuse(format!(
            "`--shard {text}`: shard {index} does not exist among {count}, which are numbered 0 to {}; {usage}",
            count - 1
        )),
        Some((index, count)) => Ok(Some(Shard { index, count })),
    }
}

fn age(args: &ReapArgs) -> Result<Age, ConfigError> {
    if args.all {
        return Ok(Age::Any);
    }
    let Some(text) = &args.older_than else {
        return Ok(Age::OlderThan(DEFAULT_OLDER_THAN));
    };
    match time("--older-than", text, MAX_OLDER_THAN)? {
        Duration::ZERO => refuse(
            "`--older-than 0` would take apps a test is still creating; to reap every matching app whatever its age, pass `--all`",
        ),
        ttl => Ok(Age::OlderThan(ttl)),
    }
}

/// `--app-limit` and how long to wait for room under it: within the deadline, the
/// default (the TTL) cut to fit.
fn app_limit(
    args: &ReapArgs,
    age: Age,
    deadline: Duration,
) -> Result<Option<AppLimit>, ConfigError> {
    let Some(limit) = args.app_limit else {
        if args.wait_for_room.is_some() && args.reserve_apps.is_none() {
            return refuse(
                "`--wait-for-room` needs `--app-limit N` or `--reserve-apps N`: it is how long to wait for room under them",
            );
        }
        return Ok(None);
    };
    let default = match age {
        Age::OlderThan(ttl) => ttl,
        Age::Any => Duration::ZERO,
    };
    Ok(Some(AppLimit {
        limit,
        wait_for_room: wait_for_room(args, default, deadline)?,
    }))
}

/// `--wait-for-room`: refused when longer than the deadline; `default` is cut to it.
fn wait_for_room(
    args: &ReapArgs,
    default: Duration,
    deadline: Duration,
) -> Result<Duration, ConfigError> {
    match &args.wait_for_room {
        Some(text) => {
            let wait = time("--wait-for-room", text, MAX_DEADLINE)?;
            within_deadline("--wait-for-room", text, wait, args, deadline)
        }
        None => Ok(default.min(deadline)),
    }
}

fn client_options(args: &ReapArgs) -> Result<ClientOptions, ConfigError> {
    let base_url = api_url(&args.api_url)?;
    let timeout = match &args.timeout {
        None => DEFAULT_TIMEOUT,
        Some(text) => match time("--timeout", text, MAX_TIMEOUT)? {
            Duration::ZERO => {
                return refuse("`--timeout 0` would fail every request; give a time such as `30s`");
            }
            timeout => timeout,
        },
    };
    // The ranges of these are their parsers'.
    let retries = args.retries.unwrap_or(3);
    let reserve = args.reserve_rate_limit.unwrap_or(DEFAULT_RESERVE);
    let refill = args
        .rate_limit_refill
        .unwrap_or(crate::heroku::throttle::HEROKU_REFILL_PER_MINUTE);
    let retry_backoff = match &args.retry_backoff {
        None => ClientOptions::default().retry_backoff,
        Some(text) => time("--retry-backoff", text, MAX_RETRY_BACKOFF)?,
    };
    Ok(ClientOptions {
        base_url,
        timeout,
        retries,
        refill_per_minute: refill,
        reserve,
        retry_backoff,
    })
}

/// The API's base URL: https anywhere, plain http only to this machine, because the key
/// travels in every request.
fn api_url(text: &str) -> Result<String, ConfigError> {
    base_url(
        "--api-url",
        text,
        "https://api.heroku.com",
        "`HEROKU_API_KEY` or `~/.netrc`",
    )
}

/// A base URL that a secret is sent to. `name` (a flag or a variable) and `secret_from`
/// (where the secret does come from) are for messages.
fn base_url(
    name: &str,
    text: &str,
    example: &str,
    secret_from: &str,
) -> Result<String, ConfigError> {
    let shown = match name.starts_with("--") {
        true => format!("{name} {text}"),
        false => format!("{name}={text}"),
    };
    let url = reqwest::Url::parse(text.trim()).map_err(|error| {
        ConfigError(format!("`{shown}` is not a URL ({error}); use `{example}`"))
    })?;
    // Checked first, and the URL not shown: it holds a password.
    if !url.username().is_empty() || url.password().is_some() {
        return refuse(format!(
            "`{name}` holds a user name or password (`…@` before the host); drop it: the secret comes from {secret_from}, never from the URL"
        ));
    }
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => {}
        "http" if net::is_loopback(&url) => {}
        "http" => {
            return refuse(format!(
                "`{shown}` is plain http to another machine; the key would travel unencrypted. Use https (plain http is allowed only to 127.0.0.1, ::1 or localhost)"
            ));
        }
        scheme => {
            return refuse(format!(
                "`{shown}` uses `{scheme}`; use an http(s) URL such as `{example}`"
            ));
        }
    }
    if host.is_empty() {
        return refuse(format!("`{shown}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return refuse(format!(
            "`{shown}` has a query or fragment; give the API's base URL only"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `--github-live-runs` and what goes with it. `env` reads GitHub Actions' variables
/// (`GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, `GITHUB_API_URL`), so that tests can give their own.
fn github_settings(
    args: &ReapArgs,
    client: &ClientOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<github::Settings>, ConfigError> {
    let skew = args.skew.as_deref().filter(|text| !text.trim().is_empty());
    if !args.github_live_runs {
        if let Some(repo) = args
            .github_repos
            .iter()
            .find(|repo| !repo.trim().is_empty())
            && args.reserve_apps.is_none()
        {
            return refuse(format!(
                "`--github-repo {repo}` has no effect without `--github-live-runs` or `--reserve-apps`; add one (Action input `github-live-runs: true`), or drop `--github-repo`"
            ));
        }
        if let Some(skew) = skew {
            return refuse(format!(
                "`--skew {skew}` has no effect without `--github-live-runs`; add it, or drop `--skew`"
            ));
        }
        return Ok(None);
    }
    let named = named_repos(args)?;
    if let (Some((repo, Some(_))), None) = (named.first(), args.reserve_apps) {
        return refuse(format!(
            "`--github-repo {repo}:N`: a reservation of apps is for `--reserve-apps`; give `OWNER/NAME` alone, or add `--reserve-apps`"
        ));
    }
    let skew = match skew {
        None => github::DEFAULT_SKEW,
        Some(text) => time("--skew", text, MAX_SKEW)?,
    };
    match github_scope(&named, client, env, skew)? {
        Some(settings) => Ok(Some(settings)),
        None => refuse(
            "`--github-live-runs` needs the repositories whose runs may own apps: run it in GitHub Actions (which sets `GITHUB_REPOSITORY`), or pass `--github-repo OWNER/NAME`",
        ),
    }
}

/// `--github-repo` as given: `OWNER/NAME`, or `OWNER/NAME:N` (what each of its runs
/// reserves), the blank ones left out.
fn named_repos(args: &ReapArgs) -> Result<Vec<(String, Option<usize>)>, ConfigError> {
    let named = args
        .github_repos
        .iter()
        .filter(|repo| !repo.trim().is_empty());
    named
        .map(|text| {
            let (repo, apps) = match text.trim().rsplit_once(':') {
                Some((repo, apps)) => (repo, Some(apps)),
                None => (text.trim(), None),
            };
            let repo = github::parse_repo(repo)
                .map_err(|why| ConfigError(format!("`--github-repo`: {why}")))?;
            let apps = apps
                .map(|apps| match apps.trim().parse::<usize>() {
                    Ok(n) if (1..=MAX_APPS).contains(&n) => Ok(n),
                    _ => refuse(format!(
                        "`--github-repo {}`: `{apps}` is not a number of apps; use 1 to {MAX_APPS}, as in `{repo}:40`",
                        text.trim()
                    )),
                })
                .transpose()?;
            Ok((repo, apps))
        })
        .collect()
}

/// The repositories (this one, from `GITHUB_REPOSITORY`, then `named`), this run, and
/// the API's URL: what GitHub is asked about. `None` with no repository at all.
fn github_scope(
    named: &[(String, Option<usize>)],
    client: &ClientOptions,
    env: &dyn Fn(&str) -> Option<String>,
    skew: Duration,
) -> Result<Option<github::Settings>, ConfigError> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let own = env("GITHUB_REPOSITORY")
        .map(|text| {
            github::parse_repo(&text).map_err(|why| {
                ConfigError(format!(
                    "`GITHUB_REPOSITORY`: {why}; GitHub Actions sets it, so unset it outside Actions"
                ))
            })
        })
        .transpose()?;
    let mut repos: Vec<String> = Vec::new();
    for repo in own.iter().chain(named.iter().map(|(repo, _)| repo)) {
        if !repos.iter().any(|seen| seen.eq_ignore_ascii_case(repo)) {
            repos.push(repo.clone());
        }
    }
    if repos.is_empty() {
        return Ok(None);
    }
    let current_run = match (env("GITHUB_RUN_ID"), &own) {
        (None, _) => None,
        (Some(id), Some(repo)) => match id.trim().parse::<u64>() {
            Ok(id) => Some((repo.clone(), id)),
            Err(_) => {
                return refuse(format!(
                    "`GITHUB_RUN_ID` is `{id}`, not a run id; GitHub Actions sets it, so unset it outside Actions"
                ));
            }
        },
        (Some(_), None) => {
            return refuse(
                "`GITHUB_RUN_ID` is set but `GITHUB_REPOSITORY` is not; set both (as GitHub Actions does) or neither",
            );
        }
    };
    let api_url = env("GITHUB_API_URL").unwrap_or_else(|| github::DEFAULT_API_URL.to_string());
    let api_url = base_url(
        "GITHUB_API_URL",
        &api_url,
        github::DEFAULT_API_URL,
        "`GITHUB_TOKEN`",
    )?;
    Ok(Some(github::Settings {
        api_url,
        repos,
        current_run,
        skew,
        timeout: client.timeout,
        retries: client.retries,
    }))
}

/// What `--reserve-apps` cannot go with.
fn alongside_reserve(args: &ReapArgs) -> Result<(), ConfigError> {
    if args.lock == crate::cli::LockMode::Skip {
        return refuse(
            "`--reserve-apps` with `--lock skip` would admit a run that skipped the count of the room; use `--lock wait` (the default)",
        );
    }
    if args.all {
        return refuse(
            "`--reserve-apps` with `--all` would delete, at each look while it waits, the apps of the runs it admitted meanwhile; give an age (`--older-than`) instead",
        );
    }
    Ok(())
}

/// Every reservation, this run's and other repositories' (`OWNER/NAME:N`), within the
/// account's limit: a larger one could never be admitted.
fn fits(
    reserve: usize,
    named: &[(String, Option<usize>)],
    account_limit: usize,
) -> Result<(), ConfigError> {
    let others = named.iter().filter_map(|(repo, apps)| {
        apps.map(|apps| (format!("`--github-repo {repo}:{apps}`"), apps))
    });
    for (given, apps) in
        std::iter::once((format!("`--reserve-apps {reserve}`"), reserve)).chain(others)
    {
        if apps > account_limit {
            return refuse(format!(
                "{given} is more apps than `--account-limit {account_limit}` holds, so that run could never be admitted; lower it, or give the account's real limit with `--account-limit` (Heroku's: 100, 200 for an enterprise team)"
            ));
        }
    }
    Ok(())
}

/// `--reserve-apps` and what goes with it; the options that only make sense with it are
/// refused without it.
fn room_settings(
    args: &ReapArgs,
    client: &ClientOptions,
    env: &dyn Fn(&str) -> Option<String>,
    deadline: Duration,
    skew: Duration,
) -> Result<Option<room::Settings>, ConfigError> {
    let Some(reserve) = args.reserve_apps else {
        let given = [
            ("--account-limit", args.account_limit.is_some()),
            ("--if-no-room", args.if_no_room.is_some()),
            ("--admission-job", args.admission_job.is_some()),
            ("--room-poll", args.room_poll.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
            return refuse(format!(
                "`{flag}` has no effect without `--reserve-apps N`; add it (the apps this run holds at once), or drop `{flag}`"
            ));
        }
        return Ok(None);
    };
    alongside_reserve(args)?;
    let account_limit = args.account_limit.unwrap_or(DEFAULT_ACCOUNT_LIMIT);
    let named = named_repos(args)?;
    fits(reserve, &named, account_limit)?;
    let poll = match args.room_poll.as_deref() {
        None => DEFAULT_ROOM_POLL,
        Some(text) => match time("--room-poll", text, MAX_ROOM_POLL)? {
            Duration::ZERO => {
                return refuse(
                    "`--room-poll 0` would ask without a pause; give a time such as `30s`",
                );
            }
            poll => poll,
        },
    };
    let env_set = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    Ok(Some(room::Settings {
        reserve,
        account_limit,
        wait: wait_for_room(args, DEFAULT_ROOM_WAIT, deadline)?,
        poll,
        if_no_room: args
            .if_no_room
            .map_or(room::IfNoRoom::Fail, room::IfNoRoom::from),
        admission_job: args
            .admission_job
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string),
        runner_name: env_set("RUNNER_NAME"),
        github: github_scope(&named, client, env, skew)?,
        reservations: named
            .into_iter()
            .filter_map(|(repo, apps)| Some((repo, apps?)))
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    /// The settings of `args`; what clap refuses comes back as its message.
    fn settings(args: &[&str]) -> Result<Settings, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("heroku-reaper").chain(args.iter().copied()))
            .map_err(|error| ConfigError(error.to_string()))?;
        let source = if cli.reap.prefix.is_some() {
            PrefixSource::CommandLine
        } else {
            PrefixSource::Default
        };
        Settings::from_args(&cli.reap, source)
    }

    fn refused(args: &[&str]) -> String {
        settings(args).unwrap_err().0
    }

    #[test]
    fn defaults_are_hatchets() {
        let settings = settings(&[]).unwrap();
        let engine = &settings.engine;
        assert!(matches!(&engine.policy.matcher, Matcher::Prefix(p) if p == "hatchet-t-"));
        assert_eq!(engine.policy.age, Age::OlderThan(Duration::from_secs(600)));
        assert_eq!(engine.max_deletes, Some(500));
        assert_eq!(engine.concurrency, 24);
        assert_eq!(engine.policy.shard, None);
        assert_eq!(settings.client.reserve, 500);
        assert_eq!(settings.client.base_url, "https://api.heroku.com");
    }

    #[test]
    fn match_all_rules_are_refused_without_all_apps() {
        assert!(refused(&["--prefix", ""]).contains("--all-apps"));
        assert!(refused(&["--match", ".*"]).contains("does not pin the name"));
        assert!(refused(&["--match", ".{3,}"]).contains("--all-apps"));
        assert!(settings(&["--match", ".*", "--all-apps"]).is_ok());
        assert!(settings(&["--match", ".{3,}", "--all-apps"]).is_ok());
        assert!(settings(&["--prefix", "", "--all-apps"]).is_ok());
        assert!(settings(&["--match", "ci-[0-9]+"]).is_ok());
    }

    fn pinned(pattern: &str) -> bool {
        pins_the_name(&regex_syntax::parse(pattern).unwrap())
    }

    #[test]
    fn a_match_must_pin_a_start_or_an_end_of_three_characters() {
        let loose = [
            "",
            ".*",
            ".+",
            ".{2,}",
            ".{3,}",
            "[a-z0-9-]+",
            "[a-z][a-z0-9-]{2,}",
            "[^a].*",
            "\\w+",
            "a.*",
            "ab.*",
            ".*ab",
            "abc?.*",
            "(?:abc)?.*",
            "ci-.*|.*",
            "ci-.*|x.*",
            "(ci-.*|[a-z]+)",
            "[a-z]{3}.*",
            "(?i)[a-z]{3}",
            "^.*$",
            "\\b.*",
            "a*b*c*",
        ];
        for pattern in loose {
            assert!(!pinned(pattern), "`{pattern}` was taken as pinned");
        }
        let pinned_ones = [
            "abc",
            "hatchet-t-[a-f0-9]+",
            "ci-[0-9]+",
            "ci-[0-9]+-review",
            ".*-review",
            "[a-z]+-review-app",
            "(?i)hatchet-t-.*",
            "(?i)ci-[0-9]+",
            "(?:ci|qa)-.*",
            "(ci|qa)-[0-9]+",
            "ci-.*|.*-review",
            "(ci-.*|pr-[0-9]+)",
            "^ci-.*$",
            "x{3}.*",
            "[ab]{3}.*",
            "\\bpr-[0-9]+",
        ];
        for pattern in pinned_ones {
            assert!(pinned(pattern), "`{pattern}` was refused");
        }
    }

    #[test]
    fn a_match_cannot_break_out_of_its_anchors() {
        assert!(refused(&["--match", "abc)|(?:.{3,}"]).contains("not a regular expression"));
        let Matcher::Regex(regex) = settings(&["--match", "ci-|qa-"])
            .unwrap()
            .engine
            .policy
            .matcher
        else {
            panic!("a regex");
        };
        assert!(regex.is_match("qa-"));
        assert!(!regex.is_match("ci-x") && !regex.is_match("xqa-"));
    }

    #[test]
    fn bad_values_name_the_flag_and_the_fix() {
        assert!(refused(&["--match", "("]).contains("not a regular expression"));
        assert!(refused(&["--older-than", "ten"]).contains("`--older-than`"));
        assert!(refused(&["--older-than", "0"]).contains("--all"));
        assert!(refused(&["--prefix", "Hatchet-"]).contains("lowercase"));
        assert!(refused(&["--prefix", "a", "--match", "b"]).contains("use one"));
        assert!(refused(&["--concurrency", "0"]).contains("1 to 64"));
        assert!(refused(&["--app-limit", "0"]).contains("use 1 to 100000"));
        assert!(refused(&["--on-conflict", "stop-if-under-limit"]).contains("--app-limit"));
        assert!(refused(&["--wait-for-room", "5m"]).contains("--app-limit"));
        assert!(refused(&["--team", " "]).contains("empty"));
        assert!(refused(&["--keep", "[a-"]).contains("not a glob"));
        assert!(refused(&["--timeout", "0"]).contains("`--timeout 0`"));
        assert!(refused(&["--shard", "3/2"]).contains("numbered 0 to 1"));
        assert!(refused(&["--shard", "1/0"]).contains("no shards"));
        assert!(refused(&["--shard", "a/b"]).contains("not a shard"));
        assert!(refused(&["--shard=-1/2"]).contains("not a shard"));
        assert!(refused(&["--reserve-rate-limit", "4500"]).contains("use 0 to 4499"));
        assert!(refused(&["--report", "-", "--format", "json"]).contains("drop one"));
    }

    #[test]
    fn every_number_and_duration_has_a_bound_it_names() {
        for (args, says) in [
            (
                &["--concurrency", "65"][..],
                "`65` is out of range; use 1 to 64",
            ),
            (
                &["--retries", "18446744073709551616"],
                "out of range; use 0 to 10",
            ),
            (
                &["--max-deletes", "1e308"],
                "`1e308` is not a whole number; use 0 to 100000",
            ),
            (
                &["--rate-limit-refill", "1e-17"],
                "use 1 to 100000 requests a minute",
            ),
            (&["--rate-limit-refill", "NaN"], "use 1 to 100000"),
            (&["--rate-limit-refill", "inf"], "use 1 to 100000"),
            (
                &["--timeout", "2h"],
                "`--timeout 2h` is too long; use at most 1h",
            ),
            (&["--grace", "1d"], "use at most 1h"),
            (&["--retry-backoff", "2m"], "use at most 1m"),
            (&["--older-than", "3651d"], "use at most 3650d"),
            (&["--deadline", "8d"], "use at most 7d"),
            (&["--deadline", "0"], "would stop the run before it starts"),
            (&["--lock-timeout", "8d"], "use at most 7d"),
        ] {
            let message = refused(args);
            assert!(message.contains(says), "{args:?}: {message}");
        }
        assert!(settings(&["--timeout", "1h", "--grace", "1h", "--deadline", "7d"]).is_ok());
    }

    #[test]
    fn the_waits_fit_in_the_deadline() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.deadline, Duration::from_secs(900));
        assert_eq!(defaults.lock_timeout, Duration::from_secs(600));
        let message = refused(&["--lock-timeout", "20m", "--deadline", "10m"]);
        assert!(
            message.contains("`--lock-timeout 20m` is longer than `--deadline 10m`"),
            "{message}"
        );
        let message = refused(&["--app-limit", "5", "--wait-for-room", "20m"]);
        assert!(
            message.contains("longer than the default `--deadline 15m`"),
            "{message}"
        );
        // Defaults longer than the deadline are cut to it.
        let short = settings(&["--deadline", "2m", "--app-limit", "5"]).unwrap();
        assert_eq!(short.lock_timeout, Duration::from_secs(120));
        assert_eq!(
            short.engine.app_limit.unwrap().wait_for_room,
            Duration::from_secs(120)
        );
    }

    #[test]
    fn shards_count_from_zero_like_matrix_jobs() {
        let sharded = settings(&["--shard", "7/8"]).unwrap();
        assert_eq!(
            sharded.engine.policy.shard,
            Some(Shard { index: 7, count: 8 })
        );
        assert!(
            settings(&["--shard", ""])
                .unwrap()
                .engine
                .policy
                .shard
                .is_none()
        );
    }

    #[test]
    fn the_key_only_travels_over_https_or_loopback() {
        assert!(refused(&["--api-url", "http://api.example.com"]).contains("unencrypted"));
        assert!(refused(&["--api-url", "ftp://127.0.0.1"]).contains("`ftp`"));
        assert!(refused(&["--api-url", "not a url"]).contains("not a URL"));
        for with_user in [
            "http://user:hunter2@127.0.0.1:5000",
            "https://user@api.heroku.com",
            "https://:hunter2@api.heroku.com",
            "http://user:hunter2@api.example.com",
        ] {
            let message = refused(&["--api-url", with_user]);
            assert!(message.contains("user name or password"), "{message}");
            assert!(message.contains("`HEROKU_API_KEY`"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        for ok in [
            "http://127.0.0.1:5000",
            "http://localhost:1/",
            "http://[::1]:80",
            "https://api.example.com/",
        ] {
            assert!(settings(&["--api-url", ok]).is_ok(), "{ok}");
        }
        assert_eq!(
            settings(&["--api-url", "http://127.0.0.1:5000/"])
                .unwrap()
                .client
                .base_url,
            "http://127.0.0.1:5000"
        );
    }

    /// `--github-live-runs` settings with this environment instead of the process's.
    fn github(args: &[&str], env: &[(&str, &str)]) -> Result<Option<github::Settings>, String> {
        let cli = Cli::try_parse_from(std::iter::once("heroku-reaper").chain(args.iter().copied()))
            .unwrap();
        let client = client_options(&cli.reap).unwrap();
        let lookup = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        github_settings(&cli.reap, &client, &lookup).map_err(|error| error.0)
    }

    #[test]
    fn github_settings_come_from_actions_variables_and_flags() {
        let actions = [
            ("GITHUB_REPOSITORY", "heroku/ruby"),
            ("GITHUB_RUN_ID", "42"),
        ];
        let settings = github(
            &[
                "--github-live-runs",
                "--github-repo",
                "heroku/python,Heroku/Ruby",
                "--github-repo",
                "heroku/go",
            ],
            &actions,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            settings.repos,
            ["heroku/ruby", "heroku/python", "heroku/go"]
        );
        assert_eq!(settings.current_run, Some(("heroku/ruby".into(), 42)));
        assert_eq!(settings.api_url, "https://api.github.com");
        assert_eq!(settings.skew, Duration::from_secs(120));
        assert_eq!((settings.timeout, settings.retries), (DEFAULT_TIMEOUT, 3));

        let enterprise = github(
            &["--github-live-runs", "--skew", "30s"],
            &[
                ("GITHUB_REPOSITORY", "acme/app"),
                ("GITHUB_API_URL", "https://github.acme.com/api/v3/"),
                ("GITHUB_RUN_ID", ""),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(enterprise.api_url, "https://github.acme.com/api/v3");
        assert_eq!(enterprise.current_run, None);
        assert_eq!(enterprise.skew, Duration::from_secs(30));

        // Off unless asked; Actions' variables alone change nothing.
        assert_eq!(github(&[], &actions), Ok(None));
    }

    #[test]
    fn bad_github_settings_name_the_flag_or_variable() {
        let refused = |args: &[&str], env: &[(&str, &str)]| github(args, env).unwrap_err();
        assert!(refused(&["--github-live-runs"], &[]).contains("`GITHUB_REPOSITORY`"));
        assert!(
            refused(&["--github-live-runs", "--github-repo", "ruby"], &[])
                .contains("`--github-repo`: `ruby` is not `OWNER/NAME`")
        );
        assert!(
            refused(&["--github-live-runs"], &[("GITHUB_REPOSITORY", "a/b/c")])
                .starts_with("`GITHUB_REPOSITORY`:")
        );
        assert!(
            refused(
                &["--github-live-runs"],
                &[("GITHUB_REPOSITORY", "a/b"), ("GITHUB_RUN_ID", "x")]
            )
            .contains("not a run id")
        );
        assert!(
            refused(
                &["--github-live-runs", "--github-repo", "a/b"],
                &[("GITHUB_RUN_ID", "7")]
            )
            .contains("`GITHUB_REPOSITORY` is not")
        );
        assert!(
            refused(
                &["--github-live-runs", "--github-repo", "a/b"],
                &[("GITHUB_API_URL", "http://ghe.example.com")]
            )
            .contains("unencrypted")
        );
        let message = refused(
            &["--github-live-runs", "--github-repo", "a/b"],
            &[(
                "GITHUB_API_URL",
                "https://x-access-token:ghs_1@api.github.com",
            )],
        );
        assert!(message.starts_with("`GITHUB_API_URL` holds a user name or password"));
        assert!(message.contains("`GITHUB_TOKEN`") && !message.contains("ghs_1"));
        assert!(
            refused(
                &["--github-live-runs", "--github-repo", "a/b", "--skew", "x"],
                &[]
            )
            .starts_with("`--skew`:")
        );
        assert!(refused(&["--github-repo", "a/b"], &[]).contains("without `--github-live-runs`"));
        assert!(refused(&["--skew", "1m"], &[]).contains("without `--github-live-runs`"));
    }

    /// `--reserve-apps` settings with this environment instead of the process's.
    fn room(args: &[&str], env: &[(&str, &str)]) -> Result<Option<room::Settings>, String> {
        let cli = Cli::try_parse_from(std::iter::once("heroku-reaper").chain(args.iter().copied()))
            .map_err(|error| error.to_string())?;
        let client = client_options(&cli.reap).unwrap();
        let lookup = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        let deadline = deadline(&cli.reap).unwrap();
        room_settings(&cli.reap, &client, &lookup, deadline, github::DEFAULT_SKEW)
            .map_err(|error| error.0)
    }

    #[test]
    fn room_settings_come_from_the_flags_and_the_runner() {
        let actions = [
            ("GITHUB_REPOSITORY", "heroku/ruby"),
            ("GITHUB_RUN_ID", "42"),
            ("RUNNER_NAME", "GitHub Actions 3"),
        ];
        let settings = room(
            &[
                "--reserve-apps",
                "40",
                "--github-repo",
                "heroku/python:30,heroku/go",
            ],
            &actions,
        )
        .unwrap()
        .unwrap();
        assert_eq!((settings.reserve, settings.account_limit), (40, 100));
        assert_eq!(settings.wait, Duration::from_secs(600));
        assert_eq!(settings.poll, Duration::from_secs(30));
        assert_eq!(settings.if_no_room, room::IfNoRoom::Fail);
        assert_eq!(settings.runner_name.as_deref(), Some("GitHub Actions 3"));
        let github = settings.github.as_ref().unwrap();
        assert_eq!(github.repos, ["heroku/ruby", "heroku/python", "heroku/go"]);
        assert_eq!(github.current_run, Some(("heroku/ruby".into(), 42)));
        assert_eq!(settings.reservation("Heroku/Python"), 30);
        assert_eq!(settings.reservation("heroku/go"), 40);
        // The wait is cut to the deadline by default, and refused past it when given.
        let short = room(&["--reserve-apps", "5", "--deadline", "2m"], &[])
            .unwrap()
            .unwrap();
        assert_eq!(short.wait, Duration::from_secs(120));
        assert!(short.github.is_none(), "outside Actions, no runs to read");
        let message = room(&["--reserve-apps", "5", "--wait-for-room", "20m"], &[]).unwrap_err();
        assert!(
            message.contains("longer than the default `--deadline 15m`"),
            "{message}"
        );
        // Off unless asked.
        assert_eq!(room(&[], &actions), Ok(None));
    }

    #[test]
    fn bad_room_settings_name_the_flag_and_the_fix() {
        let refused = |args: &[&str]| room(args, &[]).unwrap_err();
        assert!(
            refused(&["--reserve-apps", "120"])
                .contains("`--reserve-apps 120` is more apps than `--account-limit 100` holds")
        );
        assert!(
            refused(&["--reserve-apps", "20", "--github-repo", "a/b:150"])
                .contains("`--github-repo a/b:150` is more apps than `--account-limit 100`")
        );
        assert!(
            refused(&["--reserve-apps", "20", "--github-repo", "a/b:x"])
                .contains("`x` is not a number of apps; use 1 to 100000")
        );
        assert!(refused(&["--reserve-apps", "0"]).contains("use 1 to 100000"));
        for flag in [
            &["--account-limit", "200"][..],
            &["--if-no-room", "proceed"],
            &["--admission-job", "cleanup"],
            &["--room-poll", "1s"],
        ] {
            assert!(
                refused(flag).contains("has no effect without `--reserve-apps N`"),
                "{flag:?}"
            );
        }
        assert!(refused(&["--reserve-apps", "5", "--room-poll", "0"]).contains("without a pause"));
        assert!(refused(&["--reserve-apps", "5", "--room-poll", "11m"]).contains("at most 10m"));
        assert!(refused(&["--reserve-apps", "5", "--lock", "skip"]).contains("`--lock skip`"));
        assert!(
            refused(&["--reserve-apps", "5", "--all"]).contains("give an age (`--older-than`)")
        );
        assert!(
            github(&["--github-live-runs", "--github-repo", "a/b:5"], &[])
                .unwrap_err()
                .contains("a reservation of apps is for `--reserve-apps`")
        );
    }

    #[test]
    fn zero_max_deletes_means_no_cap_and_wait_for_room_defaults_to_the_ttl() {
        let settings = settings(&[
            "--max-deletes",
            "0",
            "--app-limit",
            "20",
            "--older-than",
            "7",
        ])
        .unwrap();
        assert_eq!(settings.engine.max_deletes, None);
        let limit = settings.engine.app_limit.unwrap();
        assert_eq!(
            (limit.limit, limit.wait_for_room),
            (20, Duration::from_secs(420))
        );
    }
}
