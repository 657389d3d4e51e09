//! What the Heroku and GitHub clients share on the wire: rustls with ring, a bound on
//! every exchange and on every body, no redirects, and the environment's proxies except
//! for this machine.

use std::time::Duration;

use reqwest::Url;
use reqwest::redirect::Policy;

/// The most bytes of one response body either client reads. A page of 1,000 apps is
/// about 1 MB, a page of 100 workflow runs less; a body past this is not an answer of
/// the API, and reading on would let a server grow the process with every byte.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// `MAX_BODY` in words, for messages.
pub const MAX_BODY_WORDS: &str = "32 MiB";

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than `MAX_BODY`: reading stopped there.
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a response's body, a chunk at a time, up to `limit` bytes: memory grows with
/// what is kept, never past `limit`, whatever the server sends or claims to.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `url` points at this machine (127.0.0.0/8, ::1 or `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    // IPv6 hosts come bracketed: `[::1]`.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP client for the API at `base_url` (checked by `config`). `timeout` bounds
/// each exchange whole: connecting, the headers and the body, however slowly they
/// trickle in. Proxies come from the environment (`HTTPS_PROXY`, `NO_PROXY`, …), but
/// never for an API on this machine: plain http is allowed there, and a proxy would
/// read the key in the clear.
pub fn client(base_url: &str, timeout: Duration) -> reqwest::ClientBuilder {
    // reqwest is built without a TLS crypto provider so that ring (pure Rust and asm,
    // static-friendly) is the one linked; install it once for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // The APIs never redirect; following one could hand the key to another host.
        .redirect(Policy::none());
    match Url::parse(base_url) {
        Ok(url) if is_loopback(&url) => builder.no_proxy(),
        _ => builder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_this_machine_only() {
        for local in [
            "http://127.0.0.1:5000",
            "http://127.8.9.10",
            "https://localhost/",
            "http://LOCALHOST:1",
            "http://[::1]:80",
        ] {
            assert!(is_loopback(&Url::parse(local).unwrap()), "{local}");
        }
        for remote in [
            "https://api.heroku.com",
            "http://0.0.0.0:9",
            "http://localhost.example.com",
            "http://10.0.0.1",
            "http://[::2]",
        ] {
            assert!(!is_loopback(&Url::parse(remote).unwrap()), "{remote}");
        }
    }
}
