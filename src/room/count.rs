//! The room on the account, and whether this run fits in it. Pure: the listed apps,
//! the leases and the numbers go in; the count and the verdict come out.

use std::cmp::Reverse;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::leases::{Hold, Lease};
use crate::heroku::App;
use crate::reap::plan::{Matcher, Scope};

/// The apps that count against the account's limit, split by the name rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// Apps in scope whose names do not match: nobody's test apps.
    pub other: usize,
    /// When each matching app in scope was created (`None`: unreadable).
    pub test: Vec<Option<DateTime<Utc>>>,
}

/// Counts the apps in scope: the account's own (in a team's scope, the team's), once
/// each. `account` is `GET /account`'s id; unknown, every app of no team counts.
pub fn census(apps: &[App], matcher: &Matcher, scope: &Scope, account: Option<&str>) -> Census {
    let mut seen = HashSet::new();
    let mut census = Census::default();
    for app in apps.iter().filter(|app| seen.insert(&app.id)) {
        if !counts(app, scope, account) {
            continue;
        }
        match matcher.matches(&app.name) {
            true => census.test.push(app.created_at),
            false => census.other += 1,
        }
    }
    census
}

/// Whether the app counts against the limit of the account or team in scope.
fn counts(app: &App, scope: &Scope, account: Option<&str>) -> bool {
    match (scope, &app.team) {
        (Scope::Account, Some(_)) => false,
        (Scope::Account, None) => match (&app.owner, account) {
            (Some(owner), Some(account)) => owner.id == account,
            _ => true,
        },
        (Scope::Team(name), Some(team)) => team.name == *name || team.id == *name,
        (Scope::Team(_), None) => false,
    }
}

/// The room, as one look counted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Room {
    pub account_limit: usize,
    pub other_apps: usize,
    pub test_apps: usize,
    /// The reservations of the runs that hold room.
    pub reserved: usize,
    /// Test apps that no run holding room can own: leaks of runs that ended, apps of runs
    /// that were never admitted.
    pub outside_reservations: usize,
    /// What is left for this run; negative when the account is over-full.
    pub free: i64,
}

impl Room {
    /// `100 apps - 0 other - 80 reserved - 0 test apps outside reservations = 20 free`.
    pub fn words(&self) -> String {
        format!(
            "{} apps - {} other - {} reserved - {} test apps outside reservations = {} free",
            self.account_limit,
            self.other_apps,
            self.reserved,
            self.outside_reservations,
            self.free
        )
    }
}

/// The room left beside `leases`. Each lease will hold up to its whole reservation; the
/// test apps that none of them can own count on top. So the account is taken as the
/// larger of the test apps now and the reservations, and more when both are there.
pub fn room(account_limit: usize, census: &Census, leases: &[Lease]) -> Room {
    let reserved: usize = leases.iter().map(|lease| lease.apps).sum();
    let outside = census.test.len() - claimable(&census.test, leases);
    let taken = census.other + reserved + outside;
    Room {
        account_limit,
        other_apps: census.other,
        test_apps: census.test.len(),
        reserved,
        outside_reservations: outside,
        free: account_limit as i64 - taken as i64,
    }
}

/// The most test apps the admitted runs can own: an app is a run's only if it was created
/// after the run was admitted, and a run owns at most its reservation. Apps' names tell
/// no run from another, so the count is the most there can be: what is left surely
/// belongs to none of them. The sets are nested (a later admission sees fewer apps), so
/// serving the latest admission first is the best share.
fn claimable(test: &[Option<DateTime<Utc>>], leases: &[Lease]) -> usize {
    let mut admitted: Vec<&Lease> = leases
        .iter()
        .filter(|lease| lease.hold == Hold::Admitted)
        .collect();
    admitted.sort_by_key(|lease| Reverse(lease.since));
    let mut taken = 0;
    for lease in admitted {
        let after = test
            .iter()
            .filter(|created| created.is_some_and(|created| created >= lease.since))
            .count();
        taken += lease.apps.min(after.saturating_sub(taken));
    }
    taken
}

/// Whether this run, needing `need` apps, fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admit,
    Wait,
    /// More than the account holds beside its other apps: no wait can make the room.
    TooLarge,
}

