//! Orchestration: setup, test, run, bench, demo.
fn main() {}
