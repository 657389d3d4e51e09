//! `Range` / `Next-Range` headers: never a panic, and a header that parses prints as
//! one that parses back to the same thing (the client sends what it printed).
#![no_main]

use heroku_reaper::heroku::range::Range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(range) = Range::parse(text) {
        let printed = range.to_string();
        let again = Range::parse(&printed)
            .unwrap_or_else(|error| panic!("{text:?} printed as {printed:?}: {error}"));
        assert_eq!(again, range, "{text:?} printed as {printed:?}");
    }
});
