//! The parts of Heroku's JSON that the reaper reads. Unknown fields are ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct App {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub owner: Option<Identity>,
    #[serde(default)]
    pub team: Option<Team>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Identity {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

/// A pipeline: Hatchet's CI tests make one named after each app and couple the app to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pipeline {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// A user or a team; `null` on pipelines older than pipeline ownership.
    #[serde(default)]
    pub owner: Option<PipelineOwner>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PipelineOwner {
    pub id: String,
    /// `user` or `team`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One app coupled to a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Coupling {
    pub app: Reference,
}

/// `{"id": …}`: what a coupling says of its app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reference {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RateLimit {
    pub remaining: u32,
}

/// Heroku's error body: branch on `id`, show `message`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub message: String,
}

/// What a paged listing holds: things with an id, which paging ranges over.
pub trait Listed {
    fn id(&self) -> &str;
}

impl Listed for App {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Listed for Pipeline {
    fn id(&self) -> &str {
        &self.id
    }
}
