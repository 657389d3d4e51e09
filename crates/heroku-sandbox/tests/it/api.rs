//! The sandbox over real HTTP: what a reaper (or curl) sees.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use heroku_sandbox::{Options, Role, Sandbox, Seed, Server};
use serde_json::Value;

use heroku_sandbox::wire::{ACCEPT_V3, Api, Reply, request};

use crate::support::{Schema, app_named, eventually, is_uuid, start_with_api};

/// `count` stale apps and nothing else.
fn only_stale(count: usize) -> Seed {
    Seed {
        stale: count,
        fresh: 0,
        other: 0,
        team_apps: 0,
        collaborator_apps: 0,
        ..Seed::default()
    }
}

fn names(apps: &[Value]) -> Vec<String> {
    apps.iter()
        .map(|app| app["name"].as_str().expect("a name").to_string())
        .collect()
}

fn ids(apps: &[Value]) -> Vec<String> {
    apps.iter()
        .map(|app| app["id"].as_str().expect("an id").to_string())
        .collect()
}

#[test]
fn app_json_follows_the_schema_for_every_role() {
    let (sandbox, api) = start_with_api(|_| {});
    sandbox.add_app("added-by-a-test", Duration::from_secs(300), Role::Added);
    let schema = Schema::load();

    let (apps, _) = api.list_all("/apps", Some("id ..; max=1000"));
    let team = api
        .get_range("/teams/hatchet-ci/apps", "id ..; max=1000")
        .json();
    let one = api.get("/apps/added-by-a-test").json();
    let deleted = api
        .delete(&format!("/apps/{}", app_named(&sandbox, Role::Stale)))
        .json();
    let served: Vec<&Value> = apps
        .iter()
        .chain(team.as_array().expect("a list"))
        .chain([&one, &deleted])
        .collect();
    assert_eq!(served.len(), 51 + 3 + 2);

    for app in served {
        schema.assert_follows("app", app);
    }

    // Every role was among the apps checked.
    let roles: BTreeMap<String, Role> = sandbox
        .apps()
        .into_iter()
        .chain(sandbox.deleted())
        .map(|app| (app.name, app.role))
        .collect();
    let seen: Vec<Role> = names(&apps).iter().map(|name| roles[name]).collect();
    for role in [
        Role::Stale,
        Role::Fresh,
        Role::Other,
        Role::Team,
        Role::Collaborator,
        Role::Added,
    ] {
        assert!(seen.contains(&role), "no {role:?} app served");
    }
}

#[test]
fn the_account_follows_the_schema() {
    let (sandbox, api) = start_with_api(|_| {});
    let schema = Schema::load();
    let reply = api.get("/account");
    assert_eq!(reply.status, 200);
    let account = reply.json();
    let violations = schema.violations(schema.definition("account"), &account, "account");
    assert!(violations.is_empty(), "{violations:#?}");
    for key in ["id", "email", "name", "created_at", "updated_at"] {
        assert!(account[key].is_string(), "{key} in {account}");
    }
    assert_eq!(account["id"], sandbox.account_id());
}

#[test]
fn without_the_v3_accept_header_the_answer_is_406_and_free() {
    let (sandbox, api) = start_with_api(|options| {
        options.server.rate_limit_pool = 10;
        options.server.rate_limit_refill_per_minute = 0.0;
    });
    let authorization = format!("Bearer {}", sandbox.token());
    for accept in [
        None,
        Some("application/json"),
        Some("application/vnd.heroku+json; version=2"),
    ] {
        let mut headers = vec![("Authorization", authorization.as_str())];
        headers.extend(accept.map(|accept| ("Accept", accept)));
        let reply = request(&api.url, "GET", "/apps", &headers);
        assert_eq!(
            (reply.status, reply.error_id()),
            (406, "not_acceptable".into()),
            "{accept:?}"
        );
        assert_eq!(reply.remaining(), None);
    }
    assert_eq!(sandbox.stats().remaining, 10);

    let spaced = [
        ("Accept", "application/vnd.heroku+json ;version=3"),
        ("Authorization", authorization.as_str()),
    ];
    let reply = request(&api.url, "GET", "/account", &spaced);
    assert_eq!((reply.status, reply.remaining()), (200, Some(9)));
}

