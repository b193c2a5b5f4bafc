//! What a plugin sends: texts with inline keyboards, documents, and the
//! message-tracker kind that decides which earlier messages get cleaned up.

use std::path::PathBuf;

/// How the host's message tracker treats a sent message (VoxPersona's
/// MessageTracker semantics):
///
/// | sending a…       | deletes the chat's earlier tracked…          |
/// |------------------|----------------------------------------------|
/// | `Menu`           | everything except `Info`                     |
/// | `InputRequest`   | `InputRequest`, `Confirmation`, `Status`     |
/// | `Confirmation`   | `Confirmation`                               |
/// | `Status`         | `Status`                                     |
/// | `Info`           | nothing; is itself never deleted             |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A menu: the chat's fresh starting point.
    Menu,
    /// A prompt that waits for the user's typed answer.
    InputRequest,
    /// "Are you sure?" with yes/no buttons.
    Confirmation,
    /// Progress or a transient result.
    Status,
    /// Content the user keeps: reports, lists, answers.
    Info,
}

impl MessageKind {
    /// Whether sending `self` deletes an earlier tracked message of kind `earlier`.
    ///
    /// ```
    /// use vox_plugin::MessageKind::*;
    /// assert!(Menu.replaces(Status));
    /// assert!(!Menu.replaces(Info));
    /// assert!(InputRequest.replaces(Confirmation));
    /// assert!(!Confirmation.replaces(InputRequest));
    /// ```
    pub fn replaces(self, earlier: MessageKind) -> bool {
        use MessageKind::*;
        match self {
            Menu => earlier != Info,
            InputRequest => matches!(earlier, InputRequest | Confirmation | Status),
            Confirmation => earlier == Confirmation,
            Status => earlier == Status,
            Info => false,
        }
    }

    /// Lower-case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Menu => "menu",
            MessageKind::InputRequest => "input_request",
            MessageKind::Confirmation => "confirmation",
            MessageKind::Status => "status",
            MessageKind::Info => "info",
        }
    }
}

/// An inline keyboard: rows of buttons.
///
/// ```
/// use vox_plugin::{Button, Keyboard};
/// let kb = Keyboard::new()
///     .row([Button::callback("👁️ Посмотреть", "report_view"), Button::callback("🗑️ Удалить", "report_delete")])
///     .row([Button::home("« Назад")]);
/// assert_eq!(kb.rows.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyboard {
    /// The rows, top to bottom.
    pub rows: Vec<Vec<Button>>,
}

impl Keyboard {
    /// An empty keyboard.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same keyboard with one more row.
    pub fn row(mut self, buttons: impl IntoIterator<Item = Button>) -> Self {
        self.rows.push(buttons.into_iter().collect());
        self
    }
}

/// One inline button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// The visible label.
    pub text: String,
    /// What pressing it does.
    pub action: ButtonAction,
}

/// What pressing a [`Button`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonAction {
    /// Sends callback data (1–64 bytes) back to the bot.
    Callback(String),
    /// Opens a link.
    Url(String),
    /// Opens the main menu: the host sends the home plugin's callback data
    /// (see [`crate::Manifest::home`]), so no plugin hard-codes another's.
    Home,
}

impl Button {
    /// A button that sends `data` back.
    ///
    /// ```
    /// let b = vox_plugin::Button::callback("❌ Отмена", "report_cancel");
    /// assert_eq!(b.text, "❌ Отмена");
    /// ```
    pub fn callback(text: impl Into<String>, data: impl Into<String>) -> Self {
        Self { text: text.into(), action: ButtonAction::Callback(data.into()) }
    }

    /// A button that opens the main menu, whichever plugin is home.
    ///
    /// ```
    /// let b = vox_plugin::Button::home("« Назад");
    /// assert_eq!(b.action, vox_plugin::ButtonAction::Home);
    /// ```
    pub fn home(text: impl Into<String>) -> Self {
        Self { text: text.into(), action: ButtonAction::Home }
    }

    /// A button that opens `url`.
    ///
    /// ```
    /// let b = vox_plugin::Button::url("Docs", "https://example.org");
    /// assert!(matches!(b.action, vox_plugin::ButtonAction::Url(_)));
    /// ```
    pub fn url(text: impl Into<String>, url: impl Into<String>) -> Self {
        Self { text: text.into(), action: ButtonAction::Url(url.into()) }
    }
}

/// A file to upload, with the name the user sees.
///
/// ```
/// let d = vox_plugin::Document::bytes("reports.txt", b"1. ...".to_vec());
/// assert_eq!(d.file_name, "reports.txt");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file name shown in the chat.
    pub file_name: String,
    /// Where the bytes come from.
    pub source: DocumentSource,
}

/// Where a [`Document`]'s bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentSource {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A file on disk, read by the host off the async executor.
    Path(PathBuf),
}

impl Document {
    /// A document from bytes in memory.
    pub fn bytes(file_name: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self { file_name: file_name.into(), source: DocumentSource::Bytes(bytes) }
    }

    /// A document from a file on disk.
    ///
    /// ```
    /// let d = vox_plugin::Document::path("report.txt", "/data/user_1/report.txt");
    /// assert!(matches!(d.source, vox_plugin::DocumentSource::Path(_)));
    /// ```
    pub fn path(file_name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self { file_name: file_name.into(), source: DocumentSource::Path(path.into()) }
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message.
    Text {
        /// Up to 4096 characters.
        text: String,
        /// Inline buttons under it.
        keyboard: Option<Keyboard>,
    },
    /// A document with an optional caption.
    Document {
        /// The file.
        document: Document,
        /// Up to 1024 characters.
        caption: Option<String>,
        /// Inline buttons under it.
        keyboard: Option<Keyboard>,
    },
    /// A picture (PNG or JPEG, up to 10 MB) shown in the chat, with an optional caption.
    Photo {
        /// The image file.
        photo: Document,
        /// Up to 1024 characters.
        caption: Option<String>,
        /// Inline buttons under it.
        keyboard: Option<Keyboard>,
    },
}
