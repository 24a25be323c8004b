//! Reading the text files the collectors parse, and blaming a parse failure on its file.

use std::io::ErrorKind;
use std::path::Path;
use std::str::FromStr;

use crate::Error;

/// Why a text could not be parsed. It knows no path: parsers see only text, and the reading
/// side adds the path when it turns this into an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A line (numbered from 1) that does not have the shape its source documents.
    Line { line: usize, reason: String },
    /// A field every supported kernel provides is absent.
    Missing { field: &'static str },
}

impl ParseError {
    pub(crate) fn line(line: usize, reason: impl Into<String>) -> Self {
        ParseError::Line { line, reason: reason.into() }
    }

    pub(crate) fn at(self, path: &Path) -> Error {
        let path = path.to_owned();
        match self {
            ParseError::Line { line, reason } => Error::Parse { path, line, reason },
            ParseError::Missing { field } => Error::MissingField { path, field },
        }
    }
}

/// The lines of `text` with their numbers, counted from 1 as editors and error messages do.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(index, line)| (index + 1, line))
}

/// `text` as a number, or an error that names the line and what the number stands for.
pub(crate) fn parse_number<T: FromStr>(line: usize, what: &str, text: &str) -> Result<T, ParseError> {
    text.parse().map_err(|_| ParseError::line(line, format!("{what}: expected a number, got {text:?}")))
}

/// The whole file as text. Invalid UTF-8 is replaced rather than refused: a stray byte in one
/// interface or mount name must not cost every other value of the file.
pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Like [`read_text`], for files a host may legitimately lack.
pub(crate) fn read_text_if_exists(path: &Path) -> Result<Option<String>, Error> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(Error::Read { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
        Err(other) => Err(other),
    }
}

pub(crate) fn parse_file<T>(path: &Path, parse: impl FnOnce(&str) -> Result<T, ParseError>) -> Result<T, Error> {
    parse(&read_text(path)?).map_err(|error| error.at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_file() {
        let path = Path::new("/proc/meminfo");
        let line = ParseError::line(3, "bad").at(path);
        assert_eq!(line.to_string(), "/proc/meminfo:3: bad");
        let missing = ParseError::Missing { field: "MemTotal" }.at(path);
        assert_eq!(missing.to_string(), "/proc/meminfo: no MemTotal");
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(parse_number::<u64>(1, "x", "42"), Ok(42));
        assert_eq!(
            parse_number::<u64>(7, "MemTotal", "-1"),
            Err(ParseError::line(7, "MemTotal: expected a number, got \"-1\""))
        );
    }

    #[test]
    fn a_missing_optional_file_is_none_and_a_missing_required_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent");
        assert!(read_text_if_exists(&absent).unwrap().is_none());
        assert!(matches!(read_text(&absent), Err(Error::Read { .. })));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mounts");
        std::fs::write(&file, b"/dev/sda1 /mnt/caf\xe9 ext4 rw 0 0\n").unwrap();
        assert_eq!(read_text(&file).unwrap(), "/dev/sda1 /mnt/caf\u{fffd} ext4 rw 0 0\n");
    }
}
