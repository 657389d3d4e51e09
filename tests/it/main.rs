//! The integration tests: one binary, one module per part of the program. Each drives
//! the real `heroku-reaper` binary, or the sandbox, over real HTTP on loopback.

mod action;
mod bounds;
mod deadline;
mod docs;
mod examples;
#[cfg(unix)]
mod exit_codes;
mod failures;
mod fake_github;
mod faults;
mod files;
mod github;
mod github_mode;
mod hostile;
mod install;
mod known;
mod listing;
mod many;
mod modules;
mod network;
mod others;
mod output;
mod pipelines;
mod pipes;
mod reap;
mod reaper;
mod release;
mod room;
mod runner;
mod sandbox;
mod secrets;
#[cfg(unix)]
mod signals;
mod soak;
mod support;
mod usage;
mod workflows;
