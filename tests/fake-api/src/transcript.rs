//! A human-readable dump of one chat, in the order things happened, for
//! failure messages and the sandbox.

use std::fmt::Write as _;

use crate::types::Button;
use crate::world::{ChatKind, ChatState, Content, Event, Sender, StoredMessage, World};

/// The chat's story: messages as sent, edits, deletions, presses, answers and
/// refused calls, then which bot messages are still visible.
pub(crate) fn render(world: &World, chat: i64) -> String {
    let Some(state) = world.chat(chat) else {
        return format!("chat {chat}: nothing happened in this chat\n");
    };
    let mut out = String::new();
    let _ = writeln!(out, "chat {chat} ({}):", describe(state));
    for event in &state.events {
        render_event(&mut out, state, event);
    }
    let visible: Vec<String> = state
        .messages
        .iter()
        .filter(|m| matches!(m.sender, Sender::Bot) && !m.deleted)
        .map(|m| format!("#{}", m.id))
        .collect();
    let _ = writeln!(
        out,
        "  visible bot messages: {}",
        if visible.is_empty() { "none".to_owned() } else { visible.join(", ") }
    );
    if !state.reply_keyboard.is_empty() {
        let _ = writeln!(out, "  reply keyboard: {}", reply_row(&state.reply_keyboard));
    }
    out
}

fn describe(state: &ChatState) -> String {
    match &state.kind {
        ChatKind::Private { first_name, .. } => format!("private, {first_name}"),
        ChatKind::Group { title } => format!("group \"{title}\""),
        ChatKind::Supergroup { title } => format!("supergroup \"{title}\""),
    }
}

fn render_event(out: &mut String, state: &ChatState, event: &Event) {
    let message = |id: &i32| state.message(*id);
    let _ = match event {
        Event::UserSent(id) => match message(id) {
            Some(m) => {
                let who = match &m.sender {
                    Sender::User(u) => u.first_name.as_str(),
                    Sender::Bot => "bot",
                };
                writeln!(out, "  #{id} {who}: {}", indent(m.current.text.as_deref().unwrap_or_default()))
            }
            None => Ok(()),
        },
        Event::BotSent(id) => match message(id) {
            Some(m) => {
                let _ = write!(out, "  #{id} bot: ");
                render_content(out, m, m.version(0));
                Ok(())
            }
            None => Ok(()),
        },
        Event::Edited { id, version } => match message(id) {
            Some(m) => {
                let _ = write!(out, "  ✎ #{id} edited to: ");
                render_content(out, m, m.version(*version));
                Ok(())
            }
            None => Ok(()),
        },
        Event::Deleted(id) => writeln!(out, "  ✗ #{id} deleted"),
        Event::Pressed { query, message_id, data, user } => {
            writeln!(out, "  ▸ {user} pressed {data:?} on #{message_id} (query {query})")
        }
        Event::Answered { query, answer } => writeln!(
            out,
            "  ◂ query {query} answered{}{}",
            answer.text.as_deref().map(|t| format!(": {t:?}")).unwrap_or_default(),
            if answer.show_alert { " (alert)" } else { "" }
        ),
        Event::Refused { method, description } => writeln!(out, "  ! {method} failed: {description}"),
        Event::Filtered { kind } => {
            writeln!(out, "  ! a {kind} update was not queued: the bot's allowed_updates excludes it")
        }
    };
}

fn render_content(out: &mut String, m: &StoredMessage, content: &Content) {
    if let Some(file) = &m.document {
        let icon = if m.photo { "🖼️" } else { "📎" };
        let _ = write!(out, "{icon} {} ({} bytes)", file.file_name, file.bytes.len());
        if let Some(caption) = &content.caption {
            let _ = write!(out, " {}", indent(caption));
        }
    } else {
        let _ = write!(out, "{}", indent(content.text.as_deref().unwrap_or_default()));
    }
    out.push('\n');
    if !content.keyboard.is_empty() {
        let _ = writeln!(out, "       {}", keyboard(&content.keyboard));
    }
}

/// Continuation lines of a multi-line text line up under the first.
fn indent(text: &str) -> String {
    text.replace('\n', "\n       ")
}

fn keyboard(rows: &[Vec<Button>]) -> String {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|b| match (&b.callback_data, &b.url) {
                    (Some(data), _) => format!("[{} → {data}]", b.text),
                    (None, Some(url)) => format!("[{} ↗ {url}]", b.text),
                    (None, None) => format!("[{}]", b.text),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n       ")
}

fn reply_row(rows: &[Vec<String>]) -> String {
    rows.iter()
        .map(|row| row.iter().map(|label| format!("[{label}]")).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" / ")
}
