//! The example workflows as a Hatchet-tested repository would commit them: each job that
//! runs Hatchet gets the environment Hatchet reads, sets up with `hatchet ci:setup`
//! before its specs, uses every value of its matrix, and keeps the `HATCHET_APP_LIMIT`
//! that docs/hatchet.md advises.

use std::collections::BTreeMap;

use yaml_rust2::{Yaml, YamlLoader};

use crate::docs::read_text;

const EXAMPLES: [&str; 4] = [
    "examples/cleanup-job.yml",
    "examples/matrix-pre-step.yml",
    "examples/daily-cleanup.yml",
    "examples/room-for-the-run.yml",
];

/// What Hatchet 8.x reads from a test job's environment, and where (heroku/hatchet).
const HATCHET_READS: [(&str, &str); 4] = [
    (
        "HEROKU_API_KEY",
        "etc/ci_setup.rb writes it to ~/.netrc; lib/hatchet/app.rb `App#api_key` sends it",
    ),
    (
        "HEROKU_API_USER",
        "etc/ci_setup.rb, `ENV.fetch`: `hatchet ci:setup` raises a KeyError without it",
    ),
    (
        "HATCHET_APP_LIMIT",
        "lib/hatchet/reaper.rb, `Reaper::HATCHET_APP_LIMIT`: 20 when unset",
    ),
    (
        "HATCHET_DEFAULT_STACK",
        "lib/hatchet/app.rb: the stack of an App given none (spec/hatchet/app_spec.rb)",
    ),
];

/// What the parallel_split_test gem reads: how many processes share a job's specs.
const SPLIT_PROCESSES: &str = "PARALLEL_SPLIT_TEST_PROCESSES";

/// Names that look meaningful and that nothing reads (Hatchet's stack is
/// `HATCHET_DEFAULT_STACK`).
const READ_BY_NOTHING: [&str; 1] = ["STACK"];

/// The most apps an account or a team holds: `HATCHET_APP_LIMIT` must stay within it.
const ACCOUNT_LIMIT: u64 = 100;

fn load(path: &str) -> Yaml {
    YamlLoader::load_from_str(&read_text(path))
        .unwrap_or_else(|error| panic!("{path} is not YAML: {error}"))
        .remove(0)
}

/// The `env:` of a workflow, a job or a step, as name and value.
fn env(node: &Yaml) -> BTreeMap<String, String> {
    let Some(map) = node["env"].as_hash() else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(name, value)| {
            let value = match value {
                Yaml::Integer(n) => n.to_string(),
                other => other.as_str().unwrap_or_default().to_string(),
            };
            (name.as_str().unwrap().to_string(), value)
        })
        .collect()
}

/// Every string in a YAML tree: values, and keys too.
fn strings(node: &Yaml, found: &mut Vec<String>) {
    match node {
        Yaml::String(text) => found.push(text.clone()),
        Yaml::Array(items) => items.iter().for_each(|item| strings(item, found)),
        Yaml::Hash(map) => map.iter().for_each(|(key, value)| {
            strings(key, found);
            strings(value, found);
        }),
        _ => {}
    }
}

fn runs_specs(script: &str) -> bool {
    script.contains("parallel_split_test") || script.contains("rspec")
}

