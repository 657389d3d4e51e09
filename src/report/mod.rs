//! The ways of showing a run's record: for people, as JSON, and to a GitHub runner.

pub mod actions;
pub mod human;
pub mod words;

use crate::reap::record::Report;

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
    serde_json::to_string_pretty(report).expect("a report always serializes")
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
}
