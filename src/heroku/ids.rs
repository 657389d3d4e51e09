//! The forms of ids and names that go into a request's path: a UUID, or a name as
//! Heroku's schema allows it. `.` and `..` are neither, and they must never become path
//! segments: a URL resolves them as "here" and "the parent" (percent-encoded too:
//! `%2e%2e` is `..` to a URL parser), so `DELETE /apps/..` would be sent as `DELETE /`.

/// `01234567-89ab-cdef-0123-456789abcdef`, in either case.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An app's id or name (the schema's `app/identity`); a name is
/// `^[a-z][a-z0-9-]{1,28}[a-z0-9]$`.
pub fn is_app_identity(text: &str) -> bool {
    is_uuid(text) || (is_name(text, 3..=30) && !text.ends_with('-'))
}

/// A pipeline's id or name (`pipeline/identity`); a name is `^[a-z][a-z0-9-]{2,29}$`.
pub fn is_pipeline_identity(text: &str) -> bool {
    is_uuid(text) || is_name(text, 3..=30)
}

/// A team's id or name. The schema gives team names no pattern; Heroku's are made of
/// lowercase letters, digits and `-`, so letters of either case, digits, `-`, `_` and
/// `.` after a letter or digit let every real name through and no dot segment.
pub fn is_team_identity(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && text.len() <= 100
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A lowercase letter, then lowercase letters, digits and `-`, `len` long in all.
fn is_name(text: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOTS: [&str; 6] = ["", ".", "..", "%2e%2e", "a/..", "../apps"];

    #[test]
    fn app_ids_are_uuids_or_app_names() {
        for good in [
            "01234567-89ab-cdef-0123-456789abcdef",
            "01234567-89AB-CDEF-0123-456789ABCDEF",
            "hatchet-t-0a1b2c3d4e",
            "abc",
            "a23456789012345678901234567890",
        ] {
            assert!(is_app_identity(good), "{good}");
        }
        for bad in DOTS.iter().chain(&[
            "ab",
            "ab-",
            "Hatchet-t-1",
            "1abc",
            "a234567890123456789012345678901",
            "01234567-89ab-cdef-0123-456789abcdeg",
            "0123456789ab-cdef-0123-456789abcdef",
        ]) {
            assert!(!is_app_identity(bad), "{bad}");
        }
    }

    #[test]
    fn pipeline_ids_are_uuids_or_pipeline_names() {
        assert!(is_pipeline_identity("01234567-89ab-cdef-0123-456789abcdef"));
        assert!(is_pipeline_identity("hatchet-t-0a1b-"));
        for bad in DOTS.iter().chain(&["ab", "Pipeline", "a_b_c"]) {
            assert!(!is_pipeline_identity(bad), "{bad}");
        }
    }

    #[test]
    fn team_names_never_make_a_dot_segment() {
        for good in [
            "my-ci-team",
            "Team_2",
            "team.eu",
            "01234567-89ab-cdef-0123-456789abcdef",
        ] {
            assert!(is_team_identity(good), "{good}");
        }
        for bad in DOTS.iter().chain(&[".team", "-team", "a b", "a/b", "a%2F"]) {
            assert!(!is_team_identity(bad), "{bad}");
        }
    }
}