/// Checks one job that runs Hatchet; gives its `HATCHET_APP_LIMIT`.
fn check_hatchet_job(path: &str, name: &str, workflow: &Yaml, job: &Yaml) -> u64 {
    let steps = job["steps"].as_vec().expect("steps");
    let script = |step: &Yaml| step["run"].as_str().unwrap_or_default().to_string();
    let setup = steps
        .iter()
        .position(|step| script(step).contains("bundle exec hatchet ci:setup"));
    let specs = steps.iter().position(|step| runs_specs(&script(step)));
    let (Some(setup), Some(specs)) = (setup, specs) else {
        panic!("{path}, job {name}: no `bundle exec hatchet ci:setup` step, or no specs");
    };
    assert!(
        setup < specs,
        "{path}, job {name}: the specs run before ci:setup"
    );
    let mut limit = None;
    for step in [&steps[setup], &steps[specs]] {
        let mut seen = env(workflow);
        seen.extend(env(job));
        seen.extend(env(step));
        for (variable, source) in HATCHET_READS {
            let value = seen.get(variable).map(String::as_str).unwrap_or_default();
            assert!(
                !value.is_empty(),
                "{path}, job {name}: Hatchet reads `{variable}` ({source}), and it is not set"
            );
        }
        for variable in ["HEROKU_API_KEY", "HEROKU_API_USER"] {
            assert_eq!(
                seen[variable],
                format!("${{{{ secrets.{variable} }}}}"),
                "{path}, job {name}"
            );
        }
        for variable in READ_BY_NOTHING {
            assert!(
                !seen.contains_key(variable),
                "{path}, job {name}: nothing reads `{variable}`"
            );
        }
        if script(step).contains("parallel_split_test") {
            let processes: u64 = seen[SPLIT_PROCESSES].parse().unwrap_or_else(|_| {
                panic!("{path}, job {name}: `{SPLIT_PROCESSES}` is not a number")
            });
            assert!(processes > 1, "{path}, job {name}");
        }
        limit = seen["HATCHET_APP_LIMIT"].parse().ok();
    }
    let limit = limit.unwrap_or_else(|| panic!("{path}, job {name}: a HATCHET_APP_LIMIT"));
    assert!(
        limit <= ACCOUNT_LIMIT,
        "{path}, job {name}: HATCHET_APP_LIMIT {limit} is over any account's {ACCOUNT_LIMIT}: \
         Hatchet would never sleep before the account is full"
    );
    limit
}

/// Every key of the job's matrix reaches a step: an env value, an input or a script.
fn check_matrix_is_used(path: &str, name: &str, job: &Yaml) {
    let Some(matrix) = job["strategy"]["matrix"].as_hash() else {
        return;
    };
    let mut used = Vec::new();
    strings(&job["env"], &mut used);
    strings(&job["steps"], &mut used);
    for key in matrix.keys().filter_map(Yaml::as_str) {
        assert!(
            used.iter()
                .any(|text| text.contains(&format!("matrix.{key}"))),
            "{path}, job {name}: the matrix's `{key}` values are used by no step, so each job \
             runs the same"
        );
    }
}

#[test]
fn each_example_gives_hatchet_what_it_reads() {
    let advice = read_text("docs/hatchet.md");
    let mut hatchet_jobs = 0;
    for path in EXAMPLES {
        let workflow = load(path);
        for (name, job) in workflow["jobs"].as_hash().expect("jobs") {
            let name = name.as_str().unwrap();
            check_matrix_is_used(path, name, job);
            let steps = job["steps"].as_vec().expect("steps");
            let runs_hatchet = steps.iter().any(|step| {
                let script = step["run"].as_str().unwrap_or_default();
                script.contains("hatchet ") || runs_specs(script)
            });
            if !runs_hatchet {
                continue;
            }
            hatchet_jobs += 1;
            let limit = check_hatchet_job(path, name, &workflow, job);
            assert!(
                advice.contains(&format!("`HATCHET_APP_LIMIT: {limit}`")),
                "{path}, job {name}: docs/hatchet.md does not advise its HATCHET_APP_LIMIT {limit}"
            );
        }
    }
    // The cleanup job, matrix pre-step and room examples; the daily cleanup runs no Ruby.
    assert_eq!(hatchet_jobs, 3);
}

/// The checks fail on what the examples used to hold: a stack Hatchet does not read, a
/// matrix value no step uses, and no `HEROKU_API_USER` for `ci:setup`.
#[test]
fn the_checks_catch_a_job_hatchet_cannot_run() {
    let broken = r#"
jobs:
  test:
    strategy:
      matrix:
        stack: [heroku-22, heroku-24]
        group: [1, 2, 3]
    env:
      HEROKU_API_KEY: ${{ secrets.HEROKU_API_KEY }}
      HATCHET_APP_LIMIT: 12
    steps:
      - run: bundle exec hatchet ci:setup
      - run: bundle exec rspec
        env:
          STACK: ${{ matrix.stack }}
"#;
    let workflow = YamlLoader::load_from_str(broken).unwrap().remove(0);
    let job = &workflow["jobs"]["test"];
    let unused = std::panic::catch_unwind(|| check_matrix_is_used("broken", "test", job));
    let message = *unused.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("`group` values are used by no step"),
        "{message}"
    );
    let missing = std::panic::catch_unwind(|| check_hatchet_job("broken", "test", &workflow, job));
    let message = *missing.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("`HEROKU_API_USER`"), "{message}");
}
