//! heroku-reaper: deletes the throwaway Heroku apps that test suites leak.

pub mod cli;
pub mod duration;
pub mod sandbox;
