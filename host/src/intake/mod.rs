//! # Taking updates in
//!
//! Webhook mode's way in: Telegram POSTs an update to [`webhook`]'s listener,
//! which checks the secret header, drops a delivery it already took
//! ([`seen`]), queues the update for its chat ([`chats`]) and answers at once —
//! the handler's work is never on the response path. [`chats`] runs each
//! chat's updates one at a time in `update_id` order, chats in parallel.
//! Long polling needs none of this: teloxide's dispatcher does the same for
//! polled updates (see `app::serve`).

pub mod chats;
pub mod secret;
pub mod seen;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;

use teloxide::types::Update;

use crate::dispatch::Dispatch;

/// What handles one queued update (the host's [`Dispatch`]; tests count).
pub trait Handle: Send + Sync + 'static {
    /// Handles `update` to the end; must not panic (a panic is caught and logged).
    fn handle(self: &Arc<Self>, update: Update) -> impl Future<Output = ()> + Send;
}

impl Handle for Dispatch {
    fn handle(self: &Arc<Self>, update: Update) -> impl Future<Output = ()> + Send {
        self.handle_update(update)
    }
}

/// Webhook mode's intake, built with the host.
pub struct Intake {
    /// The HTTP listener.
    pub webhook: Arc<webhook::Webhook>,
    /// The per-chat queues it feeds.
    pub chats: Arc<chats::Chats<Dispatch>>,
}
