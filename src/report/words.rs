//! The words for what the engine finds: why a run stopped (the report's `message`, in
//! every output, the JSON's too) and the notes it makes on the way. The engine and its
//! ledger give facts with their numbers (`reap::facts`); the flags they name are worded
//! here alone.

use serde::{Serialize, Serializer};

use crate::duration;
use crate::reap::facts::{Halt, Note, PipelinesOverCap, WhyHeld};
use crate::reap::record::Message;

/// The report's message in words.
pub fn message(message: &Message) -> String {
    match message {
        Message::Halted(halt) => halted(halt),
        Message::KeyRejected(error) => format!("the API rejected the key: {error}"),
        Message::Api(error) | Message::Text(error) => error.clone(),
        Message::Interrupted { signal, grace } => format!(
            "{}: no DELETE was sent after it; those in flight had {} to answer",
            signal.stopped(),
            duration::format(*grace)
        ),
    }
}

fn halted(halt: &Halt) -> String {
    match halt {
        Halt::Refused { stale, cap } => format!(
            "the plan would delete {stale} apps, more than `--max-deletes {cap}`; nothing was deleted. Check the rule with `--dry-run`, then raise the cap (`--max-deletes {stale}`, or 0 for none) if the plan is right"
        ),
        Halt::PastCap { more, cap } => format!(
            "stopped: {more} more stale apps would take this run past `--max-deletes {cap}`"
        ),
        Halt::PipelinesPastCap(over) => format!(
            "stopped before the pipelines: {}; raise the cap if the plan is right",
            over_cap(over)
        ),
        Halt::FailuresInARow { failures, last } => {
            format!("{failures} deletes failed in a row; stopped sending more (last: {last})")
        }
        Halt::UnderLimit { present, limit } => format!(
            "another reaper is deleting nearby and {present} matching apps are under the limit of {limit}; stopping"
        ),
        Halt::LimitHeld {
            present,
            limit,
            why,
        } => format!(
            "{present} matching apps remain, at or over `--app-limit {limit}`: {}",
            why_held(why)
        ),
    }
}

fn why_held(why: &WhyHeld) -> String {
    match why {
        WhyHeld::NothingAges => "every matching app that may be deleted is gone".to_string(),
        WhyHeld::RestKept => "the rest are kept, team or other owners' apps".to_string(),
        WhyHeld::WaitTooLong { oldest, wait } => format!(
            "the oldest, `{oldest}`, passes the TTL in {}, after `--wait-for-room` runs out",
            duration::format(*wait)
        ),
    }
}

fn over_cap(over: &PipelinesOverCap) -> String {
    let PipelinesOverCap {
        apps,
        pipelines,
        cap,
    } = over;
    format!(
        "{apps} apps and {pipelines} pipelines are more than `--max-deletes {cap}` (apps and pipelines count together)"
    )
}

/// A note of the engine's in words, as a line on stderr.
pub fn note(note: &Note) -> String {
    match note {
        Note::WouldRefuse { stale, cap } => format!(
            "note: a real run would refuse this plan: {stale} apps is more than `--max-deletes {cap}`"
        ),
        Note::WouldStopBeforePipelines(over) => format!(
            "note: a real run would stop before the pipelines: {}",
            over_cap(over)
        ),
        Note::WaitingForRoom(waiting) => format!(
            "{} matching apps, limit {}: waiting {} for `{}` to pass the TTL",
            waiting.present,
            waiting.limit,
            duration::format(waiting.wait),
            waiting.oldest
        ),
    }
}

/// The JSON report's `message` is the words every other output shows.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&message(self))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::reap::cancel::Interrupt;
    use crate::reap::facts::Waiting;

    #[test]
    fn each_fact_names_its_numbers_and_its_flag() {
        let over = PipelinesOverCap {
            apps: 3,
            pipelines: 2,
            cap: 4,
        };
        let wait = Duration::from_secs(101);
        let cases = [
            (
                Message::Halted(Halt::Refused { stale: 7, cap: 5 }),
                "the plan would delete 7 apps, more than `--max-deletes 5`; nothing was deleted. Check the rule with `--dry-run`, then raise the cap (`--max-deletes 7`, or 0 for none) if the plan is right",
            ),
            (
                Message::Halted(Halt::PastCap { more: 2, cap: 3 }),
                "stopped: 2 more stale apps would take this run past `--max-deletes 3`",
            ),
            (
                Message::Halted(Halt::PipelinesPastCap(over)),
                "stopped before the pipelines: 3 apps and 2 pipelines are more than `--max-deletes 4` (apps and pipelines count together); raise the cap if the plan is right",
            ),
            (
                Message::Halted(Halt::FailuresInARow {
                    failures: 3,
                    last: "DELETE /apps/x answered 500".into(),
                }),
                "3 deletes failed in a row; stopped sending more (last: DELETE /apps/x answered 500)",
            ),
            (
                Message::Halted(Halt::UnderLimit {
                    present: 4,
                    limit: 5,
                }),
                "another reaper is deleting nearby and 4 matching apps are under the limit of 5; stopping",
            ),
            (
                Message::Halted(Halt::LimitHeld {
                    present: 5,
                    limit: 5,
                    why: WhyHeld::WaitTooLong {
                        oldest: "hatchet-t-young".into(),
                        wait,
                    },
                }),
                "5 matching apps remain, at or over `--app-limit 5`: the oldest, `hatchet-t-young`, passes the TTL in 101s, after `--wait-for-room` runs out",
            ),
            (
                Message::KeyRejected("GET /apps answered 401".into()),
                "the API rejected the key: GET /apps answered 401",
            ),
            (
                Message::Interrupted {
                    signal: Interrupt::Deadline,
                    grace: Duration::from_secs(5),
                },
                "stopped at `--deadline`: no DELETE was sent after it; those in flight had 5s to answer",
            ),
        ];
        for (fact, words) in cases {
            assert_eq!(message(&fact), words);
            assert_eq!(
                serde_json::to_string(&fact).unwrap(),
                serde_json::to_string(words).unwrap()
            );
        }
        let waiting = Note::WaitingForRoom(Waiting {
            present: 6,
            limit: 5,
            wait,
            oldest: "hatchet-t-young".into(),
        });
        assert_eq!(
            note(&waiting),
            "6 matching apps, limit 5: waiting 101s for `hatchet-t-young` to pass the TTL"
        );
        assert_eq!(
            note(&Note::WouldStopBeforePipelines(over)),
            "note: a real run would stop before the pipelines: 3 apps and 2 pipelines are more than `--max-deletes 4` (apps and pipelines count together)"
        );
    }
}
