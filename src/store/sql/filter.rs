//! WHERE clauses with only the conditions a request uses, so each engine's
//! planner sees plain `column = $n` terms and picks the matching index
//! (`($n = '' OR column = $n)` hides the index from SQLite's planner).
//! Only constant fragments from this crate are concatenated; every value is
//! a bound parameter.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

/// A bound value.
pub(super) enum Param {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

/// A SELECT under construction.
pub(super) struct Filtered {
    sql: String,
    params: Vec<Param>,
}

impl Filtered {
    /// Starts from a constant `SELECT … WHERE` prefix whose own placeholders
    /// are `$1..=$n` for `params`.
    pub(super) fn new(prefix: &'static str, params: Vec<Param>) -> Self {
        Self {
            sql: prefix.to_string(),
            params,
        }
    }

    /// Appends `AND fragment`, where each `?` in the constant fragment takes
    /// the next of `params`.
    pub(super) fn and(&mut self, fragment: &'static str, params: Vec<Param>) -> &mut Self {
        self.sql.push_str(" AND ");
        let mut params = params.into_iter();
        for piece in fragment.split_inclusive('?') {
            match piece.strip_suffix('?') {
                Some(text) => {
                    self.sql.push_str(text);
                    if let Some(param) = params.next() {
                        self.params.push(param);
                        self.sql.push_str(&format!("${}", self.params.len()));
                    }
                }
                None => self.sql.push_str(piece),
            }
        }
        self
    }

    /// Appends a constant tail (ORDER BY …) with one `?` for `param`.
    pub(super) fn tail(&mut self, fragment: &'static str, param: Param) -> &mut Self {
        self.sql.push(' ');
        let (before, after) = fragment.split_once('?').unwrap_or((fragment, ""));
        self.sql.push_str(before);
        self.params.push(param);
        self.sql.push_str(&format!("${}", self.params.len()));
        self.sql.push_str(after);
        self
    }

    /// The query with every parameter bound.
    pub(super) fn build(self) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for param in self.params {
            query = match param {
                Param::Text(text) => query.bind(text),
                Param::Int(value) => query.bind(value),
                Param::Float(value) => query.bind(value),
            };
        }
        query
    }

    #[cfg(test)]
    fn sql(&self) -> &str {
        &self.sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut filtered = Filtered::new(
            "SELECT x FROM t WHERE tenant_id = $1",
            vec![Param::Text("t".into())],
        );
        filtered
            .and("agent_id = ?", vec![Param::Text("a".into())])
            .and(
                "(at < ? OR (at = ? AND id < ?))",
                vec![Param::Int(1), Param::Int(1), Param::Text("z".into())],
            )
            .tail("ORDER BY at DESC LIMIT ?", Param::Int(10));
        assert_eq!(
            filtered.sql(),
            "SELECT x FROM t WHERE tenant_id = $1 AND agent_id = $2 \
             AND (at < $3 OR (at = $4 AND id < $5)) ORDER BY at DESC LIMIT $6"
        );
        assert_eq!(filtered.params.len(), 6);
    }
}