#[test]
fn a_wrong_token_is_401_and_free() {
    let (sandbox, api) = start_with_api(|options| {
        options.server.rate_limit_pool = 10;
        options.server.rate_limit_refill_per_minute = 0.0;
    });
    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("Basic OnNhbmRib3gtdG9rZW4="),
    ] {
        let mut headers = vec![("Accept", ACCEPT_V3)];
        headers.extend(authorization.map(|value| ("Authorization", value)));
        let reply = request(&api.url, "GET", "/apps", &headers);
        assert_eq!(reply.status, 401, "{authorization:?}");
        assert_eq!(
            reply.json(),
            serde_json::json!({"id": "unauthorized", "message": "Invalid credentials provided."})
        );
        assert_eq!(reply.remaining(), None);
    }
    // Accept is checked first.
    let reply = request(
        &api.url,
        "GET",
        "/apps",
        &[("Authorization", "Bearer wrong")],
    );
    assert_eq!(reply.status, 406);
    assert_eq!(sandbox.stats().remaining, 10);
    assert_eq!(api.get("/account").remaining(), Some(9));
}

#[test]
fn every_response_has_a_request_id_and_a_json_body() {
    let (sandbox, api) = start_with_api(|options| {
        // Enough for the counted requests up to the 416; the DELETE after finds it empty.
        options.server.rate_limit_pool = 4;
        options.server.rate_limit_refill_per_minute = 0.0;
    });
    let stale = app_named(&sandbox, Role::Stale);
    let replies: Vec<(&str, Reply)> = vec![
        ("200", api.get("/account")),
        ("206", api.get_range("/apps", "id ..; max=10")),
        ("400", api.get_range("/apps", "nonsense")),
        (
            "401",
            request(&api.url, "GET", "/apps", &[("Accept", ACCEPT_V3)]),
        ),
        ("404 route", api.get("/no/such/route")),
        ("404 method", api.send("PATCH", "/apps", &[])),
        ("406", request(&api.url, "GET", "/apps", &[])),
        ("416", api.get_range("/apps", "id ..; max=1001")),
        ("429", api.delete(&format!("/apps/{stale}"))),
        ("stats", request(&api.url, "GET", "/__sandbox/stats", &[])),
        ("apps", request(&api.url, "GET", "/__sandbox/apps", &[])),
    ];
    let mut request_ids = BTreeSet::new();
    for (what, reply) in &replies {
        let id = reply
            .header("Request-Id")
            .unwrap_or_else(|| panic!("{what}: no Request-Id"));
        assert!(is_uuid(id), "{what}: {id}");
        request_ids.insert(id.to_string());
        assert_eq!(
            reply.header("Content-Type"),
            Some("application/json"),
            "{what}"
        );
        let body = reply.json();
        if reply.status >= 400 {
            assert!(
                body["id"].is_string() && body["message"].is_string(),
                "{what}: {body}"
            );
        }
    }
    assert_eq!(request_ids.len(), replies.len());
    let statuses: Vec<u16> = replies.iter().map(|(_, reply)| reply.status).collect();
    assert_eq!(
        statuses,
        [200, 206, 400, 401, 404, 404, 406, 416, 429, 200, 200]
    );
}

