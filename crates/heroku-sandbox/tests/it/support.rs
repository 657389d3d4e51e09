//! Helpers of the sandbox's tests: polling until a condition holds, a sandbox started
//! with its client, and a checker for values against Heroku's Platform API JSON schema
//! (vendored in the main crate's `tests/fixtures/`, read from there).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use heroku_sandbox::wire::Api;
use heroku_sandbox::{Options, Role, Sandbox};
use serde_json::Value;

/// Polls `check` until it holds, failing after five seconds.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < give_up, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|group| {
            group
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// A sandbox with the default options changed by `configure`, and a client for it.
pub fn start_with_api(configure: impl FnOnce(&mut Options)) -> (Sandbox, Api) {
    let mut options = Options::default();
    configure(&mut options);
    let sandbox = Sandbox::start(options).expect("the sandbox starts");
    let api = Api::new(&sandbox);
    (sandbox, api)
}

/// The name of a seeded app of `role`.
pub fn app_named(sandbox: &Sandbox, role: Role) -> String {
    sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == role)
        .unwrap_or_else(|| panic!("a seeded {role:?} app"))
        .name
}

/// Heroku's Platform API JSON schema, vendored in the main crate's `tests/fixtures/`
/// (see its README).
pub struct Schema {
    root: Value,
}

impl Schema {
    pub fn load() -> Schema {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/heroku-platform-api-schema.json"
        );
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {path}: {error}"));
        Schema {
            root: serde_json::from_str(&text).expect("the schema is JSON"),
        }
    }

    /// `definitions.<name>`.
    pub fn definition(&self, name: &str) -> &Value {
        &self.root["definitions"][name]
    }

    /// The property names of `definitions.<name>`.
    pub fn property_names(&self, name: &str) -> BTreeSet<String> {
        self.definition(name)["properties"]
            .as_object()
            .expect("the definition has properties")
            .keys()
            .cloned()
            .collect()
    }

    /// `value` breaks no rule of `definitions.<definition>` and has every property it lists.
    pub fn assert_follows(&self, definition: &str, value: &Value) {
        let keys: BTreeSet<String> = value
            .as_object()
            .unwrap_or_else(|| panic!("an object: {value}"))
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, self.property_names(definition), "{value}");
        let violations = self.violations(self.definition(definition), value, definition);
        assert!(violations.is_empty(), "{violations:#?}");
    }

    /// Every way `value` breaks `schema`, each as `path: what`.
    pub fn violations(&self, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let schema = self.resolve(schema);
        let mut found = Vec::new();
        if let Some(choices) = schema["anyOf"].as_array()
            && !choices
                .iter()
                .any(|choice| self.violations(choice, value, path).is_empty())
        {
            found.push(format!("{path}: matches none of `anyOf`"));
        }
        if let Some(types) = types_of(schema)
            && !types.iter().any(|kind| has_type(value, kind))
        {
            found.push(format!("{path}: {value} is not of type {types:?}"));
        }
        if let Some(text) = value.as_str() {
            if let Some(format) = schema["format"].as_str()
                && !has_format(text, format)
            {
                found.push(format!("{path}: {text:?} is not a {format}"));
            }
            if let Some(pattern) = schema["pattern"].as_str() {
                match regex::Regex::new(pattern) {
                    Ok(regex) if regex.is_match(text) => {}
                    Ok(_) => found.push(format!("{path}: {text:?} does not match {pattern}")),
                    Err(error) => found.push(format!("{path}: cannot check {pattern}: {error}")),
                }
            }
        }
        if let (Some(object), Some(properties)) =
            (value.as_object(), schema["properties"].as_object())
        {
            for (key, item) in object {
                match properties.get(key) {
                    Some(property) => {
                        found.extend(self.violations(property, item, &format!("{path}.{key}")))
                    }
                    None => found.push(format!("{path}.{key}: not a property of the schema")),
                }
            }
            if schema["strictProperties"] == Value::Bool(true) {
                for key in properties.keys().filter(|key| !object.contains_key(*key)) {
                    found.push(format!("{path}.{key}: missing"));
                }
            }
        }
        found
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(reference) = schema["$ref"].as_str() {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local references: {reference}"));
            schema = self
                .root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} resolves to nothing"));
        }
        schema
    }
}

fn types_of(schema: &Value) -> Option<Vec<&str>> {
    match &schema["type"] {
        Value::String(kind) => Some(vec![kind.as_str()]),
        Value::Array(kinds) => Some(kinds.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => panic!("unknown JSON type {kind} in the schema"),
    }
}

fn has_format(text: &str, format: &str) -> bool {
    match format {
        "uuid" => is_uuid(text),
        // The schema's examples are all `2012-01-01T12:00:00Z`; the sandbox serves that form.
        "date-time" => {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").is_ok()
                && text.len() == "2012-01-01T12:00:00Z".len()
        }
        "email" => text
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.')),
        "uri" => text.starts_with("https://") || text.starts_with("http://"),
        _ => panic!("no check for the format {format}"),
    }
}
