//! Durations as typed on a command line: never a panic, and what parses formats.
#![no_main]

use heroku_reaper::duration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(parsed) = duration::parse(text) {
        assert!(!duration::format(parsed).is_empty());
    }
});