#[test]
fn pages_2500_apps_a_thousand_at_a_time() {
    let (sandbox, api) = start_with_api(|options| options.seed = only_stale(2500));
    let first = api.get_range("/apps", "id ..; max=1000");
    assert_eq!(first.header("Accept-Ranges"), Some("id, name, updated_at"));
    let next = first.header("Next-Range").expect("a Next-Range");
    assert!(
        next.starts_with("id ]") && next.ends_with("..; max=1000"),
        "{next}"
    );

    let (apps, pages) = api.list_all("/apps", Some("id ..; max=1000"));
    assert_eq!(pages, [(206, 1000), (206, 1000), (200, 500)]);
    let served = ids(&apps);
    let mut sorted = served.clone();
    sorted.sort();
    assert_eq!(served, sorted, "ascending by id across pages");
    let expected: BTreeSet<String> = sandbox.apps().into_iter().map(|app| app.id).collect();
    assert_eq!(served.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(served.len(), expected.len(), "every app exactly once");
}

#[test]
fn pages_200_at_a_time_by_default() {
    let (sandbox, api) = start_with_api(|options| options.seed = only_stale(2500));
    let first = api.get("/apps");
    assert_eq!(first.status, 206);
    assert!(
        first
            .header("Next-Range")
            .expect("a Next-Range")
            .ends_with("..; max=200")
    );

    let (apps, pages) = api.list_all("/apps", None);
    let mut expected_pages = vec![(206, 200); 12];
    expected_pages.push((200, 100));
    assert_eq!(pages, expected_pages);
    let served: BTreeSet<String> = ids(&apps).into_iter().collect();
    assert_eq!(served.len(), 2500);
    assert_eq!(served.len(), sandbox.apps().len());
    assert_eq!(sandbox.stats().list_pages, 14);
}

#[test]
fn pages_by_name_and_updated_at_in_either_order() {
    let (sandbox, api) = start_with_api(|options| options.seed = only_stale(700));
    let expected: BTreeSet<String> = sandbox.apps().into_iter().map(|app| app.name).collect();

    let (apps, _) = api.list_all("/apps", Some("name ..; max=100, order=desc"));
    let served = names(&apps);
    let mut descending = served.clone();
    descending.sort_by(|a, b| b.cmp(a));
    assert_eq!(served, descending);
    assert_eq!(served.into_iter().collect::<BTreeSet<_>>(), expected);

    // Many apps share an `updated_at` second; none is lost or repeated at page ends.
    let (apps, _) = api.list_all("/apps", Some("updated_at ..; max=50"));
    let served = names(&apps);
    assert_eq!(served.len(), expected.len());
    assert_eq!(served.into_iter().collect::<BTreeSet<_>>(), expected);
    let stamps: Vec<&str> = apps
        .iter()
        .filter_map(|app| app["updated_at"].as_str())
        .collect();
    assert!(stamps.is_sorted());
}

#[test]
fn bad_ranges_are_400_and_pages_over_the_maximum_416() {
    let (sandbox, api) = start_with_api(|_| {});
    let too_big = api.get_range("/apps", "id ..; max=1001");
    assert_eq!(
        (too_big.status, too_big.error_id()),
        (416, "requested_range_not_satisfiable".into())
    );
    for bad in [
        "created_at ..",
        "id",
        "id ..; max=many",
        "id ..; order=sideways",
    ] {
        let reply = api.get_range("/apps", bad);
        assert_eq!(
            (reply.status, reply.error_id()),
            (400, "bad_request".into()),
            "{bad}"
        );
    }
    let reply = api.get_range("/teams/hatchet-ci/apps", "id ..; max=5000");
    assert_eq!(reply.status, 416);
    let stats = sandbox.stats();
    assert_eq!(stats.by_status["GET /apps 416"], 1);
    assert_eq!(stats.by_status["GET /apps 400"], 4);
    assert_eq!(stats.list_pages, 0);
}

#[test]
fn created_at_keeps_milliseconds_only_when_asked() {
    for subsecond in [false, true] {
        let (sandbox, api) = start_with_api(|options| {
            options.seed = only_stale(0);
            options.server.subsecond_timestamps = subsecond;
        });
        // One app from the test hook, two from `POST /apps`, the way `bench/suite` makes them.
        sandbox.add_app("hatchet-t-0000000000", Duration::ZERO, Role::Added);
        for n in 1..3 {
            let reply = api.post("/apps", &format!(r#"{{"name": "hatchet-t-{n:010x}"}}"#));
            assert_eq!(reply.status, 201);
        }
        let (listed, _) = api.list_all("/apps", Some("id ..; max=1000"));
        let stamps: Vec<&str> = listed
            .iter()
            .map(|app| app["created_at"].as_str().expect("a created_at"))
            .collect();
        assert_eq!(stamps.len(), 3);
        // Heroku's shape, `2026-01-02T03:04:05Z`, with `.123` before the `Z` when asked; three
        // apps all made on a whole millisecond would be a one-in-a-billion chance.
        let fractions = stamps
            .iter()
            .filter(|stamp| stamp.len() == 24 && stamp.as_bytes()[19] == b'.')
            .count();
        let whole = stamps.iter().filter(|stamp| stamp.len() == 20).count();
        if subsecond {
            assert!(fractions >= 1 && fractions + whole == 3, "{stamps:?}");
        } else {
            assert_eq!(whole, 3, "{stamps:?}");
        }
    }
}

#[test]
fn delete_answers_200_then_404() {
    let (sandbox, api) = start_with_api(|_| {});
    let stale = sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == Role::Stale)
        .expect("a stale app");

    let reply = api.delete(&format!("/apps/{}", stale.name));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], stale.name.as_str());
    assert!(sandbox.apps().iter().all(|app| app.id != stale.id));
    assert_eq!(
        sandbox
            .deleted()
            .iter()
            .map(|app| &app.id)
            .collect::<Vec<_>>(),
        [&stale.id]
    );
    let (listed, _) = api.list_all("/apps", Some("id ..; max=1000"));
    assert!(!ids(&listed).contains(&stale.id));
    assert_eq!(api.get(&format!("/apps/{}", stale.name)).status, 404);

    // Again, by name and by id: someone else deleted it.
    for again in [&stale.name, &stale.id] {
        let reply = api.delete(&format!("/apps/{again}"));
        assert_eq!((reply.status, reply.error_id()), (404, "not_found".into()));
    }
    // A name the sandbox never held is a 404 but no conflict.
    assert_eq!(api.delete("/apps/never-existed").status, 404);

    // Deleting by id works too.
    let other = app_named(&sandbox, Role::Other);
    let id = sandbox
        .apps()
        .into_iter()
        .find(|app| app.name == other)
        .unwrap()
        .id;
    assert_eq!(api.delete(&format!("/apps/{id}")).status, 200);

    let stats = sandbox.stats();
    assert_eq!((stats.deletes, stats.conflicts), (2, 2));
    assert_eq!(stats.by_status["DELETE /apps/{app} 200"], 2);
    assert_eq!(stats.by_status["DELETE /apps/{app} 404"], 3);
}

