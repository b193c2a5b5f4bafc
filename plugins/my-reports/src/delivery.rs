//! Sending a report file: missing files and files over Telegram's 50 MB limit
//! become clear answers instead of failed uploads.

use std::path::Path;

use vox_plugin::{Ctx, Document, HostError, Keyboard, MessageKind};

/// Telegram's upload limit for bots.
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// What happened to a report file we tried to send.
#[derive(Debug)]
pub enum Delivery {
    /// Sent; its size in bytes.
    Sent(u64),
    /// Not on disk.
    Missing,
    /// Larger than Telegram takes.
    TooLarge(u64),
    /// Telegram or the disk failed.
    Failed(HostError),
}

/// Sends the file at `path` as `file_name` with `caption`.
pub async fn send_file(
    ctx: &Ctx,
    path: &Path,
    file_name: &str,
    caption: String,
    keyboard: Option<Keyboard>,
) -> Delivery {
    let len = match tokio::fs::metadata(path).await {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Delivery::Missing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Delivery::Missing,
        Err(e) => return Delivery::Failed(HostError::File(e)),
    };
    if len > MAX_UPLOAD_BYTES {
        return Delivery::TooLarge(len);
    }
    let document = Document::path(file_name, path);
    match ctx.send_document(MessageKind::Info, document, Some(caption), keyboard).await {
        Ok(_) => Delivery::Sent(len),
        Err(HostError::File(e)) if e.kind() == std::io::ErrorKind::NotFound => Delivery::Missing,
        Err(e) => Delivery::Failed(e),
    }
}

/// The file name users see: the last part of the stored path.
pub fn file_name(file_path: &str) -> &str {
    file_path.rsplit('/').next().unwrap_or(file_path)
}
