//! Where to look on GitHub, and how patiently: checked by `config`, read by the client.

use std::time::Duration;

/// Where to look, checked by `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `GITHUB_API_URL`, without a trailing slash.
    pub api_url: String,
    /// `owner/name`: `GITHUB_REPOSITORY` first, then each `--github-repo`.
    pub repos: Vec<String>,
    /// `GITHUB_REPOSITORY` and `GITHUB_RUN_ID`: the run this reaper is part of.
    pub current_run: Option<(String, u64)>,
    pub skew: Duration,
    pub timeout: Duration,
    pub retries: u32,
}
