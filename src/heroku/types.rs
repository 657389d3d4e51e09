//! The parts of Heroku's JSON that the reaper reads. Unknown fields are ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct App {
    pub id: String,
    pub name: String,
    /// `None` when missing or unreadable: that app's age is unknown, and the rest of the
    /// page still counts.
    #[serde(default, deserialize_with = "readable_time")]
    pub created_at: Option<DateTime<Utc>>,
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

/// A time, or `None` for anything that is not one (`null`, a number, `"yesterday"`).
fn readable_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(value.as_str().and_then(|text| text.parse().ok()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_whose_creation_time_is_unreadable_still_reads() {
        let page = r#"[
            {"id": "1", "name": "a", "created_at": "2026-11-27T12:00:00Z"},
            {"id": "2", "name": "b", "created_at": "yesterday"},
            {"id": "3", "name": "c", "created_at": null},
            {"id": "4", "name": "d", "created_at": 1764244800},
            {"id": "5", "name": "e"}
        ]"#;
        let apps: Vec<App> = serde_json::from_str(page).unwrap();
        let times: Vec<Option<String>> = apps
            .iter()
            .map(|app| app.created_at.map(|at| at.to_rfc3339()))
            .collect();
        assert_eq!(
            times,
            [
                Some("2026-11-27T12:00:00+00:00".to_string()),
                None,
                None,
                None,
                None
            ]
        );
    }
}
