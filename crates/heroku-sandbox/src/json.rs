//! The JSON the sandbox serves, shaped as the Platform API schema describes it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{Account, App, Coupling, Identity, Pipeline, Team};
use super::seed::uuid_v4;

/// Whole seconds, as Heroku sends them; a time kept finer (`Server::subsecond_timestamps`)
/// shows its milliseconds.
const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// The build generation every sandbox app runs on.
const GENERATION: Named<'static> = Named {
    id: "0f4b1d5e-9b61-4c3a-8e0c-2a7f3e5d6c41",
    name: "cedar",
};

#[derive(Clone, Copy, Serialize)]
pub struct Named<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

impl<'a> From<&'a Team> for Named<'a> {
    fn from(team: &'a Team) -> Named<'a> {
        Named {
            id: &team.id,
            name: &team.name,
        }
    }
}

#[derive(Serialize)]
pub struct Owner<'a> {
    pub email: &'a str,
    pub id: &'a str,
}

/// `definitions.app` of the schema, every property.
#[derive(Serialize)]
pub struct AppJson<'a> {
    acm: bool,
    archived_at: Option<String>,
    buildpack_provided_description: Option<&'a str>,
    build_stack: Named<'a>,
    created_at: String,
    generation: Named<'a>,
    git_url: String,
    id: &'a str,
    internal_routing: Option<bool>,
    maintenance: bool,
    name: &'a str,
    owner: Owner<'a>,
    organization: Option<Named<'a>>,
    team: Option<Named<'a>>,
    region: Named<'a>,
    released_at: Option<String>,
    repo_size: Option<u64>,
    slug_size: Option<u64>,
    space: Option<Named<'a>>,
    stack: Named<'a>,
    updated_at: String,
    web_url: String,
}

pub fn date_time(at: DateTime<Utc>) -> String {
    at.format(DATE_TIME).to_string()
}

impl<'a> From<&'a App> for AppJson<'a> {
    fn from(app: &'a App) -> AppJson<'a> {
        let team = app.team.as_ref().map(Named::from);
        let release = app.release.as_ref();
        let stack = Named {
            id: app.stack.id(),
            name: app.stack.name(),
        };
        AppJson {
            acm: false,
            archived_at: None,
            buildpack_provided_description: release.map(|release| release.buildpack),
            build_stack: stack,
            created_at: date_time(app.created_at),
            generation: GENERATION,
            git_url: format!("https://git.heroku.com/{}.git", app.name),
            id: &app.id,
            internal_routing: None,
            maintenance: false,
            name: &app.name,
            owner: Owner {
                email: &app.owner.email,
                id: &app.owner.id,
            },
            organization: team,
            team,
            region: Named {
                id: app.region.id(),
                name: app.region.name(),
            },
            released_at: release.map(|release| date_time(release.at)),
            repo_size: None,
            slug_size: release.map(|release| release.slug_size),
            space: None,
            stack,
            updated_at: date_time(app.updated_at()),
            web_url: web_url(app),
        }
    }
}

/// Heroku's current form, `https://<name>-<12 hex>.herokuapp.com/`; the hex comes from
/// the id's last group so that it stays the same for the app.
fn web_url(app: &App) -> String {
    let suffix = app.id.rsplit('-').next().unwrap_or_default();
    format!("https://{}-{suffix}.herokuapp.com/", app.name)
}

/// `definitions.account` of the schema.
#[derive(Serialize)]
pub struct AccountJson<'a> {
    allow_tracking: bool,
    beta: bool,
    country_of_residence: Option<&'a str>,
    created_at: String,
    default_organization: Option<Named<'a>>,
    default_team: Option<Named<'a>>,
    delinquent_at: Option<String>,
    email: &'a str,
    federated: bool,
    id: &'a str,
    // Federated (SSO) accounts only.
    identity_provider: Option<()>,
    last_login: Option<String>,
    name: Option<&'a str>,
    sms_number: Option<&'a str>,
    suspended_at: Option<String>,
    two_factor_authentication: bool,
    updated_at: String,
    verified: bool,
}

impl<'a> AccountJson<'a> {
    pub fn new(account: &'a Account, team: &'a Team) -> AccountJson<'a> {
        AccountJson {
            allow_tracking: false,
            beta: false,
            country_of_residence: None,
            created_at: date_time(account.created_at),
            default_organization: Some(team.into()),
            default_team: Some(team.into()),
            delinquent_at: None,
            email: &account.identity.email,
            federated: false,
            id: &account.identity.id,
            identity_provider: None,
            last_login: Some(date_time(account.created_at)),
            name: Some(&account.name),
            sms_number: None,
            suspended_at: None,
            two_factor_authentication: true,
            updated_at: date_time(account.created_at),
            verified: true,
        }
    }
}

#[derive(Serialize)]
pub struct Id<'a> {
    pub id: &'a str,
}

#[derive(Serialize)]
pub struct PipelineOwnerJson<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// `definitions.pipeline` of the schema, every property.
#[derive(Serialize)]
pub struct PipelineJson<'a> {
    created_at: String,
    generation: Named<'a>,
    id: &'a str,
    name: &'a str,
    owner: PipelineOwnerJson<'a>,
    updated_at: String,
}

impl<'a> From<&'a Pipeline> for PipelineJson<'a> {
    fn from(pipeline: &'a Pipeline) -> PipelineJson<'a> {
        PipelineJson {
            created_at: date_time(pipeline.created_at),
            generation: GENERATION,
            id: &pipeline.id,
            name: &pipeline.name,
            owner: PipelineOwnerJson {
                id: &pipeline.owner_id,
                kind: pipeline.owner_type,
            },
            updated_at: date_time(pipeline.created_at),
        }
    }
}

