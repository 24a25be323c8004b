//! Exit codes that mean something to scripts, chosen from the error that ended the command.

use std::process::ExitCode;

/// An HTTP answer the server refused with, carrying its problem document's detail.
#[derive(Debug, thiserror::Error)]
#[error("{detail} ({status})")]
pub struct Refused {
    pub status: u16,
    pub detail: String,
}

/// The server or database could not be reached at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// The command needs a login first.
#[derive(Debug, thiserror::Error)]
#[error("not logged in: run `tend login --server URL --user NAME` first")]
pub struct NotLoggedIn;

pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_ALLOWED: u8 = 3;
pub const NOT_FOUND: u8 = 4;
pub const UNREACHABLE: u8 = 5;
pub const REFUSED: u8 = 6;

/// Walks the error chain for the first cause that decides the code.
pub fn code(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return ExitCode::from(match refused.status {
                401 | 403 => NOT_ALLOWED,
                404 => NOT_FOUND,
                400 | 409 | 413 | 422 => REFUSED,
                _ => FAILURE,
            });
        }
        if cause.is::<Unreachable>() {
            return ExitCode::from(UNREACHABLE);
        }
        if cause.is::<NotLoggedIn>() {
            return ExitCode::from(NOT_ALLOWED);
        }
        // The server's store errors are transparent: look through them by type.
        let store = cause.downcast_ref::<tend_store::Error>().or(match cause.downcast_ref() {
            Some(tend_server::Error::Store(store)) => Some(store),
            _ => None,
        });
        if matches!(store, Some(tend_store::Error::Open { .. })) {
            return ExitCode::from(UNREACHABLE);
        }
        if let Some(agent) = cause.downcast_ref::<tend_agent::Error>() {
            return ExitCode::from(match agent {
                tend_agent::Error::Unauthorized(_) | tend_agent::Error::NotEnrolled(_) => NOT_ALLOWED,
                tend_agent::Error::Unreachable(_) => UNREACHABLE,
                tend_agent::Error::Rejected { status: 403, .. } => NOT_ALLOWED,
                tend_agent::Error::Rejected { .. } => REFUSED,
                _ => FAILURE,
            });
        }
    }
    ExitCode::from(FAILURE)
}
