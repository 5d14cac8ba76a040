//! Positions of YAML nodes by field path ("instances.vi_1.vrid", "x.list[2]"), so semantic
//! errors found after deserialisation can name the line and column of the offending value.
//!
//! serde_yaml gives positions only for its own errors; this walks the same text once more with
//! yaml-rust2's marked event parser. Paths use serde_path_to_error's syntax.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column in the configuration text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, counting from 1.
    pub line: usize,
    /// Column, counting from 1.
    pub column: usize,
}

/// Value and key positions of every node of one YAML document.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
    /// Paths whose value is a mapping or a sequence.
    collections: HashSet<String>,
    /// Keys written twice in one mapping: (path, position of the repeated key, first position).
    pub(crate) duplicates: Vec<(String, Position, Position)>,
}

enum Frame {
    /// `start` is the mapping's own mark until its first key is seen: yaml-rust2 marks a block
    /// mapping at the first ':', so the first key's position is used instead.
    Map {
        path: String,
        key: Option<String>,
        start: Option<Position>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    index: SpanIndex,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn position(mark: Marker) -> Position {
    // yaml-rust2 lines are 1-based and columns 0-based; report both 1-based like serde_yaml.
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl Builder {
    /// The path of the node starting now, or None when this node is a mapping key.
    fn child_path(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map {
                path, key: Some(k), ..
            }) => Some(join(path, k)),
            Some(Frame::Seq { path, index }) => Some(format!("{path}[{index}]")),
        }
    }

    /// A value node ended: the enclosing container moves on.
    fn advance(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = position(mark);
        match ev {
            Event::Scalar(text, ..) => match self.child_path() {
                None => {
                    if let Some(Frame::Map { path, key, start }) = self.stack.last_mut() {
                        if start.take().is_some() {
                            self.index.values.entry(path.clone()).or_insert(pos);
                        }
                        let full = join(path, &text);
                        match self.index.keys.get(&full) {
                            Some(first) => self.index.duplicates.push((full, pos, *first)),
                            None => {
                                self.index.keys.insert(full, pos);
                            }
                        }
                        *key = Some(text);
                    }
                }
                Some(p) => {
                    self.index.values.entry(p).or_insert(pos);
                    self.advance();
                }
            },
            Event::Alias(_) => {
                match self.child_path() {
                    // An alias used as a key: no sensible path; mark the key as unnamed.
                    None => {
                        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                            *key = Some("*".to_owned());
                        }
                    }
                    Some(p) => {
                        self.index.values.entry(p).or_insert(pos);
                        self.advance();
                    }
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                // A collection used as a key (rare, refused by serde later): give it a dummy name.
                let path = self.child_path().unwrap_or_else(|| "?".to_owned());
                self.index.collections.insert(path.clone());
                self.stack.push(if is_map {
                    Frame::Map {
                        path,
                        key: None,
                        start: Some(pos),
                    }
                } else {
                    self.index.values.entry(path.clone()).or_insert(pos);
                    Frame::Seq { path, index: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                // An empty mapping has no first key: keep its own mark.
                if let Some(Frame::Map {
                    path,
                    start: Some(pos),
                    ..
                }) = self.stack.pop()
                {
                    self.index.values.entry(path).or_insert(pos);
                }
                self.advance();
            }
            Event::DocumentStart
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
    }
}

impl SpanIndex {
    /// Indexes `text`. A YAML syntax error gives an empty index (serde_yaml reports it anyway).
    pub(crate) fn build(text: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        let mut index = builder.index;
        // A repeated mapping repeats its inner keys too: report only the outermost repeat.
        let outer: Vec<String> = index.duplicates.iter().map(|d| d.0.clone()).collect();
        index.duplicates.retain(|(p, ..)| {
            !outer.iter().any(|o| {
                p.len() > o.len()
                    && p.starts_with(o.as_str())
                    && matches!(p.as_bytes()[o.len()], b'.' | b'[')
            })
        });
        index
    }

    /// The position of the value at `path`, or of its nearest ancestor that exists in the file
    /// (a defaulted field has no position of its own).
    pub(crate) fn value(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.values.get(p) {
                // A mapping or list is pointed at by the key that names it (`vi_1:`), if any.
                if let Some(k) = self.keys.get(p).filter(|_| self.collections.contains(p)) {
                    return Some(*k);
                }
                return Some(*pos);
            }
            p = parent(p)?;
        }
    }

    /// Whether `path` is written in the file (as opposed to defaulted).
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.values.contains_key(path)
    }
}

/// The parent of a path: "a.b[2]" -> "a.b", "a.b" -> "a", "a" -> "".
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
global:
  router_id: r1
instances:
  vi_1:
    vrid: 300
    virtual_addresses:
      - 192.0.2.1/24
      - { address: 192.0.2.2, prefix: 24 }
";

    #[test]
    fn values_are_found_by_serde_path_with_one_based_line_and_column() {
        let idx = SpanIndex::build(TEXT);
        assert_eq!(
            idx.value("global.router_id"),
            Some(Position {
                line: 2,
                column: 14
            })
        );
        assert_eq!(
            idx.value("instances.vi_1.vrid"),
            Some(Position {
                line: 5,
                column: 11
            })
        );
        assert_eq!(
            idx.value("instances.vi_1.virtual_addresses[0]"),
            Some(Position { line: 7, column: 9 })
        );
        assert_eq!(
            idx.value("instances.vi_1.virtual_addresses[1].prefix"),
            Some(Position {
                line: 8,
                column: 39
            })
        );
    }

    #[test]
    fn keys_are_recorded_and_missing_paths_fall_back_to_the_parent() {
        let idx = SpanIndex::build(TEXT);
        assert_eq!(
            idx.keys.get("instances.vi_1"),
            Some(&Position { line: 4, column: 3 })
        );
        assert_eq!(
            idx.value("instances.vi_1.priority"),
            idx.value("instances.vi_1")
        );
        assert!(!idx.contains("instances.vi_1.priority"));
        assert!(idx.duplicates.is_empty());
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }

    #[test]
    fn keys_repeated_in_one_mapping_are_listed_with_both_positions() {
        let idx = SpanIndex::build("a:\n  x: 1\n  x: 2\nb:\n  x: 3\n");
        assert_eq!(
            idx.duplicates,
            vec![(
                "a.x".to_owned(),
                Position { line: 3, column: 3 },
                Position { line: 2, column: 3 }
            )]
        );
    }
}