pub fn verdict(room: &Room, need: usize) -> Verdict {
    if need + room.other_apps > room.account_limit {
        Verdict::TooLarge
    } else if room.free >= need as i64 {
        Verdict::Admit
    } else {
        Verdict::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heroku::{Identity, Team};

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2026-11-27T12:{minute:02}:00Z").parse().unwrap()
    }

    fn lease(apps: usize, since: u32, hold: Hold) -> Lease {
        Lease {
            repo: "heroku/ruby".into(),
            run_id: u64::from(since),
            apps,
            since: at(since),
            hold,
        }
    }

    /// `n` test apps created at minute `minute`.
    fn apps(n: usize, minute: u32) -> Vec<Option<DateTime<Utc>>> {
        vec![Some(at(minute)); n]
    }

    fn census(other: usize, test: Vec<Option<DateTime<Utc>>>) -> Census {
        Census { other, test }
    }

    #[test]
    fn two_runs_of_forty_leave_twenty_on_a_hundred() {
        let leases = [lease(40, 1, Hold::Admitted), lease(40, 2, Hold::Admitted)];
        // Their tests have made 50 of their 80 apps.
        let room = room(100, &census(0, apps(50, 3)), &leases);
        assert_eq!(
            (room.reserved, room.outside_reservations, room.free),
            (80, 0, 20)
        );
        assert_eq!(verdict(&room, 40), Verdict::Wait);
        assert_eq!(verdict(&room, 20), Verdict::Admit);
        assert_eq!(
            room.words(),
            "100 apps - 0 other - 80 reserved - 0 test apps outside reservations = 20 free"
        );
        // One ends: its lease goes with it.
        let room = super::room(100, &census(0, apps(25, 3)), &leases[1..]);
        assert_eq!(room.free, 60);
        assert_eq!(verdict(&room, 40), Verdict::Admit);
    }

    #[test]
    fn with_no_lease_the_room_is_what_the_apps_leave() {
        let room = room(100, &census(5, apps(70, 3)), &[]);
        assert_eq!((room.outside_reservations, room.free), (70, 25));
        assert_eq!(verdict(&room, 25), Verdict::Admit);
        assert_eq!(verdict(&room, 26), Verdict::Wait);
    }

    #[test]
    fn apps_from_before_an_admission_are_not_that_runs() {
        // A cancelled run's 40 leaked apps, made before the one admitted run (40, none
        // of its apps made yet) was admitted: both count, where the larger of the two
        // alone (40) would let a third run in and overfill the account.
        let leaked = apps(40, 1);
        let room = room(100, &census(0, leaked), &[lease(40, 2, Hold::Admitted)]);
        assert_eq!((room.outside_reservations, room.free), (40, 20));
        assert_eq!(verdict(&room, 40), Verdict::Wait);
        // An app of unknown age is no run's.
        let unknown = room_of(vec![None; 10], &[lease(40, 2, Hold::Admitted)]);
        assert_eq!(unknown.outside_reservations, 10);
    }

    fn room_of(test: Vec<Option<DateTime<Utc>>>, leases: &[Lease]) -> Room {
        room(100, &census(0, test), leases)
    }

    #[test]
    fn each_run_owns_at_most_its_reservation_of_the_apps_after_its_admission() {
        let leases = [lease(10, 1, Hold::Admitted), lease(30, 5, Hold::Admitted)];
        // 20 apps made after the first admission, before the second; 40 after both.
        let mut test = apps(20, 3);
        test.extend(apps(40, 6));
        let room = room_of(test, &leases);
        // The second run owns 30 of the later 40, the first 10 of the rest: 20 are no one's.
        assert_eq!((room.reserved, room.outside_reservations), (40, 20));
        assert_eq!(room.free, 40);
    }

    #[test]
    fn a_run_in_line_reserves_its_apps_and_owns_none_yet() {
        let leases = [lease(40, 1, Hold::InLine)];
        let room = room_of(apps(30, 3), &leases);
        assert_eq!(
            (room.reserved, room.outside_reservations, room.free),
            (40, 30, 30)
        );
    }

    #[test]
    fn a_reservation_larger_than_the_account_less_its_other_apps_never_fits() {
        let room = room(100, &census(10, vec![]), &[]);
        assert_eq!(verdict(&room, 90), Verdict::Admit);
        assert_eq!(verdict(&room, 91), Verdict::TooLarge);
        // Over-full: negative room, still a wait.
        let full = room_of(apps(120, 3), &[]);
        assert_eq!(full.free, -20);
        assert_eq!(verdict(&full, 1), Verdict::Wait);
    }

    fn app(id: &str, name: &str, owner: Option<&str>, team: Option<&str>) -> App {
        App {
            id: id.into(),
            name: name.into(),
            created_at: Some(at(0)),
            owner: owner.map(|id| Identity {
                id: id.into(),
                email: None,
            }),
            team: team.map(|name| Team {
                id: format!("{name}-id"),
                name: name.into(),
            }),
        }
    }

    #[test]
    fn only_apps_in_scope_count_each_once() {
        let matcher = Matcher::Prefix("hatchet-t-".into());
        let apps = [
            app("1", "hatchet-t-0a", Some("me"), None),
            app("1", "hatchet-t-0a", Some("me"), None),
            app("2", "hatchet-t-0b", Some("me"), None),
            app("3", "my-site", Some("me"), None),
            app("4", "hatchet-t-0c", Some("friend"), None),
            app("5", "hatchet-t-0d", Some("me"), Some("ci")),
            app("6", "ci-dashboard", Some("me"), Some("ci")),
        ];
        let mine = super::census(&apps, &matcher, &Scope::Account, Some("me"));
        assert_eq!((mine.other, mine.test.len()), (1, 2));
        let team = super::census(&apps, &matcher, &Scope::Team("ci".into()), Some("me"));
        assert_eq!((team.other, team.test.len()), (1, 1));
        let by_id = super::census(&apps, &matcher, &Scope::Team("ci-id".into()), None);
        assert_eq!((by_id.other, by_id.test.len()), (1, 1));
    }
}
