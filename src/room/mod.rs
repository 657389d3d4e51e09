//! Room for the run (`--reserve-apps`): after the reaping, the run is admitted only when
//! the account has room for the apps it will hold beside the runs already admitted, whose
//! live GitHub runs are the leases. The count and the reading of GitHub's answers are
//! pure (`count`, `leases`); `read` asks GitHub and `gate` waits, told by `settings`,
//! and fills `record`. docs/design.md ("Room for the run") explains the leases and their
//! limits.

mod count;
mod gate;
mod leases;
mod read;
mod record;
mod settings;

pub use count::Room;
pub use gate::Gate;
pub use leases::{Hold, Lease};
pub use record::{Outcome, RoomReport};
pub use settings::{IfNoRoom, Settings};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reap::record::Message;

    /// A run admitted after a wait, with two runs of 20 apps holding room at the last
    /// look (one admitted, one in line ahead), and the leases read from GitHub.
    pub(crate) fn sample() -> RoomReport {
        let at = |text: &str| format!("2026-11-27T{text}Z").parse().unwrap();
        let lease = |run_id, since, hold| Lease {
            repo: "heroku/heroku-buildpack-ruby".into(),
            run_id,
            apps: 20,
            since: at(since),
            hold,
        };
        RoomReport {
            outcome: Outcome::Admitted,
            admitted: true,
            reserve_apps: 40,
            waited_seconds: 95.4,
            looks: 4,
            room: Some(Room {
                account_limit: 100,
                other_apps: 3,
                test_apps: 45,
                reserved: 40,
                outside_reservations: 5,
                free: 52,
            }),
            held_by: vec![
                lease(1002, "11:58:10", Hold::Admitted),
                lease(1003, "12:01:30", Hold::InLine),
            ],
            github_warning: None,
            reason: Message::Text("52 apps free for the 40 this run reserves".into()),
        }
    }
}
