//! What the sandbox knows: one account, its team, another user who shares apps with
//! it, and the apps.

use chrono::{DateTime, Utc};

use super::{Role, SandboxApp, SandboxPipeline};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub name: String,
}

impl Team {
    /// Heroku names a team app's owner after the team itself.
    pub fn owner(&self) -> Identity {
        Identity {
            id: self.id.clone(),
            email: format!("{}@herokumanager.com", self.name),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Account {
    pub identity: Identity,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Everyone the sandbox knows; fixed once seeded.
#[derive(Clone, Debug)]
pub struct World {
    pub account: Account,
    pub team: Team,
    /// The user who owns the apps the account only collaborates on.
    pub collaborator: Identity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    Us,
    Eu,
}

impl Region {
    pub fn id(self) -> &'static str {
        match self {
            Region::Us => "59accabd-516d-4f0e-83e6-6e3757701145",
            Region::Eu => "ed30241c-ed8c-4bb6-9714-61953675d0b4",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    Heroku22,
    Heroku24,
}

impl Stack {
    pub const ALL: [Stack; 2] = [Stack::Heroku22, Stack::Heroku24];

    pub fn id(self) -> &'static str {
        match self {
            Stack::Heroku22 => "5d5b2b7e-4c1f-4a4e-9c7d-3f1a2b6c8e90",
            Stack::Heroku24 => "ae4dfb3b-1f64-45c5-9f82-d1c6e4d3f2a8",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stack::Heroku22 => "heroku-22",
            Stack::Heroku24 => "heroku-24",
        }
    }
}

impl Region {
    pub const ALL: [Region; 2] = [Region::Us, Region::Eu];
}

/// The last deploy of an app; an app whose first build failed has none.
#[derive(Clone, Debug)]
pub struct Release {
    pub at: DateTime<Utc>,
    pub slug_size: u64,
    pub buildpack: &'static str,
}

#[derive(Clone, Debug)]
pub struct App {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub role: Role,
    pub owner: Identity,
    pub team: Option<Team>,
    pub region: Region,
    pub stack: Stack,
    pub release: Option<Release>,
}

impl App {
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.release
            .as_ref()
            .map_or(self.created_at, |release| release.at)
    }

    /// Heroku's `id-or-name` path parameter.
    pub fn is_called(&self, id_or_name: &str) -> bool {
        self.id == id_or_name || self.name == id_or_name
    }

    pub fn summary(&self) -> SandboxApp {
        SandboxApp {
            id: self.id.clone(),
            name: self.name.clone(),
            created_at: self.created_at,
            role: self.role,
            team: self.team.as_ref().map(|team| team.name.clone()),
            owner_id: self.owner.id.clone(),
        }
    }
}

/// A pipeline, owned by a user or by a team.
#[derive(Clone, Debug)]
pub struct Pipeline {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub owner_id: String,
    /// `user` or `team`.
    pub owner_type: &'static str,
}

/// An app coupled to a pipeline, at a stage.
#[derive(Clone, Debug)]
pub struct Coupling {
    pub id: String,
    pub pipeline_id: String,
    pub app_id: String,
    pub stage: &'static str,
    pub created_at: DateTime<Utc>,
}

impl Pipeline {
    /// What tests see: the pipeline and the ids of the apps coupled to it.
    pub fn summary(&self, couplings: &[Coupling]) -> SandboxPipeline {
        SandboxPipeline {
            id: self.id.clone(),
            name: self.name.clone(),
            created_at: self.created_at,
            owner_id: self.owner_id.clone(),
            apps: couplings
                .iter()
                .filter(|coupling| coupling.pipeline_id == self.id)
                .map(|coupling| coupling.app_id.clone())
                .collect(),
        }
    }
}

/// Heroku's rule for app names: `^[a-z][a-z0-9-]{1,28}[a-z0-9]$`.
pub fn is_valid_app_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    (3..=30).contains(&bytes.len())
        && first.is_ascii_lowercase()
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(any(test, feature = "test-hooks"))]
/// Heroku's rule for pipeline names: `^[a-z][a-z0-9-]{2,29}$`.
pub fn is_valid_pipeline_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=30).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_follow_herokus_rule() {
        for good in [
            "abc",
            "hatchet-t-0123456789",
            "a1-2",
            "x23456789012345678901234567890",
        ] {
            assert!(is_valid_app_name(good), "{good:?}");
        }
        for bad in [
            "",
            "ab",
            "1abc",
            "-abc",
            "abc-",
            "Abc",
            "ab_c",
            "ab c",
            "x234567890123456789012345678901",
        ] {
            assert!(!is_valid_app_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn team_apps_are_owned_by_the_team() {
        let team = Team {
            id: "0c8a7a0e-4e59-4c86-9a38-0f4b8a1e2d3c".into(),
            name: "hatchet-ci".into(),
        };
        assert_eq!(
            team.owner(),
            Identity {
                id: team.id.clone(),
                email: "hatchet-ci@herokumanager.com".into()
            }
        );
    }
}
