//! Who is calling: API tokens, browser sessions with CSRF protection, agent credentials.
//!
//! Architecture invariant: handlers never look at credentials themselves. They take a
//! [`Caller`] (users) or an [`Agent`] (agents) argument, and the scope of everything they may
//! read or write comes from it.

mod caller;
mod secret;

pub use caller::{Agent, Caller, SESSION_COOKIE, Via, cookie};
pub use secret::{Secret, hash_password, hash_secret, verify_password};
