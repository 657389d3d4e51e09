//! The integration tests: one binary, one module per part of the program. Each drives
//! the real `heroku-reaper` binary, or the sandbox, over real HTTP on loopback.

mod action;
mod failures;
mod github_mode;
mod install;
mod many;
mod reap;
mod reaper;
mod runner;
mod sandbox;
mod secrets;
mod support;
