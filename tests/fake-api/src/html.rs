//! `parse_mode: HTML` as Telegram reads it: refuses unknown or unbalanced tags
//! (the classic "can't parse entities" bug) and yields the text the user sees.

const PREFIX: &str = "Bad Request: can't parse entities: ";

/// Tags Telegram's Bot API accepts in HTML mode.
const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

/// The visible text of an HTML-formatted message, or the 400 description
/// Telegram gives when it cannot parse it.
pub(crate) fn render(source: &str) -> Result<String, String> {
    let mut out = String::with_capacity(source.len());
    let mut open: Vec<String> = Vec::new();
    let mut rest = source;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        let offset = source.len() - rest.len() + pos;
        let tail = &rest[pos..];
        if tail.starts_with('&') {
            let (decoded, used) = entity(tail);
            out.push_str(&decoded);
            rest = &tail[used..];
            continue;
        }
        let Some(end) = tail.find('>') else {
            return Err(format!("{PREFIX}Unclosed start tag at byte offset {offset}"));
        };
        let inner = &tail[1..end];
        rest = &tail[end + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            match open.pop() {
                None => return Err(format!("{PREFIX}Unexpected end tag at byte offset {offset}")),
                Some(expected) if name.is_empty() || name == expected => {}
                Some(expected) => {
                    return Err(format!(
                        "{PREFIX}Unmatched end tag at byte offset {offset}, expected \"</{expected}>\", found \"</{name}>\""
                    ));
                }
            }
        } else {
            let name = inner
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !TAGS.contains(&name.as_str()) {
                return Err(format!("{PREFIX}Unsupported start tag \"{name}\" at byte offset {offset}"));
            }
            open.push(name);
        }
    }
    out.push_str(rest);
    match open.last() {
        Some(tag) => Err(format!("{PREFIX}Can't find end tag corresponding to start tag \"{tag}\"")),
        None => Ok(out),
    }
}

/// Decodes one `&...;` entity at the start of `tail`; an ampersand that starts
/// no known entity stays literal, as Telegram tolerates that.
fn entity(tail: &str) -> (String, usize) {
    let Some(end) = tail.find(';').filter(|&end| end <= 10) else {
        return ("&".to_owned(), 1);
    };
    let name = &tail[1..end];
    let decoded = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
            .and_then(char::from_u32),
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".to_owned(), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn tags_are_stripped_and_entities_decoded() {
        assert_eq!(
            render("<b>Отчёт</b> №1 &lt;3 &amp; <a href=\"https://x\">link</a> A&B"),
            Ok("Отчёт №1 <3 & link A&B".to_owned())
        );
    }

    #[test]
    fn broken_markup_is_refused_like_telegram_does() {
        assert_eq!(
            render("<b>bold"),
            Err("Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
                .to_owned())
        );
        assert!(
            render("<div>x</div>")
                .expect_err("unsupported")
                .contains("Unsupported start tag \"div\" at byte offset 0")
        );
        assert!(render("<b><i>x</b></i>").expect_err("unmatched").contains("Unmatched end tag"));
        assert!(render("1 < 2").expect_err("unclosed").contains("Unclosed start tag"));
    }
}
