//! Where the API key comes from, as the Heroku CLI looks it up: `HEROKU_API_KEY`,
//! then the `machine api.heroku.com` entry of `~/.netrc` (`_netrc` on Windows).
//! Never from the command line, where the process list would show it.

use std::fmt;
use std::path::{Path, PathBuf};

pub const NETRC_MACHINE: &str = "api.heroku.com";

/// The key. It has no `Display`, and `Debug` hides it, so no format string can leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// For the `Authorization` header and the runner's `::add-mask::`, and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key was found, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Environment,
    Netrc(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Environment => f.write_str("`HEROKU_API_KEY`"),
            Source::Netrc(path) => write!(f, "the `{NETRC_MACHINE}` entry of `{}`", path.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub key: ApiKey,
    pub source: Source,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error(
        "no Heroku API key: set `HEROKU_API_KEY`, or add `machine {NETRC_MACHINE} login EMAIL password KEY` to `{}` (the Heroku CLI's `heroku login` writes it)",
        .netrc.display()
    )]
    Missing { netrc: PathBuf },
    #[error(
        "`HEROKU_API_KEY` is set but empty; give it the key (in GitHub Actions, check that the secret exists in this repository)"
    )]
    EmptyEnvironment,
    #[error(
        "`{variable}` is set but is not UTF-8 text, so it cannot be the secret it should hold; set it again from the secret as it is"
    )]
    NotText { variable: &'static str },
    #[error(
        "the `machine {NETRC_MACHINE}` entry of `{}` has no `password`; add `password KEY` to it (`heroku login` writes it), or set `HEROKU_API_KEY`",
        .netrc.display()
    )]
    NoPassword { netrc: PathBuf },
    #[error("`{}` could not be read ({reason}); fix its permissions or set `HEROKU_API_KEY`", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("`{}` is malformed: {reason}; fix that line or set `HEROKU_API_KEY`", .path.display())]
    Malformed { path: PathBuf, reason: String },
}

/// A secret from the environment: `None` when unset, an error when it is set but not
/// text, rather than the fallback an unset one gets. The bytes are never shown.
pub fn environment(variable: &'static str) -> Result<Option<String>, CredentialsError> {
    match std::env::var(variable) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CredentialsError::NotText { variable }),
    }
}

/// A warning when the netrc file that gave the key can be read by other users of this
/// machine. Not an error: the Heroku CLI writes it 0600, and a CI runner has one user.
#[cfg(unix)]
pub fn exposure_warning(netrc: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(netrc).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: `{path}` holds the Heroku API key and other users of this machine can read it (mode {mode:04o}); `chmod 600 {path}`",
            path = netrc.display()
        )
    })
}

#[cfg(not(unix))]
pub fn exposure_warning(_netrc: &Path) -> Option<String> {
    None
}

/// Looks the key up: the environment's value first, then the netrc file.
pub fn resolve(
    environment_key: Option<String>,
    netrc: &Path,
) -> Result<Credentials, CredentialsError> {
    if let Some(key) = environment_key {
        if key.trim().is_empty() {
            return Err(CredentialsError::EmptyEnvironment);
        }
        return Ok(Credentials {
            key: ApiKey::new(key.trim()),
            source: Source::Environment,
        });
    }
    let missing = || CredentialsError::Missing {
        netrc: netrc.to_path_buf(),
    };
    let text = match std::fs::read_to_string(netrc) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(error) => {
            return Err(CredentialsError::Unreadable {
                path: netrc.to_path_buf(),
                reason: error.kind().to_string(),
            });
        }
    };
    let entries = parse_netrc(&text).map_err(|reason| CredentialsError::Malformed {
        path: netrc.to_path_buf(),
        reason,
    })?;
    // The first entry for the host is the one, as in the Heroku CLI's reading.
    let entry = entries
        .into_iter()
        .find(|entry| entry.machine.as_deref() == Some(NETRC_MACHINE))
        .ok_or_else(missing)?;
    match entry.password.filter(|password| !password.is_empty()) {
        Some(password) => Ok(Credentials {
            key: ApiKey::new(password),
            source: Source::Netrc(netrc.to_path_buf()),
        }),
        None => Err(CredentialsError::NoPassword {
            netrc: netrc.to_path_buf(),
        }),
    }
}

/// `~/.netrc`, or `%USERPROFILE%\_netrc` on Windows.
pub fn default_netrc_path(home: Option<PathBuf>) -> PathBuf {
    let name = if cfg!(windows) { "_netrc" } else { ".netrc" };
    home.unwrap_or_default().join(name)
}

/// One `machine` (or `default`) entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetrcEntry {
    /// `None` for the `default` entry.
    pub machine: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
}

