//! The routes clients other than heroku-reaper call: `POST /apps`, `GET /users/~/apps`
//! and what `heroku apps:info` reads about one app. Every answer is checked against the
//! schema.

use std::collections::BTreeSet;

use heroku_sandbox::wire::Reply;
use heroku_sandbox::{Role, Seed};

use crate::support::{Schema, app_named, start_with_api};

fn assert_error(reply: &Reply, status: u16, id: &str) {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.error_id(), id);
}

#[test]
fn created_apps_follow_the_schema_and_are_served_like_any_other() {
    let (sandbox, api) = start_with_api(|_| {});
    let schema = Schema::load();

    let named = api.post(
        "/apps",
        r#"{"name": "my-new-app", "region": "eu", "stack": "heroku-22"}"#,
    );
    assert_eq!(named.status, 201);
    let named = named.json();
    schema.assert_follows("app", &named);
    assert_eq!(named["name"], "my-new-app");
    assert_eq!(named["region"]["name"], "eu");
    assert_eq!(named["stack"]["name"], "heroku-22");
    assert_eq!(named["owner"]["id"], sandbox.account_id());

    // No body at all, and a body with no name: Heroku's `adjective-noun-12345`.
    for body in ["", "{}"] {
        let generated = api.post("/apps", body);
        assert_eq!(generated.status, 201);
        let generated = generated.json();
        schema.assert_follows("app", &generated);
        let name = generated["name"].as_str().expect("a name");
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!(parts.len(), 3, "{name}");
        assert!(
            parts[..2]
                .iter()
                .all(|word| word.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert!(parts[2].len() == 5 && parts[2].bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            (
                generated["region"]["name"].as_str(),
                generated["stack"]["name"].as_str()
            ),
            (Some("us"), Some("heroku-24"))
        );
    }

    let by_name = api.get("/apps/my-new-app").json();
    let by_id = api
        .get(&format!("/apps/{}", named["id"].as_str().unwrap()))
        .json();
    assert_eq!(by_name, named);
    assert_eq!(by_id, named);
    let created: Vec<_> = sandbox
        .apps()
        .into_iter()
        .filter(|app| app.role == Role::Created)
        .collect();
    assert_eq!(created.len(), 3);
    assert_eq!(sandbox.stats().creates, 3);
    assert_eq!(sandbox.stats().sent("POST /apps 201"), 3);
    let (listed, _) = api.list_all("/apps", Some("id ..; max=1000"));
    assert!(listed.contains(&named));
}

#[test]
fn the_users_apps_are_those_the_account_owns_or_shares_not_its_teams() {
    let (sandbox, api) = start_with_api(|_| {});
    let schema = Schema::load();
    let expected: BTreeSet<String> = sandbox
        .apps()
        .into_iter()
        .filter(|app| app.team.is_none())
        .map(|app| app.name)
        .collect();
    assert_eq!(expected.len(), 30 + 10 + 5 + 2);

    let account = api.get("/account").json();
    let email = account["email"].as_str().expect("an email");
    for user in ["~", sandbox.account_id(), email] {
        // Pages of 7, so that `Next-Range` is followed to the end.
        let (apps, pages) = api.list_all(&format!("/users/{user}/apps"), Some("name ..; max=7"));
        assert_eq!(pages.len(), 7, "{user}: {pages:?}");
        assert!(
            pages[..6]
                .iter()
                .all(|&(status, n)| status == 206 && n == 7)
        );
        let names: BTreeSet<String> = apps
            .iter()
            .map(|app| app["name"].as_str().expect("a name").to_string())
            .collect();
        assert_eq!(names, expected, "{user}");
        for app in &apps {
            schema.assert_follows("app", app);
        }
    }
    assert_error(&api.get("/users/nobody@example.com/apps"), 404, "not_found");
    assert_error(
        &api.get_range("/users/~/apps", "created_at .."),
        400,
        "bad_request",
    );
}

#[test]
fn a_create_is_refused_as_heroku_refuses_it() {
    let (sandbox, api) = start_with_api(|_| {});
    let before = sandbox.apps().len();
    let taken = app_named(&sandbox, Role::Collaborator);

    let refused = api.post("/apps", &format!(r#"{{"name": "{taken}"}}"#));
    assert_error(&refused, 422, "invalid_params");
    assert_eq!(
        refused.json()["message"],
        format!("Name {taken} is already taken")
    );
    assert_error(
        &api.post("/apps", r#"{"name": "Not_A_Name"}"#),
        422,
        "invalid_params",
    );
    assert_error(
        &api.post("/apps", r#"{"region": "mars"}"#),
        404,
        "not_found",
    );
    assert_error(
        &api.post("/apps", r#"{"stack": "cedar-14"}"#),
        404,
        "not_found",
    );
    assert_error(&api.post("/apps", "{name"), 400, "bad_request");
    assert_eq!(sandbox.apps().len(), before);
    assert_eq!(sandbox.stats().creates, 0);
}

#[test]
fn a_create_at_the_app_limit_gets_herokus_422_and_message() {
    // 100 apps the account owns, and 5 it does not: team and shared apps do not count.
    let (sandbox, api) = start_with_api(|options| {
        options.seed = Seed {
            stale: 90,
            fresh: 5,
            other: 5,
            team_apps: 3,
            collaborator_apps: 2,
            ..Seed::default()
        };
    });
    let refused = api.post("/apps", r#"{"name": "one-too-many"}"#);
    assert_error(&refused, 422, "invalid_params");
    assert_eq!(
        refused.json()["message"],
        "You've reached your app limit of 100 apps. Delete some apps or open a ticket at \
         https://help.heroku.com/new/increase-limits to have this limit increased."
    );
    assert_eq!(sandbox.stats().refused_at_limit, 1);

    let stale = app_named(&sandbox, Role::Stale);
    assert_eq!(api.delete(&format!("/apps/{stale}")).status, 200);
    assert_eq!(api.post("/apps", r#"{"name": "one-too-many"}"#).status, 201);
    assert_error(&api.post("/apps", "{}"), 422, "invalid_params");
}

#[test]
fn the_limit_is_a_sandbox_option() {
    let (sandbox, api) = start_with_api(|options| {
        options.seed = Seed {
            stale: 1,
            ..Seed::empty()
        };
        options.server.app_limit = 3;
    });
    assert_eq!(api.post("/apps", "{}").status, 201);
    assert_eq!(api.post("/apps", "{}").status, 201);
    let refused = api.post("/apps", "{}");
    assert_error(&refused, 422, "invalid_params");
    let message = refused.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("You've reached your app limit of 3 apps."),
        "{message}"
    );
    assert_eq!(sandbox.apps().len(), 3);
}

#[test]
fn what_apps_info_reads_follows_the_schema() {
    let (sandbox, api) = start_with_api(|_| {});
    let schema = Schema::load();
    let stale = app_named(&sandbox, Role::Stale);
    let other = app_named(&sandbox, Role::Other);
    let shared = app_named(&sandbox, Role::Collaborator);

    for route in ["addons", "dynos", "collaborators"] {
        let reply = api.get(&format!("/apps/{stale}/{route}"));
        assert_eq!(reply.status, 200, "{route}");
        assert_eq!(reply.json(), serde_json::json!([]), "{route}");
    }
    let collaborators = api.get(&format!("/apps/{shared}/collaborators")).json();
    let collaborators = collaborators.as_array().expect("a list");
    assert_eq!(collaborators.len(), 1);
    schema.assert_follows("collaborator", &collaborators[0]);
    assert_eq!(collaborators[0]["user"]["id"], sandbox.account_id());
    assert_eq!(collaborators[0]["app"]["name"], shared.as_str());

    // Stale apps are coupled to a pipeline named after them; others are not.
    let coupling = api.get(&format!("/apps/{stale}/pipeline-couplings"));
    assert_eq!(coupling.status, 200);
    let coupling = coupling.json();
    schema.assert_follows("pipeline-coupling", &coupling);
    let id = sandbox
        .apps()
        .into_iter()
        .find(|app| app.name == stale)
        .expect("the stale app")
        .id;
    assert_eq!(coupling["app"]["id"], id.as_str());
    assert_error(
        &api.get(&format!("/apps/{other}/pipeline-couplings")),
        404,
        "not_found",
    );
    for route in ["addons", "dynos", "collaborators", "pipeline-couplings"] {
        assert_error(
            &api.get(&format!("/apps/no-such-app/{route}")),
            404,
            "not_found",
        );
    }
}
