//! Heroku's list paging: the `Range` request header, and the page and `Next-Range`
//! it yields.
//!
//! The grammar is the sandbox's own, written from Dev Center's Platform API Reference
//! ("Ranges") and changelog, so that a bug in the client's parser cannot hide here:
//!
//! ```text
//! range  = field SP [ ["]"] start ] ".." [ end ] *( sep [ param ] )
//! sep    = ";" / ","                    ; the reference writes `;`, clients also send `,`
//! param  = "max=" 1*DIGIT / "order=" ( "asc" / "desc" )   ; spaces allowed around each part
//! ```
//!
//! `]start` excludes the start (Heroku's `Next-Range` form); a trailing separator is
//! allowed (`id ..; max=10;` is the reference's own example); an end with no start
//! (`id ..123`) has not been served since August 2013, nor has the field `ids`.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};

/// What list responses send as `Accept-Ranges`.
pub const ACCEPT_RANGES: &str = "id, name, updated_at";

/// The format of every date-time the sandbox serves (the schema's example form).
pub const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%SZ";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Id,
    Name,
    UpdatedAt,
}

impl Field {
    fn parse(text: &str) -> Option<Field> {
        match text {
            "id" => Some(Field::Id),
            "name" => Some(Field::Name),
            "updated_at" => Some(Field::UpdatedAt),
            _ => None,
        }
    }

    /// Bound values of `updated_at` are compared as instants, so a client may send
    /// any RFC 3339 form; they are brought to the served form, whose text order is
    /// time order.
    fn normalize(self, value: &str) -> Result<String, RangeError> {
        match self {
            Field::Id | Field::Name => Ok(value.to_string()),
            Field::UpdatedAt => DateTime::parse_from_rfc3339(value)
                .map(|at| at.with_timezone(&Utc).format(DATE_TIME).to_string())
                .map_err(|_| {
                    RangeError::Invalid(format!("`{value}` is not an RFC 3339 date-time"))
                }),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Id => "id",
            Field::Name => "name",
            Field::UpdatedAt => "updated_at",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub value: String,
    pub exclusive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    pub field: Field,
    /// Where the page begins, in the direction of `order`.
    pub start: Option<Start>,
    /// Inclusive last value, in the direction of `order`.
    pub end: Option<String>,
    pub max: usize,
    pub order: Order,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// 400 `bad_request`.
    Invalid(String),
    /// 416 `requested_range_not_satisfiable`.
    Unsatisfiable { max: usize, limit: usize },
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::Invalid(why) => write!(
                f,
                "Invalid `Range` header: {why}. Write it as `id ..; max=1000` \
                 (fields: {ACCEPT_RANGES})."
            ),
            RangeError::Unsatisfiable { max, limit } => write!(
                f,
                "`max={max}` in the `Range` header is not between 1 and {limit}."
            ),
        }
    }
}

/// Reads a `Range` header; no header means `id ..; max=<default_max>`.
pub fn parse(
    header: Option<&str>,
    default_max: usize,
    max_limit: usize,
) -> Result<Range, RangeError> {
    let Some(header) = header else {
        return Ok(Range {
            field: Field::Id,
            start: None,
            end: None,
            max: default_max,
            order: Order::Asc,
        });
    };
    let written = Written::read(header).map_err(|why| RangeError::Invalid(why.to_string()))?;
    let field = Field::parse(written.field).ok_or_else(|| {
        RangeError::Invalid(format!("`{}` is not a field to range on", written.field))
    })?;
    let start = match written.start {
        "" => None,
        value => Some(Start {
            value: field.normalize(value)?,
            exclusive: written.exclusive,
        }),
    };
    let end = match written.end {
        "" => None,
        value => Some(field.normalize(value)?),
    };
    let max = written.max.unwrap_or(default_max);
    let order = written.order;
    if max == 0 || max > max_limit {
        return Err(RangeError::Unsatisfiable {
            max,
            limit: max_limit,
        });
    }
    Ok(Range {
        field,
        start,
        end,
        max,
        order,
    })
}

/// A `Range` header's parts as written, before the server gives them meaning.
#[derive(Debug, PartialEq, Eq)]
struct Written<'a> {
    field: &'a str,
    start: &'a str,
    exclusive: bool,
    end: &'a str,
    max: Option<usize>,
    order: Order,
}

