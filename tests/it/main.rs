//! The integration tests: one binary, one module per part of the program. Each drives
//! the real `heroku-reaper` binary, or the sandbox, over real HTTP on loopback.

mod action;
mod apps_api;
mod failures;
mod fake_github;
mod faults;
mod github;
mod github_mode;
mod heroku_cli;
mod install;
mod many;
mod pipelines;
mod reap;
mod reaper;
mod runner;
mod sandbox;
mod secrets;
#[cfg(unix)]
mod signals;
mod soak;
mod support;
mod usage;
