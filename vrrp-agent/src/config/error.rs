//! Configuration diagnostics: `FILE:LINE:COLUMN: field.path: message`, one per problem.

use std::fmt;

use super::spans::Position;

/// One problem (error or warning) in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name (or other origin) it refers to; `Display` starts with it.
    pub origin: String,
    /// Where in the file, when known (1-based line and column).
    pub position: Option<Position>,
    /// Field path in serde_path_to_error syntax (`instances.vi_1.virtual_addresses[0]`);
    /// empty for the whole file.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Diagnostic {
    /// A problem with no position or path (e.g. the file cannot be read).
    pub fn bare(message: impl Into<String>) -> Self {
        Self {
            origin: String::new(),
            position: None,
            path: String::new(),
            message: message.into(),
        }
    }

    /// Formats the diagnostic with the origin (file name) in front.
    pub fn display_with<'a>(&'a self, origin: &'a str) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Diagnostic, &'a str);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let d = self.0;
                f.write_str(self.1)?;
                if let Some(p) = d.position {
                    write!(f, ":{}:{}", p.line, p.column)?;
                }
                f.write_str(": ")?;
                if !d.path.is_empty() {
                    write!(f, "{}: ", d.path)?;
                }
                f.write_str(&d.message)
            }
        }
        D(self, origin)
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE:COLUMN: path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.display_with(&self.origin))
    }
}

/// An invalid configuration: every problem found, in file order where positions are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name (or other origin) the problems refer to.
    pub origin: String,
    /// The problems; never empty.
    pub errors: Vec<Diagnostic>,
}

impl ConfigError {
    pub(crate) fn single(origin: &str, d: Diagnostic) -> Self {
        Self {
            origin: origin.to_owned(),
            errors: vec![d],
        }
    }

    /// Each problem formatted as `FILE:LINE:COLUMN: path: message`.
    pub fn lines(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|d| d.display_with(&self.origin).to_string())
            .collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

impl std::error::Error for ConfigError {}
