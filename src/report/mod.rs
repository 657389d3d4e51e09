//! The ways of showing a run's record: for people, as JSON, and to a GitHub runner.

pub mod actions;
pub mod human;
pub mod words;

use serde::Serialize;

use crate::reap::record::Report;
use crate::room::RoomReport;

/// What the run prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A line per app acted on and a summary table.
    Human,
    /// One JSON document with every app considered, the counts and the rate limit left.
    Json,
}

/// The JSON document of `--format json` and `--report`.
pub fn json(report: &Report) -> String {
    document(report, None)
}

/// The JSON document, with the wait for room (`--reserve-apps`) as its `room` object.
pub fn document(report: &Report, room: Option<&RoomReport>) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        #[serde(flatten)]
        report: &'a Report,
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<&'a RoomReport>,
    }
    serde_json::to_string_pretty(&Document { report, room }).expect("a report always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reap::record::tests::{sample, sample_with_github_and_pipelines};

    #[test]
    fn json_document_with_github_and_pipelines() {
        insta::assert_snapshot!(json(&sample_with_github_and_pipelines(false)));
    }

    #[test]
    fn json_document() {
        insta::assert_snapshot!(json(&sample(false)));
    }

    #[test]
    fn json_document_with_room() {
        let room = crate::room::tests::sample();
        let document: serde_json::Value =
            serde_json::from_str(&document(&sample(false), Some(&room))).unwrap();
        let plain: serde_json::Value = serde_json::from_str(&json(&sample(false))).unwrap();
        // The report's own fields, and beside them the room.
        let mut without = document.clone();
        without.as_object_mut().unwrap().remove("room");
        assert_eq!(without, plain);
        insta::assert_json_snapshot!(document["room"]);
    }
}
