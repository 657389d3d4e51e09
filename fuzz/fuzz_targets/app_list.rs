//! A page of `GET /apps` as JSON: never a panic, and what decodes survives a round trip.
#![no_main]

use heroku_reaper::heroku::App;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(apps) = serde_json::from_slice::<Vec<App>>(bytes) {
        let json = serde_json::to_vec(&apps).expect("apps serialize");
        let again: Vec<App> = serde_json::from_slice(&json).expect("apps decode again");
        assert_eq!(again, apps);
    }
});
