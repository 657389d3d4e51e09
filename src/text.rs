//! Text from a server (error messages, ids, app names, headers) made safe to print in
//! a line of the log: it can neither break the line nor start a workflow command.

use std::borrow::Cow;

/// `text` with every control character written as an escape (`\n`, `\r`, `\u{1b}`),
/// so it stays on its line: the Actions runner starts a new line at a `\r` as well as
/// at a `\n`, and a new line of server text could be `::endgroup::` or
/// `::error::…`. `##[` loses its bracket too (`##\[`): the runner still reads that old
/// form of a command anywhere in a line.
pub fn printable(text: &str) -> Cow<'_, str> {
    let breaks = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.contains(breaks) && !text.contains("##[") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if breaks(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out.replace("##[", "##\\["))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_stays_on_its_line() {
        assert!(matches!(printable("hatchet-t-0a1b"), Cow::Borrowed(_)));
        assert_eq!(
            printable("x\n::endgroup::\r\n::error::pwned"),
            "x\\n::endgroup::\\r\\n::error::pwned"
        );
        assert_eq!(
            printable("a\u{1b}[31mb\u{85}c\u{2028}"),
            "a\\u{1b}[31mb\\u{85}c\\u{2028}"
        );
        assert_eq!(printable("a ##[error]b ###[x"), "a ##\\[error]b ###\\[x");
        assert!(!printable("##[##[[").contains("##["));
    }
}
