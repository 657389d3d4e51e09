//! Heroku's `Range` / `Next-Range` headers: `id ]01234567-…..; max=1000, order=desc`.

use std::fmt;

/// Asks for the largest page Heroku serves.
pub const FIRST_PAGE: &str = "id ..; max=1000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub field: String,
    /// Where the page starts; empty means the beginning.
    pub start: String,
    /// `]start`: the page starts after `start`, not at it.
    pub start_exclusive: bool,
    pub end: String,
    pub max: Option<usize>,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a Range header ({reason})")]
pub struct RangeError {
    pub value: String,
    pub reason: &'static str,
}

impl Range {
    pub fn parse(value: &str) -> Result<Range, RangeError> {
        let error = |reason| RangeError {
            value: value.chars().take(200).collect(),
            reason,
        };
        // Options follow the bounds after `;` (Heroku's form) or `,`.
        let (spec, options) = match value.find([';', ',']) {
            Some(at) => (&value[..at], Some(&value[at + 1..])),
            None => (value, None),
        };
        let spec = spec.trim();
        let (field, bounds) = spec
            .split_once(' ')
            .ok_or_else(|| error("no space between the field and the bounds"))?;
        if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(error("the field is not a plain name"));
        }
        let (start, end) = bounds
            .trim()
            .split_once("..")
            .ok_or_else(|| error("no `..` between the bounds"))?;
        if start.contains(char::is_whitespace) || end.contains(char::is_whitespace) {
            return Err(error("a bound holds a space"));
        }
        let (start, start_exclusive) = match start.strip_prefix(']') {
            Some("") => return Err(error("`]` needs a value after it")),
            Some(rest) => (rest, true),
            None => (start, false),
        };
        let mut range = Range {
            field: field.to_string(),
            start: start.to_string(),
            start_exclusive,
            end: end.to_string(),
            max: None,
            descending: false,
        };
        for option in options.into_iter().flat_map(|o| o.split([';', ','])) {
            let option = option.trim();
            if option.is_empty() {
                continue;
            }
            let (key, val) = option
                .split_once('=')
                .ok_or_else(|| error("an option without `=`"))?;
            match (key.trim(), val.trim()) {
                // Whether a page size is allowed is the server's to say (416).
                ("max", n) => {
                    range.max = Some(n.parse().map_err(|_| error("`max` is not a number"))?)
                }
                ("order", "asc") => range.descending = false,
                ("order", "desc") => range.descending = true,
                ("order", _) => return Err(error("`order` is neither asc nor desc")),
                _ => return Err(error("an unknown option")),
            }
        }
        Ok(range)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracket = if self.start_exclusive { "]" } else { "" };
        write!(f, "{} {bracket}{}..{}", self.field, self.start, self.end)?;
        let mut options = Vec::new();
        if let Some(max) = self.max {
            options.push(format!("max={max}"));
        }
        if self.descending {
            options.push("order=desc".to_string());
        }
        if !options.is_empty() {
            write!(f, "; {}", options.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_page() {
        let range = Range::parse(FIRST_PAGE).unwrap();
        assert_eq!(range.field, "id");
        assert_eq!(range.start, "");
        assert!(!range.start_exclusive);
        assert_eq!(range.max, Some(1000));
        assert_eq!(range.to_string(), FIRST_PAGE);
    }

    #[test]
    fn parses_a_next_range() {
        let value = "id ]01234567-89ab-cdef-0123-456789abcdef..; max=1000, order=desc";
        let range = Range::parse(value).unwrap();
        assert_eq!(range.start, "01234567-89ab-cdef-0123-456789abcdef");
        assert!(range.start_exclusive);
        assert!(range.descending);
        assert_eq!(range.to_string(), value);
    }

    #[test]
    fn parses_names_and_no_options() {
        let range = Range::parse("name a..z").unwrap();
        assert_eq!((range.start.as_str(), range.end.as_str()), ("a", "z"));
        assert_eq!(range.max, None);
    }

    /// What the `range` fuzz target checks, on the shapes most likely to break it.
    #[test]
    fn a_parsed_range_prints_as_one_that_parses_the_same() {
        for value in [
            "id ]]x..",
            "id  a....b",
            "name a..c, max=05; order=asc",
            "id ..; max=0",
            "updated_at ]2012-01-01T12:00:00Z..; order=desc",
            " id ..; max=7,",
        ] {
            let range = Range::parse(value).unwrap();
            assert_eq!(Range::parse(&range.to_string()), Ok(range), "{value:?}");
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "id",
            "id ab",
            " ..; max=1",
            "id ..; max=x",
            "id ]..; max=1",
            "name a,b..c",
            "id ..; max",
            "id ..; order=up",
            "id ..; colour=blue",
            "i d ..",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
    }
}
