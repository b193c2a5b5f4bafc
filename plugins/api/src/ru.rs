//! Russian for the people in Telegram: the one plural rule every text with a
//! count uses ("1 отчет", "2 отчета", "5 отчетов", "21 отчет", "11 отчетов").

/// The form of a noun after `n`: `forms` are the ones for 1, for 2–4 and for
/// 5 and more (`["отчет", "отчета", "отчетов"]`); 11–14 take the last.
///
/// ```
/// use vox_plugin::ru::plural;
///
/// const REPORTS: [&str; 3] = ["отчет", "отчета", "отчетов"];
/// assert_eq!(plural(1, REPORTS), "отчет");
/// assert_eq!(plural(3, REPORTS), "отчета");
/// assert_eq!(plural(12, REPORTS), "отчетов");
/// ```
pub fn plural(n: u64, forms: [&'static str; 3]) -> &'static str {
    let [one, few, many] = forms;
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// `n` and the noun's form for it: `count(5, REPORTS)` is "5 отчетов".
///
/// ```
/// assert_eq!(vox_plugin::ru::count(21, ["отчет", "отчета", "отчетов"]), "21 отчет");
/// ```
pub fn count(n: u64, forms: [&'static str; 3]) -> String {
    format!("{n} {}", plural(n, forms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_follow_the_last_two_digits() {
        const REPORTS: [&str; 3] = ["отчет", "отчета", "отчетов"];
        let said: Vec<String> =
            [0, 1, 2, 5, 11, 21, 22, 25, 111, 112, 1001].map(|n| count(n, REPORTS)).to_vec();
        assert_eq!(
            said,
            [
                "0 отчетов",
                "1 отчет",
                "2 отчета",
                "5 отчетов",
                "11 отчетов",
                "21 отчет",
                "22 отчета",
                "25 отчетов",
                "111 отчетов",
                "112 отчетов",
                "1001 отчет"
            ]
        );
    }
}