#[test]
fn a_racing_delete_is_403_while_the_first_is_in_flight() {
    let (sandbox, api) = start_with_api(|options| {
        options.server.delete_latency = Some(Duration::from_millis(300));
    });
    let name = app_named(&sandbox, Role::Stale);
    let started = Instant::now();
    let first = std::thread::spawn({
        let api = api.clone();
        let path = format!("/apps/{name}");
        move || api.delete(&path)
    });
    eventually("the first DELETE is in flight", || {
        !sandbox.deleting().is_empty()
    });

    // Still listed while it is being deleted, and a second DELETE is refused.
    assert_eq!(api.get(&format!("/apps/{name}")).status, 200);
    let second = api.delete(&format!("/apps/{name}"));
    assert_eq!(
        (second.status, second.error_id()),
        (403, "forbidden".into())
    );

    let first = first.join().expect("the first DELETE");
    assert_eq!(first.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(sandbox.apps().iter().all(|app| app.name != name));
    let stats = sandbox.stats();
    assert_eq!((stats.deletes, stats.conflicts), (1, 1));
    assert_eq!(stats.by_status["DELETE /apps/{app} 403"], 1);
}

#[test]
fn a_delete_completes_when_the_client_hangs_up() {
    use std::io::Write;
    let (sandbox, api) = start_with_api(|options| {
        options.server.delete_latency = Some(Duration::from_millis(200));
    });
    let name = app_named(&sandbox, Role::Stale);
    let host = api.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    let head = format!(
        "DELETE /apps/{name} HTTP/1.1\r\nHost: {host}\r\nAccept: {ACCEPT_V3}\r\n\
         Authorization: Bearer {}\r\n\r\n",
        sandbox.token()
    );
    stream.write_all(head.as_bytes()).expect("send");
    eventually("the DELETE is in flight", || !sandbox.deleting().is_empty());
    drop(stream);
    eventually("the app is deleted", || {
        sandbox.deleted().iter().any(|app| app.name == name)
    });
    // The answer is counted just after the app goes.
    eventually("the 200 is counted", || {
        sandbox.stats().by_status.get("DELETE /apps/{app} 200") == Some(&1)
    });
}

#[test]
fn a_collaborators_app_is_403_and_stays_while_team_apps_go() {
    let (sandbox, api) = start_with_api(|_| {});
    let shared = app_named(&sandbox, Role::Collaborator);
    let reply = api.delete(&format!("/apps/{shared}"));
    assert_eq!((reply.status, reply.error_id()), (403, "forbidden".into()));
    assert!(sandbox.apps().iter().any(|app| app.name == shared));

    let team = app_named(&sandbox, Role::Team);
    assert_eq!(api.delete(&format!("/apps/{team}")).status, 200);
    let stats = sandbox.stats();
    assert_eq!((stats.deletes, stats.conflicts), (1, 0));
}

#[test]
fn the_account_sees_its_own_its_teams_and_shared_apps() {
    let (sandbox, api) = start_with_api(|_| {});
    let (apps, _) = api.list_all("/apps", Some("id ..; max=1000"));
    assert_eq!(apps.len(), 50);
    let owners: BTreeMap<String, String> = apps
        .iter()
        .map(|app| {
            (
                app["name"].as_str().unwrap().to_string(),
                app["owner"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for app in sandbox.apps() {
        let owner = &owners[&app.name];
        assert_eq!(owner, &app.owner_id);
        match app.role {
            Role::Team => assert_eq!(owner, sandbox.team_id()),
            Role::Collaborator => assert_ne!(owner, sandbox.account_id()),
            _ => assert_eq!(owner, sandbox.account_id()),
        }
    }
}

#[test]
fn a_team_lists_only_its_apps_by_name_or_id() {
    let (sandbox, api) = start_with_api(|_| {});
    let (by_name, pages) = api.list_all("/teams/hatchet-ci/apps", None);
    assert_eq!(pages, [(200, 3)]);
    for app in &by_name {
        assert_eq!(app["team"]["name"], "hatchet-ci");
        assert_eq!(app["team"], app["organization"]);
        assert_eq!(app["owner"]["id"], sandbox.team_id());
        assert_eq!(app["owner"]["email"], "hatchet-ci@herokumanager.com");
    }
    let (by_id, _) = api.list_all(&format!("/teams/{}/apps", sandbox.team_id()), None);
    assert_eq!(ids(&by_id), ids(&by_name));

    let unknown = api.get("/teams/someone-else/apps");
    assert_eq!(
        (unknown.status, unknown.error_id()),
        (404, "not_found".into())
    );
}

#[test]
fn the_pool_runs_dry_and_refuses_with_429() {
    let (sandbox, api) = start_with_api(|options| {
        options.server.rate_limit_pool = 5;
        options.server.rate_limit_refill_per_minute = 0.0;
    });
    let replies: Vec<Reply> = (0..6).map(|_| api.get("/account")).collect();
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    let remaining: Vec<Option<u32>> = replies.iter().map(Reply::remaining).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(
        remaining,
        [Some(4), Some(3), Some(2), Some(1), Some(0), Some(0)]
    );
    let refused = replies[5].json();
    assert_eq!(refused["id"], "rate_limit");
    assert!(refused["message"].as_str().unwrap().contains("rate limit"));

    let stats = sandbox.stats();
    assert_eq!(
        (stats.rate_limited, stats.min_remaining, stats.remaining),
        (1, 0, 0)
    );

    sandbox.set_rate_limit_remaining(2);
    let reply = api.get("/account");
    assert_eq!((reply.status, reply.remaining()), (200, Some(1)));
}

#[test]
fn the_pool_starts_where_told_and_refills() {
    let (sandbox, api) = start_with_api(|options| {
        options.server.rate_limit_pool = 100;
        options.server.rate_limit_remaining = Some(1);
        // Ten a second: a token comes back within a test's patience.
        options.server.rate_limit_refill_per_minute = 600.0;
    });
    assert_eq!(api.get("/account").remaining(), Some(0));
    eventually("a token comes back", || sandbox.stats().remaining >= 1);
    assert_eq!(api.get("/account").status, 200);
}

#[test]
fn asking_for_the_rate_limit_costs_nothing() {
    let (sandbox, api) = start_with_api(|options| {
        options.server.rate_limit_pool = 5;
        options.server.rate_limit_remaining = Some(3);
        options.server.rate_limit_refill_per_minute = 0.0;
    });
    for _ in 0..4 {
        let reply = api.get("/account/rate-limits");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), serde_json::json!({"remaining": 3}));
        assert_eq!(reply.remaining(), Some(3));
    }
    // Even an empty pool answers it.
    sandbox.set_rate_limit_remaining(0);
    let reply = api.get("/account/rate-limits");
    assert_eq!(
        (reply.status, reply.json()["remaining"].as_u64()),
        (200, Some(0))
    );
    assert_eq!(sandbox.stats().rate_limited, 0);
    assert_eq!(sandbox.stats().requests, 5);
}

#[test]
fn the_counters_match_what_was_sent() {
    let (sandbox, api) =
        start_with_api(|options| options.server.rate_limit_refill_per_minute = 0.0);
    let stale = app_named(&sandbox, Role::Stale);
    assert_eq!(api.get("/account").status, 200);
    let (_, pages) = api.list_all("/apps", Some("id ..; max=20"));
    assert_eq!(pages.len(), 3);
    assert_eq!(api.get("/teams/hatchet-ci/apps").status, 200);
    assert_eq!(api.delete(&format!("/apps/{stale}")).status, 200);
    assert_eq!(api.delete(&format!("/apps/{stale}")).status, 404);
    assert_eq!(api.get("/account/rate-limits").status, 200);
    assert_eq!(
        request(&api.url, "GET", "/apps", &[("Accept", ACCEPT_V3)]).status,
        401
    );
    assert_eq!(request(&api.url, "GET", "/apps", &[]).status, 406);
    // Neither an unknown route nor the sandbox's own endpoints count.
    assert_eq!(api.get("/addons").status, 404);
    assert_eq!(request(&api.url, "GET", "/__sandbox/apps", &[]).status, 200);

    let stats = sandbox.stats();
    let expected: BTreeMap<String, u64> = [
        ("GET /account 200", 1),
        ("GET /apps 206", 2),
        ("GET /apps 200", 1),
        ("GET /teams/{team}/apps 200", 1),
        ("DELETE /apps/{app} 200", 1),
        ("DELETE /apps/{app} 404", 1),
        ("GET /account/rate-limits 200", 1),
        ("GET /apps 401", 1),
        ("GET /apps 406", 1),
    ]
    .into_iter()
    .map(|(key, count)| (key.to_string(), count))
    .collect();
    assert_eq!(stats.by_status, expected);
    assert_eq!(stats.requests, 10);
    assert_eq!(
        (
            stats.list_pages,
            stats.deletes,
            stats.conflicts,
            stats.rate_limited
        ),
        (4, 1, 1, 0)
    );
    // Seven requests took a token: account, three pages, the team page, two DELETEs.
    assert_eq!((stats.min_remaining, stats.remaining), (4493, 4493));

    let served = request(&api.url, "GET", "/__sandbox/stats", &[]).json();
    assert_eq!(served, serde_json::to_value(&stats).unwrap());
}

#[test]
fn the_inspection_endpoint_lists_apps_and_deletions() {
    let (sandbox, api) = start_with_api(|_| {});
    let stale = app_named(&sandbox, Role::Stale);
    assert_eq!(api.delete(&format!("/apps/{stale}")).status, 200);
    let listing = request(&api.url, "GET", "/__sandbox/apps", &[]).json();
    let apps = listing["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 49);
    assert_eq!(listing["deleted"][0]["name"], stale.as_str());
    assert_eq!(listing["deleted"][0]["role"], "stale");
    assert_eq!(listing["deleting"], serde_json::json!([]));
    let roles: BTreeSet<&str> = apps.iter().filter_map(|app| app["role"].as_str()).collect();
    assert_eq!(
        roles,
        BTreeSet::from(["collaborator", "fresh", "other", "stale", "team"])
    );
    let team_app = apps.iter().find(|app| app["role"] == "team").unwrap();
    assert_eq!(team_app["team"], "hatchet-ci");
    assert_eq!(team_app["owner_id"], sandbox.team_id());
}

#[test]
fn the_same_seed_gives_the_same_apps() {
    let seeded = |seed: u64| {
        let (sandbox, api) = start_with_api(|options| options.seed.seed = seed);
        let (apps, _) = api.list_all("/apps", Some("name ..; max=1000"));
        let summary: Vec<(String, String, Role)> = sandbox
            .apps()
            .into_iter()
            .map(|app| (app.id, app.name, app.role))
            .collect();
        (names(&apps), summary, sandbox.account_id().to_string())
    };
    let first = seeded(7);
    assert_eq!(seeded(7), first);
    let other = seeded(8);
    assert_ne!(other.0, first.0);
    assert_ne!(other.2, first.2);
}

#[test]
fn latency_delays_each_response() {
    let (_sandbox, api) = start_with_api(|options| {
        options.server = Server {
            latency: Duration::from_millis(120),
            jitter: 0.5,
            ..Server::default()
        };
    });
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(api.get("/account").status, 200);
        assert!(
            started.elapsed() >= Duration::from_millis(60),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn added_apps_are_served_and_their_names_checked() {
    let (sandbox, api) = start_with_api(|options| options.seed = only_stale(0));
    let mine = sandbox.add_app(
        "hatchet-t-00000000aa",
        Duration::from_secs(3600),
        Role::Added,
    );
    let team = sandbox.add_team_app("hatchet-t-00000000bb", Duration::from_secs(60));
    let shared = sandbox.add_collaborator_app("hatchet-t-00000000cc", Duration::from_secs(60));
    assert_eq!(mine.owner_id, sandbox.account_id());
    assert_eq!(team.team.as_deref(), Some("hatchet-ci"));
    assert_eq!((team.role, shared.role), (Role::Team, Role::Collaborator));

    let served = api.get("/apps/hatchet-t-00000000aa").json();
    assert_eq!(served["id"], mine.id.as_str());
    let created: chrono::DateTime<chrono::Utc> =
        served["created_at"].as_str().unwrap().parse().unwrap();
    let age = chrono::Utc::now() - created;
    assert!((3600..3610).contains(&age.num_seconds()), "{age}");
    assert_eq!(api.delete("/apps/hatchet-t-00000000cc").status, 403);

    let add = |name: &'static str| {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            sandbox.add_app(name, Duration::ZERO, Role::Added)
        }))
    };
    assert!(
        add("hatchet-t-00000000aa").is_err(),
        "a second app of one name"
    );
    assert!(add("Not_A_Name").is_err(), "a name Heroku refuses");
    assert_eq!(sandbox.apps().len(), 3);
}

#[test]
fn listens_on_loopback_only_and_stops() {
    let (sandbox, api) = start_with_api(|_| {});
    let url = sandbox.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert_eq!(api.get("/account").status, 200);

    // The port is taken while it serves.
    let taken = Sandbox::start(Options {
        port,
        ..Options::default()
    });
    let error = taken
        .err()
        .expect("a second sandbox on the same port fails");
    assert!(
        error
            .to_string()
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{error}"
    );

    sandbox.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn refuses_options_it_cannot_honour() {
    let error = Sandbox::start(Options {
        token: "has spaces".into(),
        ..Options::default()
    })
    .err()
    .expect("refused");
    assert!(error.to_string().contains("`--token`"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn starts_and_stops_inside_another_runtime() {
    let (sandbox, api) = start_with_api(|_| {});
    let reply = tokio::task::spawn_blocking(move || api.get("/account"))
        .await
        .expect("the request");
    assert_eq!(reply.status, 200);
    drop(sandbox);
}

/// The pipeline of a seeded app (they share its name).
fn pipeline_of(api: &Api, app: &str) -> Value {
    let (pipelines, _) = api.list_all("/pipelines", Some("name ..; max=1000"));
    pipelines
        .into_iter()
        .find(|pipeline| pipeline["name"] == app)
        .unwrap_or_else(|| panic!("no pipeline named {app}"))
}

#[test]
fn pipelines_and_couplings_follow_the_schema() {
    let (sandbox, api) = start_with_api(|_| {});
    let schema = Schema::load();

    let (pipelines, _) = api.list_all("/pipelines", None);
    // A pipeline for each of the 30 stale and 10 fresh apps, and 3 orphans.
    assert_eq!(pipelines.len(), 43);
    for pipeline in &pipelines {
        schema.assert_follows("pipeline", pipeline);
        assert_eq!(pipeline["owner"]["id"], sandbox.account_id());
        assert_eq!(pipeline["owner"]["type"], "user");
    }
    let stale = sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == Role::Stale)
        .unwrap();
    let pipeline = pipeline_of(&api, &stale.name);
    let id = pipeline["id"].as_str().unwrap();
    let reply = api.get(&format!("/pipelines/{id}/pipeline-couplings"));
    assert_eq!(reply.status, 200);
    let couplings = reply.json();
    let couplings = couplings.as_array().expect("a list");
    assert_eq!(couplings.len(), 1);
    schema.assert_follows("pipeline-coupling", &couplings[0]);
    assert_eq!(couplings[0]["app"]["id"], stale.id.as_str());
    assert_eq!(couplings[0]["pipeline"]["id"], id);

    let deleted = api.delete(&format!("/pipelines/{id}"));
    assert_eq!(deleted.status, 200);
    schema.assert_follows("pipeline", &deleted.json());
    let team = api.get("/teams/hatchet-ci");
    assert_eq!(team.status, 200);
    let violations = schema.violations(schema.definition("team"), &team.json(), "team");
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(team.json()["id"], sandbox.team_id());
}

#[test]
fn pipelines_page_like_apps() {
    let (_sandbox, api) = start_with_api(|_| {});
    let (all, pages) = api.list_all("/pipelines", Some("id ..; max=20"));
    assert_eq!(pages, [(206, 20), (206, 20), (200, 3)]);
    let (by_name, _) = api.list_all("/pipelines", Some("name ..; max=1000"));
    assert_eq!(all.len(), by_name.len());
    let names = names(&by_name);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn deleting_an_app_uncouples_it_but_its_pipeline_stays() {
    let (sandbox, api) = start_with_api(|_| {});
    let stale = app_named(&sandbox, Role::Stale);
    let pipeline = pipeline_of(&api, &stale);
    let couplings = format!(
        "/pipelines/{}/pipeline-couplings",
        pipeline["id"].as_str().unwrap()
    );
    assert_eq!(api.get(&couplings).json().as_array().unwrap().len(), 1);
    assert_eq!(api.delete(&format!("/apps/{stale}")).status, 200);
    assert_eq!(api.get(&couplings).json(), serde_json::json!([]));
    assert!(
        sandbox
            .pipelines()
            .iter()
            .any(|p| p.name == stale && p.apps.is_empty())
    );
}

#[test]
fn a_pipeline_delete_answers_200_then_404_and_takes_its_couplings() {
    let (sandbox, api) = start_with_api(|_| {});
    let fresh = sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == Role::Fresh)
        .unwrap();
    let id = pipeline_of(&api, &fresh.name)["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(api.delete(&format!("/pipelines/{id}")).status, 200);
    let again = api.delete(&format!("/pipelines/{id}"));
    assert_eq!((again.status, again.error_id()), (404, "not_found".into()));
    let couplings = api.get(&format!("/pipelines/{id}/pipeline-couplings"));
    assert_eq!(couplings.status, 404);
    assert_eq!(api.delete("/pipelines/never-existed").status, 404);
    // The app stays, uncoupled.
    assert!(sandbox.apps().iter().any(|app| app.id == fresh.id));
    assert!(
        sandbox
            .pipelines()
            .iter()
            .all(|p| !p.apps.contains(&fresh.id))
    );
    assert_eq!(sandbox.deleted_pipelines()[0].name, fresh.name);
    let stats = sandbox.stats();
    assert_eq!((stats.pipeline_deletes, stats.pipeline_conflicts), (1, 1));
    assert_eq!(stats.by_status["DELETE /pipelines/{pipeline} 200"], 1);
    assert_eq!(stats.by_status["DELETE /pipelines/{pipeline} 404"], 2);
    assert_eq!(stats.deletes, 0);
}

#[test]
fn added_pipelines_are_served_and_coupled() {
    let (sandbox, api) = start_with_api(|options| {
        options.seed.coupled_pipelines = false;
        options.seed.orphan_pipelines = 0;
    });
    assert!(sandbox.pipelines().is_empty());
    let app = sandbox.add_app("hatchet-t-0a0a0a0a0a", Duration::from_secs(60), Role::Added);
    let pipeline = sandbox.add_pipeline("hatchet-t-0a0a0a0a0a", Duration::from_secs(90));
    sandbox.couple(&pipeline.id, &app.id);
    let (pipelines, _) = api.list_all("/pipelines", None);
    assert_eq!(names(&pipelines), ["hatchet-t-0a0a0a0a0a"]);
    let age = chrono::Utc::now() - pipeline.created_at;
    assert!((89..=92).contains(&age.num_seconds()), "{age}");
    assert_eq!(sandbox.pipelines()[0].apps, [app.id.as_str()]);
    let reply = std::panic::catch_unwind(AssertUnwindSafe(|| {
        sandbox.add_pipeline("Not A Name", Duration::ZERO)
    }));
    assert!(reply.is_err());
}

#[test]
fn a_skewed_clock_moves_the_date_header_and_the_apps_together() {
    let (sandbox, api) = start_with_api(|options| {
        options.seed = only_stale(1);
        options.server.clock_skew = chrono::Duration::days(-1);
    });
    let reply = api.get("/apps");
    let date = reply.header("Date").expect("a `Date` header");
    let date = chrono::DateTime::parse_from_rfc2822(date).expect("an HTTP date");
    let behind = chrono::Utc::now() - date.to_utc();
    assert!((86_399..86_430).contains(&behind.num_seconds()), "{behind}");
    // The app's age is the seed's by the sandbox's clock, not by the machine's.
    let created: chrono::DateTime<chrono::Utc> = reply.json()[0]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let age = (date.to_utc() - created).num_seconds();
    assert!((30 * 60..30 * 60 + 60).contains(&age), "{age}");
    sandbox.inject("GET /apps", heroku_sandbox::Fault::BadDate, 1);
    let garbled = api.get("/apps");
    assert!(chrono::DateTime::parse_from_rfc2822(garbled.header("Date").unwrap()).is_err());
    assert!(api.get("/account").header("Date").is_some());
}

#[test]
fn a_leaky_team_listing_also_serves_apps_not_the_teams() {
    let (sandbox, api) = start_with_api(|options| options.server.leaky_team_listing = true);
    let path = format!("/teams/{}/apps", sandbox.team_name());
    let (apps, _) = api.list_all(&path, None);
    assert_eq!(apps.len(), sandbox.apps().len());
    assert!(apps.iter().any(|app| app["team"].is_null()));
}
