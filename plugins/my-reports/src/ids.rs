//! Every string my-reports puts on the wire or in dialogue state, in one
//! place: callback data (v1's and v2's, with the v2 button codec) and step
//! names. Old messages keep these strings: change one only with a migration.

/// "📄 Мои отчеты" (the main-menu entry): served by the version the host decides.
pub const SHOW_MY_REPORTS: &str = "show_my_reports";
/// v1: a report's button, followed by its path relative to the reports directory.
pub const SEND_REPORT: &str = "send_report||";
/// v1: the "show all" button.
pub const SHOW_ALL_REPORTS: &str = "show_all_reports";
/// v2: every button of the new flow starts with this.
pub const V2_PREFIX: &str = "report_";

/// v2's dialogue steps.
pub mod steps {
    /// Waiting for the number of the report to view.
    pub const VIEW_ASK_NUMBER: &str = "report_view_ask_number";
    /// Waiting for "yes" before sending it.
    pub const VIEW_CONFIRM: &str = "report_view_confirm";
    /// Waiting for the number of the report to rename.
    pub const RENAME_ASK_NUMBER: &str = "report_rename_ask_number";
    /// Waiting for the new title.
    pub const RENAME_ASK_NEW_NAME: &str = "report_rename_ask_new_name";
    /// Waiting for "yes" before renaming.
    pub const RENAME_CONFIRM: &str = "report_rename_confirm";
    /// Waiting for the number of the report to delete.
    pub const DELETE_ASK_NUMBER: &str = "report_delete_ask_number";
    /// Waiting for "yes" before deleting.
    pub const DELETE_CONFIRM: &str = "report_delete_confirm";
    /// Waiting for filter words and dates.
    pub const FILTER_ASK: &str = "report_filter_ask";

    /// Whether `step` is one of the "yes?" questions.
    pub fn is_confirmation(step: Option<&str>) -> bool {
        matches!(step, Some(VIEW_CONFIRM | RENAME_CONFIRM | DELETE_CONFIRM))
    }
}

/// Which action a step is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the report file.
    View,
    /// Change the title.
    Rename,
    /// Remove file and entry.
    Delete,
}

/// What a step is started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// View, rename or delete: a number is asked next.
    Action(Action),
    /// Narrowing the list: words and dates are asked next.
    Filter,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Comma-separated, one report a line.
    Csv,
    /// A JSON array.
    Json,
}

/// A v2 button: what its callback data encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Button {
    /// Start a step on list `snap`.
    Start(Start, u64),
    /// Export list `snap`.
    Export(Export, u64),
    /// "Yes" for report `number`.
    Yes(u32),
    /// Cancel the step.
    Cancel,
    /// The first page of list `snap`, in a new message (from the list's menu).
    Browse(u64),
    /// Page `page` (from 0) of list `snap`, in place of the page pressed on.
    Page(u64, u32),
    /// The statistics of the user's reports (list `snap`'s menu offered them).
    Stats(u64),
}

const VIEW: &str = "report_view:";
const RENAME: &str = "report_rename:";
const DELETE: &str = "report_delete:";
const FILTER: &str = "report_filter:";
const CSV: &str = "report_csv:";
const JSON: &str = "report_json:";
const YES: &str = "report_yes:";
const CANCEL: &str = "report_cancel";
const PAGE: &str = "report_page:";
const BROWSE: &str = "report_browse:";
const STATS: &str = "report_stats:";

impl V2Button {
    /// The button's callback data.
    pub fn data(self) -> String {
        match self {
            V2Button::Start(Start::Action(Action::View), snap) => format!("{VIEW}{snap}"),
            V2Button::Start(Start::Action(Action::Rename), snap) => format!("{RENAME}{snap}"),
            V2Button::Start(Start::Action(Action::Delete), snap) => format!("{DELETE}{snap}"),
            V2Button::Start(Start::Filter, snap) => format!("{FILTER}{snap}"),
            V2Button::Export(Export::Csv, snap) => format!("{CSV}{snap}"),
            V2Button::Export(Export::Json, snap) => format!("{JSON}{snap}"),
            V2Button::Yes(number) => format!("{YES}{number}"),
            V2Button::Cancel => CANCEL.to_owned(),
            V2Button::Browse(snap) => format!("{BROWSE}{snap}"),
            V2Button::Page(snap, page) => format!("{PAGE}{snap}:{page}"),
            V2Button::Stats(snap) => format!("{STATS}{snap}"),
        }
    }