/// Parses netrc text. An error names the line and the problem, never a password.
pub fn parse_netrc(text: &str) -> Result<Vec<NetrcEntry>, String> {
    let mut entries: Vec<NetrcEntry> = Vec::new();
    let mut tokens = netrc_tokens(text).into_iter();
    while let Some((line, keyword)) = tokens.next() {
        let mut value = || {
            tokens
                .next()
                .map(|(_, value)| value.to_string())
                .ok_or_else(|| format!("line {line}: `{keyword}` has no value"))
        };
        match keyword {
            "machine" => {
                let machine = value()?;
                entries.push(NetrcEntry {
                    machine: Some(machine),
                    ..NetrcEntry::default()
                });
            }
            "default" => entries.push(NetrcEntry::default()),
            "macdef" => {
                value()?;
            }
            "login" | "password" | "account" => {
                let field = value()?;
                let entry = entries.last_mut().ok_or_else(|| {
                    format!("line {line}: `{keyword}` comes before any `machine` or `default`")
                })?;
                match keyword {
                    "login" => entry.login = Some(field),
                    "password" => entry.password = Some(field),
                    _ => {}
                }
            }
            other => {
                return Err(format!(
                    "line {line}: unexpected `{}`; expected `machine`, `login`, `password`, `account`, `macdef` or `default`",
                    other.chars().take(40).collect::<String>()
                ));
            }
        }
    }
    Ok(entries)
}

/// Splits netrc text into words with their line numbers, leaving out `#` comment lines
/// and the bodies of `macdef` macros (which run to the next blank line).
fn netrc_tokens(text: &str) -> Vec<(usize, &str)> {
    let mut tokens = Vec::new();
    let mut in_macro = false;
    for (index, line) in text.lines().enumerate() {
        if in_macro {
            in_macro = !line.trim().is_empty();
            continue;
        }
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            tokens.push((index + 1, word));
            if word == "macdef" {
                tokens.extend(words.next().map(|name| (index + 1, name)));
                in_macro = true;
                break;
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETRC: &str = "\
# written by heroku login
machine git.heroku.com
  login ci@example.com
  password git-key
machine api.heroku.com
  login ci@example.com
  password api-key
";

    fn netrc_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".netrc");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_environment_comes_first() {
        let (_dir, path) = netrc_file(NETRC);
        let credentials = resolve(Some("env-key".into()), &path).unwrap();
        assert_eq!(credentials.key.expose(), "env-key");
        assert_eq!(credentials.source, Source::Environment);
    }

    #[test]
    fn then_the_api_entry_of_netrc() {
        let (_dir, path) = netrc_file(NETRC);
        let credentials = resolve(None, &path).unwrap();
        assert_eq!(credentials.key.expose(), "api-key");
        assert_eq!(credentials.source, Source::Netrc(path));
    }

    #[test]
    fn an_empty_environment_value_is_an_error_not_a_fallback() {
        let (_dir, path) = netrc_file(NETRC);
        assert_eq!(
            resolve(Some("  ".into()), &path).unwrap_err(),
            CredentialsError::EmptyEnvironment
        );
    }

    #[test]
    fn missing_everywhere_names_both_places() {
        let (_dir, path) = netrc_file("machine git.heroku.com login a password b\n");
        let message = resolve(None, &path).unwrap_err().to_string();
        assert!(message.contains("HEROKU_API_KEY"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        let absent = path.with_file_name("absent");
        assert!(matches!(
            resolve(None, &absent),
            Err(CredentialsError::Missing { .. })
        ));
    }

    #[test]
    fn an_entry_with_no_password_is_explained_not_missing() {
        let (_dir, path) = netrc_file(
            "machine api.heroku.com login ci@example.com\nmachine api.heroku.com password later\n",
        );
        assert_eq!(
            resolve(None, &path).unwrap_err(),
            CredentialsError::NoPassword {
                netrc: path.clone()
            }
        );
        let message = resolve(None, &path).unwrap_err().to_string();
        assert!(message.contains("has no `password`"), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn a_netrc_others_can_read_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = netrc_file(NETRC);
        for (mode, warned) in [(0o600, false), (0o400, false), (0o640, true), (0o604, true)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let warning = exposure_warning(&path);
            assert_eq!(warning.is_some(), warned, "{mode:o}");
            if let Some(warning) = warning {
                assert!(warning.contains(&format!("{mode:04o}")), "{warning}");
                assert!(warning.contains("chmod 600"), "{warning}");
            }
        }
    }

    #[test]
    fn a_malformed_file_names_the_line_and_never_the_password() {
        let (_dir, path) =
            netrc_file("machine api.heroku.com\n  password secret-value\n  passwd x\n");
        let message = resolve(None, &path).unwrap_err().to_string();
        assert!(message.contains("line 3"), "{message}");
        assert!(!message.contains("secret-value"), "{message}");
    }

    #[test]
    fn parses_one_line_entries_defaults_and_macros() {
        let text = "machine a login x password y\nmacdef init\ncd /tmp\nls\n\ndefault login anon password none\n";
        let entries = parse_netrc(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].password.as_deref(), Some("y"));
        assert_eq!(entries[1].machine, None);
    }

    #[test]
    fn rejects_what_is_not_netrc() {
        for bad in [
            "login x",
            "machine",
            "machine a password",
            "machine a colour blue",
        ] {
            assert!(parse_netrc(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", ApiKey::new("abc")), "ApiKey(<redacted>)");
    }
}
