//! A YAML (and so JSON) tree that remembers where every node was written,
//! so validation can point at the line and column of each mistake.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::RubricError;

/// A position in the source, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Line, 1-based.
    pub line: u32,
    /// Column, 1-based.
    pub column: u32,
}

/// One node of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `quoted` scalars are always strings.
    Scalar {
        /// The text as written (after unescaping).
        text: String,
        /// Whether it was quoted or a block scalar.
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, keys kept with their positions.
    Map(Vec<(Node, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
}

impl Node {
    /// A short name of the node's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar { text, quoted } => {
                if *quoted {
                    "a string"
                } else if is_null(text) {
                    "null"
                } else if text == "true" || text == "false" {
                    "a boolean"
                } else if text.parse::<f64>().is_ok() {
                    "a number"
                } else {
                    "a string"
                }
            }
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Whether a plain scalar spells YAML null.
pub fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn pos_of(mark: Marker) -> Pos {
    // yaml-rust2 markers are 1-based in line and 0-based in column.
    Pos {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
    }
}

/// Builds nodes from parser events.
#[derive(Default)]
struct Builder {
    stack: Vec<(Node, Option<Node>)>,
    root: Option<Node>,
    errors: Vec<RubricError>,
    documents: usize,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, pending_key)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match pending_key.take() {
                    Some(key) => entries.push((key, node)),
                    None => *pending_key = Some(node),
                },
                Value::Scalar { .. } => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let pos = pos_of(mark);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.errors.push(RubricError::new(
                        pos,
                        "",
                        "a rubric file holds exactly one document",
                    ));
                }
            }
            Event::Alias(_) => self.errors.push(RubricError::new(
                pos,
                "",
                "YAML aliases are not supported in rubrics; write the value out",
            )),
            Event::Scalar(text, style, _, _) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push_value(Node {
                    value: Value::Scalar { text, quoted },
                    pos,
                });
            }
            Event::SequenceStart(_, _) => self.stack.push((
                Node {
                    value: Value::Seq(Vec::new()),
                    pos,
                },
                None,
            )),
            Event::MappingStart(_, _) => self.stack.push((
                Node {
                    value: Value::Map(Vec::new()),
                    pos,
                },
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    self.push_value(node);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// Largest rubric document accepted, in bytes: the default rubric is about
/// 14 KB, so this leaves room for hundreds of checks and phrase lists.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Deepest nesting of lists and mappings accepted: a rubric needs about
/// eight levels; deeper documents are attacks or accidents.
pub const MAX_DEPTH: usize = 32;

/// Parses YAML or JSON text into a positioned tree; syntax errors come back with their position.
///
/// Size and nesting are bounded before any work grows with them; the parser
/// is driven event by event (its own `load` recurses once per level and can
/// overflow the stack on a deeply nested document).
pub fn parse(source: &str) -> Result<Node, Vec<RubricError>> {
    let start = Pos { line: 1, column: 1 };
    if source.len() > MAX_DOCUMENT_BYTES {
        return Err(vec![RubricError::new(
            start,
            "",
            format!(
                "the rubric is {} bytes; at most {MAX_DOCUMENT_BYTES} are accepted",
                source.len()
            ),
        )]);
    }
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(error) => {
                return Err(vec![RubricError::new(
                    pos_of(*error.marker()),
                    "",
                    format!("invalid YAML: {}", error.info()),
                )]);
            }
        };
        if event == Event::StreamEnd {
            break;
        }
        let opens = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        if opens && builder.stack.len() >= MAX_DEPTH {
            return Err(vec![RubricError::new(
                pos_of(mark),
                "",
                format!("lists and mappings are nested more than {MAX_DEPTH} levels deep"),
            )]);
        }
        builder.on_event(event, mark);
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    builder
        .root
        .ok_or_else(|| vec![RubricError::new(start, "", "the rubric is empty")])
}