    /// Parses callback data; `None` for anything that is not a v2 button.
    pub fn parse(data: &str) -> Option<V2Button> {
        let with = |prefix: &str| data.strip_prefix(prefix).and_then(|rest| rest.parse::<u64>().ok());
        let starts = [
            (VIEW, Start::Action(Action::View)),
            (RENAME, Start::Action(Action::Rename)),
            (DELETE, Start::Action(Action::Delete)),
            (FILTER, Start::Filter),
        ];
        if let Some(b) =
            starts.iter().find_map(|(p, start)| with(p).map(|snap| V2Button::Start(*start, snap)))
        {
            return Some(b);
        }
        let exports = [(CSV, Export::Csv), (JSON, Export::Json)];
        if let Some(b) = exports.iter().find_map(|(p, f)| with(p).map(|snap| V2Button::Export(*f, snap))) {
            return Some(b);
        }
        if let Some(n) = data.strip_prefix(YES).and_then(|rest| rest.parse::<u32>().ok()) {
            return Some(V2Button::Yes(n));
        }
        if let Some((snap, page)) = data.strip_prefix(PAGE).and_then(|rest| rest.split_once(':')) {
            return Some(V2Button::Page(snap.parse().ok()?, page.parse().ok()?));
        }
        if let Some(snap) = with(STATS) {
            return Some(V2Button::Stats(snap));
        }
        if let Some(snap) = with(BROWSE) {
            return Some(V2Button::Browse(snap));
        }
        (data == CANCEL).then_some(V2Button::Cancel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_parse_and_garbage_does_not() {
        assert_eq!(V2Button::parse("report_view:7"), Some(V2Button::Start(Start::Action(Action::View), 7)));
        assert_eq!(V2Button::parse("report_filter:1"), Some(V2Button::Start(Start::Filter, 1)));
        assert_eq!(V2Button::parse("report_json:3"), Some(V2Button::Export(Export::Json, 3)));
        assert_eq!(V2Button::parse("report_yes:12"), Some(V2Button::Yes(12)));
        assert_eq!(V2Button::parse("report_cancel"), Some(V2Button::Cancel));
        assert_eq!(V2Button::parse("report_view"), None, "a button without its list");
        assert_eq!(V2Button::parse("report_yes:-1"), None);
        assert_eq!(V2Button::parse("report_unknown:1"), None);
        assert_eq!(V2Button::parse("report_page:5:2"), Some(V2Button::Page(5, 2)));
        assert_eq!(V2Button::parse("report_page:5"), None, "a page without its number");
        assert_eq!(V2Button::parse("report_stats:9"), Some(V2Button::Stats(9)));
    }

    #[test]
    fn every_button_parses_back_from_its_data_within_telegrams_64_bytes() {
        let all = [
            V2Button::Start(Start::Action(Action::View), u64::MAX),
            V2Button::Start(Start::Action(Action::Rename), 1),
            V2Button::Start(Start::Action(Action::Delete), 2),
            V2Button::Start(Start::Filter, 3),
            V2Button::Export(Export::Csv, 4),
            V2Button::Export(Export::Json, 5),
            V2Button::Yes(u32::MAX),
            V2Button::Cancel,
            V2Button::Page(u64::MAX, u32::MAX),
            V2Button::Browse(u64::MAX),
            V2Button::Stats(u64::MAX),
        ];
        for b in all {
            let data = b.data();
            assert!(data.starts_with(V2_PREFIX) && data.len() <= 64, "{data}");
            assert_eq!(V2Button::parse(&data), Some(b), "{data}");
        }
    }
}
