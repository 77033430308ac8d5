//! The web dashboard served by the agent (placeholder until the pages land
//! from the web-pages branch): access (`session`, `login`), live progress
//! (`events`) and actions (`actions`).

mod actions;
pub mod events;
mod login;
mod page;
pub mod session;

use crate::agent::Agent;
use axum::Router;
use std::sync::Arc;

/// What a page may show its visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Everything.
    Full,
    /// What `/api/health` shows an anonymous caller.
    Anonymous,
}

pub use session::Client;

/// The CSRF token of the visitor's session, put in the request's
/// extensions by the access layer; forms carry it in a `csrf` field.
#[derive(Debug, Clone, Default)]
pub struct Csrf(pub String);

/// The dashboard's routes.
pub fn routes(agent: Arc<Agent>) -> Router {
    session::with_access(agent, Router::new())
}
