//! Reading members out of a JSON document whose shape is not guaranteed: a member of the wrong
//! type is noted, with where it sits, and reading goes on without it.

use serde_json::Value;

/// A JSON value and where it sits in the document, so that a problem can name it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node<'v> {
    pub value: &'v Value,
    /// e.g. `ata_smart_attributes.table[3]`; empty for the document itself.
    pub at: &'v str,
}

/// Reads members out of the document, noting each one of the wrong type instead of giving up.
#[derive(Debug, Default)]
pub(super) struct Reader {
    pub problems: Vec<String>,
}

impl Reader {
    /// The value at `path` below `node`; `None` when the document does not have it.
    pub fn get<'v>(&mut self, node: Node<'v>, path: &[&str]) -> Option<&'v Value> {
        let mut value = node.value;
        for (depth, key) in path.iter().enumerate() {
            let Value::Object(members) = value else {
                return self.wrong(node, &path[..depth], "an object", value);
            };
            value = members.get(*key)?;
        }
        Some(value)
    }

    pub fn text(&mut self, node: Node, path: &[&str]) -> Option<String> {
        match self.get(node, path)? {
            Value::String(text) => Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
            other => self.wrong(node, path, "a string", other),
        }
    }

    pub fn count(&mut self, node: Node, path: &[&str]) -> Option<u64> {
        let value = self.get(node, path)?;
        value.as_u64().or_else(|| self.wrong(node, path, "a whole number of at least 0", value))
    }

    pub fn number(&mut self, node: Node, path: &[&str]) -> Option<f64> {
        let value = self.get(node, path)?;
        value.as_f64().or_else(|| self.wrong(node, path, "a number", value))
    }

    pub fn flag(&mut self, node: Node, path: &[&str]) -> Option<bool> {
        let value = self.get(node, path)?;
        value.as_bool().or_else(|| self.wrong(node, path, "true or false", value))
    }

    /// The elements of the array at `path`; none when it is absent or not an array.
    pub fn array<'v>(&mut self, node: Node<'v>, path: &[&str]) -> &'v [Value] {
        match self.get(node, path) {
            Some(Value::Array(elements)) => elements,
            Some(other) => {
                self.wrong::<()>(node, path, "an array", other);
                &[]
            }
            None => &[],
        }
    }

    /// Notes a value of the wrong type; `None` so that callers can return it as the value read.
    fn wrong<T>(&mut self, node: Node, path: &[&str], expected: &str, got: &Value) -> Option<T> {
        self.note(format!("{}: expected {expected}, got {}", place(node, path), describe(got)));
        None
    }

    /// Several members below one wrong value (all of `device.*` when `device` is a number) would
    /// each report it; once is enough.
    pub fn note(&mut self, problem: String) {
        if !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }
}

/// `temperature.current`, `ata_smart_attributes.table[3].raw.value`, or `the document`.
fn place(node: Node, path: &[&str]) -> String {
    let parts: Vec<&str> = Some(node.at).filter(|at| !at.is_empty()).into_iter().chain(path.iter().copied()).collect();
    if parts.is_empty() { "the document".to_owned() } else { parts.join(".") }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