impl<'a> Written<'a> {
    /// Reads the grammar in this module's header; the error says what is wrong.
    fn read(header: &'a str) -> Result<Written<'a>, &'static str> {
        let mut parts = header.split([';', ',']);
        let head = parts.next().unwrap_or_default().trim();
        let (field, bounds) = head
            .split_once(' ')
            .ok_or("no space between the field and the bounds")?;
        let (start, end) = bounds
            .trim()
            .split_once("..")
            .ok_or("no `..` between the bounds")?;
        if start.contains(char::is_whitespace) || end.contains(char::is_whitespace) {
            return Err("a bound holds a space");
        }
        let (start, exclusive) = match start.strip_prefix(']') {
            Some("") => return Err("`]` needs a start value after it"),
            Some(start) => (start, true),
            None => (start, false),
        };
        if start.is_empty() && !end.is_empty() {
            return Err("a range needs a start to have an end");
        }
        let mut written = Written {
            field,
            start,
            exclusive,
            end,
            max: None,
            order: Order::Asc,
        };
        for param in parts.map(str::trim).filter(|param| !param.is_empty()) {
            let (name, value) = param.split_once('=').ok_or("a parameter without `=`")?;
            match (name.trim(), value.trim()) {
                ("max", n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    written.max = Some(n.parse().map_err(|_| "`max` is too large")?);
                }
                ("max", _) => return Err("`max` is not a whole number"),
                ("order", "asc") => written.order = Order::Asc,
                ("order", "desc") => written.order = Order::Desc,
                ("order", _) => return Err("`order` is neither `asc` nor `desc`"),
                _ => return Err("the only parameters are `max` and `order`"),
            }
        }
        Ok(written)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Positions in the `keys` given to [`page`], in the order to serve them.
    pub indices: Vec<usize>,
    /// The `Next-Range` header when more items follow (answer 206), else `None` (200).
    pub next_range: Option<String>,
}

/// Picks the page `range` asks for from items whose sort keys are `keys` (one per item,
/// in the form [`Field`] values are served in).
///
/// The cursor in `Next-Range` is a value, so a page never ends inside a run of equal
/// keys (possible for `updated_at`): the next page would skip the rest of the run.
/// Such a page is cut short before the run instead, or, when the run alone fills it,
/// stretched to the run's end: an app served twice or never is worse than a page over
/// `max`.
pub fn page(keys: &[String], range: &Range) -> Page {
    let mut indices = in_range(keys, range);
    let cut = page_end(keys, &indices, range.max);
    if cut == indices.len() {
        return Page {
            indices,
            next_range: None,
        };
    }
    let last = keys[indices[cut - 1]].clone();
    indices.truncate(cut);
    Page {
        indices,
        next_range: Some(next_range(range, &last)),
    }
}

/// The indices of the keys within `range`, in its order.
fn in_range(keys: &[String], range: &Range) -> Vec<usize> {
    let in_order = |a: &str, b: &str| match range.order {
        Order::Asc => a.cmp(b),
        Order::Desc => b.cmp(a),
    };
    let mut indices: Vec<usize> = (0..keys.len())
        .filter(|&i| {
            let key = keys[i].as_str();
            let after_start =
                range
                    .start
                    .as_ref()
                    .is_none_or(|start| match in_order(key, &start.value) {
                        Ordering::Greater => true,
                        Ordering::Equal => !start.exclusive,
                        Ordering::Less => false,
                    });
            let before_end = range
                .end
                .as_deref()
                .is_none_or(|end| in_order(key, end) != Ordering::Greater);
            after_start && before_end
        })
        .collect();
    // Position breaks ties so that equal keys come back in a stable order.
    indices.sort_by(|&a, &b| in_order(&keys[a], &keys[b]).then(a.cmp(&b)));
    indices
}

/// How many of `indices` (sorted) the page holds: at most `max`, but never a cut
/// between equal keys, so a key the next page starts after is never split; a run of one
/// key longer than `max` fills the page whole.
fn page_end(keys: &[String], indices: &[usize], max: usize) -> usize {
    if indices.len() <= max {
        return indices.len();
    }
    let key_at = |n: usize| keys[indices[n]].as_str();
    let mut cut = max;
    if key_at(cut) == key_at(cut - 1) {
        let run_start = (0..cut)
            .rev()
            .take_while(|&n| key_at(n) == key_at(cut))
            .last()
            .unwrap_or(cut);
        cut = if run_start > 0 {
            run_start
        } else {
            (cut..indices.len())
                .find(|&n| key_at(n) != key_at(0))
                .unwrap_or(indices.len())
        };
    }
    cut
}

fn next_range(range: &Range, last: &str) -> String {
    let end = range.end.as_deref().unwrap_or("");
    let mut next = format!("{} ]{last}..{end}; max={}", range.field, range.max);
    if range.order == Order::Desc {
        next.push_str(", order=desc");
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(header: &str) -> Range {
        parse(Some(header), 200, 1000).unwrap()
    }

    fn keys(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn served(keys: &[String], page: &Page) -> Vec<String> {
        page.indices.iter().map(|&i| keys[i].clone()).collect()
    }

    #[test]
    fn reads_the_reference_examples_and_next_range() {
        let read = |header| Written::read(header).unwrap();
        assert_eq!(
            read("id ..; max=10;"),
            Written {
                field: "id",
                start: "",
                exclusive: false,
                end: "",
                max: Some(10),
                order: Order::Asc,
            }
        );
        assert_eq!(read("id ..; order=desc;").order, Order::Desc);
        let next = read("id ]01234567-89ab-cdef-0123-456789abcdef..; max=200");
        assert_eq!(
            (next.start, next.exclusive, next.end, next.max),
            ("01234567-89ab-cdef-0123-456789abcdef", true, "", Some(200))
        );
        let both = read("name a..m; order=desc,max=5");
        assert_eq!((both.start, both.end), ("a", "m"));
        assert_eq!((both.max, both.order), (Some(5), Order::Desc));
        assert_eq!(read("updated_at ..").max, None);
    }

    #[test]
    fn says_why_a_header_is_not_in_the_grammar() {
        for (header, why) in [
            ("", "no space between the field and the bounds"),
            ("bytes=0-100", "no space between the field and the bounds"),
            ("id 0-100", "no `..` between the bounds"),
            ("id a ..", "a bound holds a space"),
            ("id ]..", "`]` needs a start value after it"),
            ("id ..123", "a range needs a start to have an end"),
            ("id ..; max", "a parameter without `=`"),
            ("id ..; max=", "`max` is not a whole number"),
            ("id ..; max=+5", "`max` is not a whole number"),
            ("id ..; max=99999999999999999999999", "`max` is too large"),
            ("id ..; order=random", "`order` is neither `asc` nor `desc`"),
            (
                "id ..; limit=5",
                "the only parameters are `max` and `order`",
            ),
        ] {
            assert_eq!(Written::read(header), Err(why), "{header:?}");
        }
    }

    #[test]
    fn no_header_is_id_from_the_start_with_the_default_page() {
        let range = parse(None, 200, 1000).unwrap();
        assert_eq!(range.field, Field::Id);
        assert_eq!(range.start, None);
        assert_eq!(range.end, None);
        assert_eq!(range.max, 200);
        assert_eq!(range.order, Order::Asc);
    }

    #[test]
    fn parses_the_forms_clients_send() {
        let r = range("id ..; max=1000");
        assert_eq!((r.field, r.start, r.max), (Field::Id, None, 1000));

        let r = range("name ]hatchet-t-0a..; max=10, order=desc");
        assert_eq!(r.field, Field::Name);
        assert_eq!(
            r.start,
            Some(Start {
                value: "hatchet-t-0a".into(),
                exclusive: true
            })
        );
        assert_eq!((r.max, r.order), (10, Order::Desc));

        let r = range("name a..m");
        assert_eq!(
            r.start,
            Some(Start {
                value: "a".into(),
                exclusive: false
            })
        );
        assert_eq!(r.end.as_deref(), Some("m"));
        assert_eq!(r.max, 200);

        // Parameters in either order, split by `;` or `,`, with stray spaces.
        let r = range("  id  .. ;order = desc ; max = 5 ");
        assert_eq!((r.max, r.order), (5, Order::Desc));
        let r = range("id .., order=desc");
        assert_eq!((r.max, r.order), (200, Order::Desc));
    }

    #[test]
    fn updated_at_bounds_are_read_as_instants() {
        let r = range("updated_at ]2024-03-01T12:00:00+02:00..2024-03-02T00:00:00.000Z");
        assert_eq!(r.start.unwrap().value, "2024-03-01T10:00:00Z");
        assert_eq!(r.end.as_deref(), Some("2024-03-02T00:00:00Z"));
        assert!(matches!(
            parse(Some("updated_at ]yesterday.."), 200, 1000),
            Err(RangeError::Invalid(_))
        ));
    }

    #[test]
    fn refuses_what_it_cannot_read_with_400() {
        for bad in [
            "",
            "id",
            "ids ..",
            "created_at ..",
            "bytes=0-100",
            "id 0-100",
            "id ]..",
            "id ..; max=ten",
            "id ..; max=-1",
            "id ..; order=up",
            "id ..; limit=5",
            "id ..; max",
        ] {
            assert!(
                matches!(parse(Some(bad), 200, 1000), Err(RangeError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_a_page_size_out_of_bounds_with_416() {
        assert_eq!(
            parse(Some("id ..; max=1001"), 200, 1000),
            Err(RangeError::Unsatisfiable {
                max: 1001,
                limit: 1000
            })
        );
        assert_eq!(
            parse(Some("id ..; max=0"), 200, 1000),
            Err(RangeError::Unsatisfiable {
                max: 0,
                limit: 1000
            })
        );
        assert_eq!(range("id ..; max=1000").max, 1000);
    }

    #[test]
    fn pages_ascending_and_follows_next_range_to_the_end() {
        let all = keys(&["e", "a", "d", "b", "c"]);
        let first = page(&all, &range("name ..; max=2"));
        assert_eq!(served(&all, &first), ["a", "b"]);
        assert_eq!(first.next_range.as_deref(), Some("name ]b..; max=2"));

        let second = page(&all, &range(first.next_range.as_deref().unwrap()));
        assert_eq!(served(&all, &second), ["c", "d"]);
        let third = page(&all, &range(second.next_range.as_deref().unwrap()));
        assert_eq!(served(&all, &third), ["e"]);
        assert_eq!(third.next_range, None);
    }

    #[test]
    fn a_page_that_ends_exactly_at_the_last_item_has_no_next_range() {
        let all = keys(&["a", "b"]);
        let only = page(&all, &range("name ..; max=2"));
        assert_eq!(served(&all, &only), ["a", "b"]);
        assert_eq!(only.next_range, None);
    }

    #[test]
    fn pages_descending_and_keeps_the_order_in_next_range() {
        let all = keys(&["a", "c", "b", "d"]);
        let first = page(&all, &range("name ..; max=3, order=desc"));
        assert_eq!(served(&all, &first), ["d", "c", "b"]);
        assert_eq!(
            first.next_range.as_deref(),
            Some("name ]b..; max=3, order=desc")
        );
        let second = page(&all, &range(first.next_range.as_deref().unwrap()));
        assert_eq!(served(&all, &second), ["a"]);
        assert_eq!(second.next_range, None);
    }

    #[test]
    fn honours_inclusive_start_and_end_and_carries_the_end_on() {
        let all = keys(&["a", "b", "c", "d", "e"]);
        let first = page(&all, &range("name b..d; max=2"));
        assert_eq!(served(&all, &first), ["b", "c"]);
        assert_eq!(first.next_range.as_deref(), Some("name ]c..d; max=2"));
        let second = page(&all, &range(first.next_range.as_deref().unwrap()));
        assert_eq!(served(&all, &second), ["d"]);
        assert_eq!(second.next_range, None);
    }

    #[test]
    fn a_start_past_the_end_gives_an_empty_last_page() {
        let all = keys(&["a", "b"]);
        let empty = page(&all, &range("name ]z.."));
        assert!(empty.indices.is_empty());
        assert_eq!(empty.next_range, None);
    }

    #[test]
    fn never_splits_a_run_of_equal_keys() {
        let all = keys(&["1", "2", "2", "2", "3", "4"]);
        // The run of 2s would straddle the page end: the page stops before it.
        let first = page(&all, &range("name ..; max=2"));
        assert_eq!(served(&all, &first), ["1"]);
        assert_eq!(first.next_range.as_deref(), Some("name ]1..; max=2"));
        // The run fills the page by itself: the page stretches to its end.
        let second = page(&all, &range("name ]1..; max=2"));
        assert_eq!(served(&all, &second), ["2", "2", "2"]);
        assert_eq!(second.next_range.as_deref(), Some("name ]2..; max=2"));
        let third = page(&all, &range("name ]2..; max=2"));
        assert_eq!(served(&all, &third), ["3", "4"]);
        assert_eq!(third.next_range, None);
    }

    #[test]
    fn a_run_that_fills_the_rest_of_the_list_ends_it() {
        let all = keys(&["2", "2", "2"]);
        let only = page(&all, &range("name ..; max=2"));
        assert_eq!(only.indices, [0, 1, 2]);
        assert_eq!(only.next_range, None);
    }

    #[test]
    fn every_item_is_served_exactly_once_whatever_the_page_size() {
        let values: Vec<String> = (0..57).map(|n| format!("{:02}", n / 3)).collect();
        for max in 1..=20 {
            for order in ["asc", "desc"] {
                let mut header = format!("name ..; max={max}, order={order}");
                let mut seen = Vec::new();
                loop {
                    let page = page(&values, &range(&header));
                    seen.extend(page.indices);
                    match page.next_range {
                        Some(next) => header = next,
                        None => break,
                    }
                }
                seen.sort_unstable();
                assert_eq!(seen, (0..57).collect::<Vec<_>>(), "max={max} order={order}");
            }
        }
    }
}
