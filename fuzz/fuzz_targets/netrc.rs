//! `~/.netrc` text: never a panic, and an error points at a line the file has.
#![no_main]

use heroku_reaper::credentials::parse_netrc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(message) = parse_netrc(text) {
        let line: usize = message
            .strip_prefix("line ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("{message:?} names no line"));
        assert!(
            (1..=text.lines().count()).contains(&line),
            "{message:?} for a text of {} lines",
            text.lines().count()
        );
    }
});
