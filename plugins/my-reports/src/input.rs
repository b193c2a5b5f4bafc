//! What a user types: report numbers and new titles, checked strictly, with the
//! reason for a refusal kept so the reply can say exactly what was wrong.

/// Why a typed text is not a usable report number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    /// Not digits at all ("abc", "1.5", "три").
    NotANumber,
    /// Zero, negative, or more digits than any report number has.
    OutOfRange,
}

/// Longest title a report may get, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// Parses a report number: an integer ≥ 1, surrounding spaces allowed.
///
/// Whether that number is in the user's list is the caller's question.
pub fn parse_number(text: &str) -> Result<u32, NumberError> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-').or_else(|| t.strip_prefix('−')) {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotANumber);
    }
    if negative {
        return Err(NumberError::OutOfRange);
    }
    match digits.parse::<u32>() {
        Ok(0) | Err(_) => Err(NumberError::OutOfRange),
        Ok(n) => Ok(n),
    }
}

/// Why a new title is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleError {
    /// Nothing left after trimming.
    Empty,
    /// Over [`MAX_TITLE_CHARS`].
    TooLong(usize),
    /// Line breaks, tabs or other control characters.
    ControlCharacters,
}

/// Checks and trims a new title: 1–200 characters, no control characters.
pub fn parse_title(text: &str) -> Result<String, TitleError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(TitleError::Empty);
    }
    if t.chars().any(char::is_control) {
        return Err(TitleError::ControlCharacters);
    }
    let chars = t.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(TitleError::TooLong(chars));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_integers_are_numbers() {
        assert_eq!(parse_number("3"), Ok(3));
        assert_eq!(parse_number("  12 "), Ok(12));
        assert_eq!(parse_number("+7"), Ok(7));
        assert_eq!(parse_number("007"), Ok(7));
        assert_eq!(parse_number("abc"), Err(NumberError::NotANumber));
        assert_eq!(parse_number("1.5"), Err(NumberError::NotANumber));
        assert_eq!(parse_number("1,5"), Err(NumberError::NotANumber));
        assert_eq!(parse_number(""), Err(NumberError::NotANumber));
        assert_eq!(parse_number("   "), Err(NumberError::NotANumber));
        assert_eq!(parse_number("3 4"), Err(NumberError::NotANumber));
        assert_eq!(
            parse_number("０"),
            Err(NumberError::NotANumber),
            "full-width digits are not ASCII digits"
        );
        assert_eq!(parse_number("0"), Err(NumberError::OutOfRange));
        assert_eq!(parse_number("-1"), Err(NumberError::OutOfRange));
        assert_eq!(parse_number("−1"), Err(NumberError::OutOfRange));
        assert_eq!(parse_number("-"), Err(NumberError::NotANumber));
        assert_eq!(parse_number("12345678901234567890"), Err(NumberError::OutOfRange));
        assert_eq!(parse_number("999"), Ok(999), "range against the list is checked by the caller");
    }

    #[test]
    fn titles_are_trimmed_bounded_and_single_line() {
        assert_eq!(parse_title("  Встреча с клиентом "), Ok("Встреча с клиентом".to_owned()));
        assert_eq!(parse_title("   "), Err(TitleError::Empty));
        assert_eq!(parse_title(&"я".repeat(200)), Ok("я".repeat(200)));
        assert_eq!(parse_title(&"я".repeat(201)), Err(TitleError::TooLong(201)));
        assert_eq!(parse_title("две\nстроки"), Err(TitleError::ControlCharacters));
        assert_eq!(parse_title("таб\tуляция"), Err(TitleError::ControlCharacters));
        assert_eq!(parse_title("нуль\u{0}"), Err(TitleError::ControlCharacters));
    }
}
