/// Everything the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The cause is part of the message, not a `source`: this is the one line an operator sees,
    // and chained printing would repeat it.
    #[error("cannot open the database {target}: {cause}")]
    Open { target: String, cause: sqlx::Error },
    #[error(
        "the database has schema version {found}, newer than this tend knows ({known}); \
         run a tend release at least as new as the one that last wrote it"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("migration {version} failed: {cause}")]
    Migration { version: i64, cause: sqlx::Error },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Refused(#[from] tend_core::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// Turns a unique-constraint violation into a conflict with a message for the caller.
    pub(crate) fn conflict_or(source: sqlx::Error, message: impl FnOnce() -> String) -> Error {
        match &source {
            sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(message()),
            _ => Error::Database(source),
        }
    }
}
