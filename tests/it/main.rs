//! The integration tests: one binary, one module per part of the program.

mod sandbox;
mod support;