/// `definitions.pipeline-coupling` of the schema, every property.
#[derive(Serialize)]
pub struct CouplingJson<'a> {
    app: Id<'a>,
    created_at: String,
    id: &'a str,
    pipeline: Id<'a>,
    stage: &'a str,
    updated_at: String,
}

impl<'a> From<&'a Coupling> for CouplingJson<'a> {
    fn from(coupling: &'a Coupling) -> CouplingJson<'a> {
        CouplingJson {
            app: Id {
                id: &coupling.app_id,
            },
            created_at: date_time(coupling.created_at),
            id: &coupling.id,
            pipeline: Id {
                id: &coupling.pipeline_id,
            },
            stage: coupling.stage,
            updated_at: date_time(coupling.created_at),
        }
    }
}

/// `definitions.collaborator` of the schema, every property: a user who shares an app
/// they do not own (no team permissions: a personal app has none).
#[derive(Serialize)]
pub struct CollaboratorJson<'a> {
    app: Named<'a>,
    created_at: String,
    id: String,
    permissions: [(); 0],
    role: &'a str,
    updated_at: String,
    user: CollaboratorUser<'a>,
}

#[derive(Serialize)]
struct CollaboratorUser<'a> {
    email: &'a str,
    federated: bool,
    id: &'a str,
}

impl<'a> CollaboratorJson<'a> {
    /// `user` collaborates on `app` since it was made; the id stays the same for the pair.
    pub fn new(app: &'a App, user: &'a Identity) -> CollaboratorJson<'a> {
        let seed = app
            .id
            .bytes()
            .chain(user.id.bytes())
            .fold(0u64, |hash, byte| hash.rotate_left(5) ^ u64::from(byte));
        CollaboratorJson {
            app: Named {
                id: &app.id,
                name: &app.name,
            },
            created_at: date_time(app.created_at),
            id: uuid_v4(&mut fastrand::Rng::with_seed(seed)),
            permissions: [],
            role: "collaborator",
            updated_at: date_time(app.created_at),
            user: CollaboratorUser {
                email: &user.email,
                federated: false,
                id: &user.id,
            },
        }
    }
}

/// `definitions.team` of the schema, every property: a small team outside any
/// enterprise account.
#[derive(Serialize)]
pub struct TeamJson<'a> {
    created_at: String,
    credit_card_collections: bool,
    default: bool,
    enterprise_account: Option<()>,
    id: &'a str,
    identity_provider: Option<()>,
    membership_limit: Option<u32>,
    name: &'a str,
    provisioned_licenses: bool,
    role: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    updated_at: String,
}

impl<'a> TeamJson<'a> {
    pub fn new(team: &'a Team, created_at: DateTime<Utc>) -> TeamJson<'a> {
        TeamJson {
            created_at: date_time(created_at),
            credit_card_collections: true,
            default: true,
            enterprise_account: None,
            id: &team.id,
            identity_provider: None,
            membership_limit: Some(25),
            name: &team.name,
            provisioned_licenses: false,
            role: "member",
            kind: "team",
            updated_at: date_time(created_at),
        }
    }
}

/// Heroku's error body: branch on `id`, never on `message`.
#[derive(Serialize)]
pub struct ErrorJson<'a> {
    pub id: &'a str,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use crate::model::{Identity, Region, Release, Stack};

    fn app(team: Option<Team>, release: Option<Release>) -> App {
        App {
            id: "01234567-89ab-4def-8123-456789abcdef".into(),
            name: "hatchet-t-0123456789".into(),
            created_at: "2026-01-02T03:04:05Z".parse().unwrap(),
            role: Role::Stale,
            owner: Identity {
                id: "11111111-1111-4111-8111-111111111111".into(),
                email: "me@example.com".into(),
            },
            team,
            region: Region::Eu,
            stack: Stack::Heroku24,
            release,
        }
    }

    #[test]
    fn serves_urls_dates_and_identities_as_heroku_does() {
        let app = app(
            None,
            Some(Release {
                at: "2026-01-02T03:05:00Z".parse().unwrap(),
                slug_size: 42,
                buildpack: "Ruby",
            }),
        );
        let json = serde_json::to_value(AppJson::from(&app)).unwrap();
        assert_eq!(
            json["git_url"],
            "https://git.heroku.com/hatchet-t-0123456789.git"
        );
        assert_eq!(
            json["web_url"],
            "https://hatchet-t-0123456789-456789abcdef.herokuapp.com/"
        );
        assert_eq!(json["created_at"], "2026-01-02T03:04:05Z");
        assert_eq!(json["updated_at"], "2026-01-02T03:05:00Z");
        assert_eq!(json["released_at"], "2026-01-02T03:05:00Z");
        assert_eq!(json["slug_size"], 42);
        assert_eq!(json["buildpack_provided_description"], "Ruby");
        assert_eq!(json["region"]["name"], "eu");
        assert_eq!(json["owner"]["email"], "me@example.com");
        assert!(json["team"].is_null() && json["organization"].is_null());
    }

    #[test]
    fn a_team_app_names_its_team_twice_and_an_unreleased_app_has_nulls() {
        let team = Team {
            id: "33333333-3333-4333-8333-333333333333".into(),
            name: "acme".into(),
        };
        let app = app(Some(team), None);
        let json = serde_json::to_value(AppJson::from(&app)).unwrap();
        assert_eq!(json["team"], json["organization"]);
        assert_eq!(json["team"]["name"], "acme");
        assert_eq!(json["updated_at"], json["created_at"]);
        assert!(json["released_at"].is_null() && json["slug_size"].is_null());
    }
}
