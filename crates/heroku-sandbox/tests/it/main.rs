//! The sandbox's tests: one binary, one module per part of what it serves, each over
//! real HTTP on loopback, as a reaper, curl or the Heroku CLI sees it.

mod api;
mod apps_api;
mod heroku_cli;
mod support;
