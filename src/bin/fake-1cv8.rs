//! Fake 1C platform for tests (see module docs when written).
fn main() {}
