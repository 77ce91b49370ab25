//! Typed reading of a positioned tree: every type error, missing field and
//! unknown key is collected rather than stopping at the first.

use super::error::RubricError;
use super::yaml::{Node, Pos, Value, is_null};

/// Collects errors while a document is read.
#[derive(Debug, Default)]
pub struct Ctx {
    /// Errors so far, in document order of discovery.
    pub errors: Vec<RubricError>,
    /// Metric checks seen, checked against the settings they need once all is read.
    pub metric_uses: Vec<(Pos, String, crate::rubric::model::MetricName)>,
}

impl Ctx {
    /// Records an error.
    pub fn error(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.errors.push(RubricError::new(pos, path, message));
    }
}

/// Joins a path and a key.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a path and an index.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Reads a mapping key by key, then reports keys nobody asked for.
pub struct MapReader<'a> {
    node: &'a Node,
    path: String,
    entries: &'a [(Node, Node)],
    used: Vec<bool>,
    known: Vec<&'static str>,
}

impl<'a> MapReader<'a> {
    /// Opens a mapping; reports a type error or duplicate keys.
    pub fn open(ctx: &mut Ctx, node: &'a Node, path: &str) -> Option<Self> {
        let Value::Map(entries) = &node.value else {
            ctx.error(
                node.pos,
                path,
                format!("expected a mapping, found {}", node.type_name()),
            );
            return None;
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            let Some(name) = scalar_text(key) else {
                ctx.error(key.pos, path, "mapping keys must be plain strings");
                continue;
            };
            if entries[..i]
                .iter()
                .any(|(earlier, _)| scalar_text(earlier) == Some(name))
            {
                ctx.error(
                    key.pos,
                    &join(path, name),
                    format!("duplicate key `{name}`"),
                );
            }
        }
        Some(MapReader {
            node,
            path: path.to_owned(),
            entries,
            used: vec![false; entries.len()],
            known: Vec::new(),
        })
    }

    /// The path of a key of this mapping.
    pub fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The path of the mapping itself.
    pub fn base_path(&self) -> &str {
        &self.path
    }

    /// Where the mapping starts.
    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    /// The value of an optional key; an explicit null counts as absent.
    pub fn optional(&mut self, key: &'static str) -> Option<&'a Node> {
        self.known.push(key);
        let i = self
            .entries
            .iter()
            .position(|(k, _)| scalar_text(k) == Some(key))?;
        self.used[i] = true;
        let value = &self.entries[i].1;
        match &value.value {
            Value::Scalar {
                text,
                quoted: false,
            } if is_null(text) => None,
            _ => Some(value),
        }
    }

    /// The value of a required key; reports it when missing.
    pub fn required(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<&'a Node> {
        let value = self.optional(key);
        if value.is_none() {
            ctx.error(
                self.node.pos,
                &self.path(key),
                format!("missing required field `{key}`"),
            );
        }
        value
    }

    /// Whether a key is present (without marking it read).
    pub fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, _)| scalar_text(k) == Some(key))
    }

    /// Reports every key that was never asked for, with the nearest known key as a hint.
    pub fn finish(self, ctx: &mut Ctx) {
        for (i, (key, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let Some(name) = scalar_text(key) else {
                continue;
            };
            let hint = self
                .known
                .iter()
                .map(|k| (levenshtein(k, name), *k))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            let mut expected = self.known.clone();
            expected.sort_unstable();
            expected.dedup();
            ctx.error(
                key.pos,
                &join(&self.path, name),
                format!(
                    "unknown key `{name}`{hint}; expected one of: {}",
                    expected.join(", ")
                ),
            );
        }
    }
}

/// The text of a scalar, if the node is one.
pub fn scalar_text(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Scalar { text, .. } => Some(text),
        _ => None,
    }
}

/// Reads a non-empty string.
pub fn string(ctx: &mut Ctx, node: &Node, path: &str) -> Option<String> {
    match &node.value {
        Value::Scalar { text, quoted } if *quoted || !is_null(text) => {
            if text.trim().is_empty() {
                ctx.error(node.pos, path, "must not be empty");
                None
            } else {
                Some(text.clone())
            }
        }
        _ => {
            ctx.error(
                node.pos,
                path,
                format!("expected a string, found {}", node.type_name()),
            );
            None
        }
    }
}

/// Reads a finite number.
pub fn number(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    if let Value::Scalar {
        text,
        quoted: false,
    } = &node.value
        && let Ok(value) = text.parse::<f64>()
        && value.is_finite()
    {
        return Some(value);
    }
    ctx.error(
        node.pos,
        path,
        format!("expected a number, found {}", node.type_name()),
    );
    None
}

/// Reads a non-negative integer.
pub fn unsigned(ctx: &mut Ctx, node: &Node, path: &str) -> Option<u64> {
    if let Value::Scalar {
        text,
        quoted: false,
    } = &node.value
        && let Ok(value) = text.parse::<u64>()
    {
        return Some(value);
    }
    ctx.error(
        node.pos,
        path,
        format!(
            "expected a non-negative integer, found {}",
            describe_scalar(node)
        ),
    );
    None
}

/// Reads a boolean.
pub fn boolean(ctx: &mut Ctx, node: &Node, path: &str) -> Option<bool> {
    match &node.value {
        Value::Scalar {
            text,
            quoted: false,
        } if text == "true" => Some(true),
        Value::Scalar {
            text,
            quoted: false,
        } if text == "false" => Some(false),
        _ => {
            ctx.error(
                node.pos,
                path,
                format!("expected true or false, found {}", describe_scalar(node)),
            );
            None
        }
    }
}

/// Reads a list, calling `item` with each element and its path.
pub fn list<'a, T>(
    ctx: &mut Ctx,
    node: &'a Node,
    path: &str,
    mut item: impl FnMut(&mut Ctx, &'a Node, &str) -> Option<T>,
) -> Option<Vec<(T, &'a Node)>> {
    let Value::Seq(items) = &node.value else {
        ctx.error(
            node.pos,
            path,
            format!("expected a list, found {}", node.type_name()),
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, child) in items.iter().enumerate() {
        match item(ctx, child, &index(path, i)) {
            Some(value) => out.push((value, child)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn describe_scalar(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, .. } if text.chars().count() <= 40 => {
            format!("{} `{text}`", node.type_name())
        }
        _ => node.type_name().to_owned(),
    }
}

/// Plain edit distance, used only for "did you mean" hints.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
