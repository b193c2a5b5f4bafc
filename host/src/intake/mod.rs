//! # Taking updates in
//!
//! Webhook mode's way in: Telegram POSTs an update to [`webhook`]'s listener,
//! which checks the secret header, drops a delivery it already took
//! ([`seen`]), queues the update for its chat ([`chats`]) and answers at once —
//! the handler's work is never on the response path. [`chats`] runs each
//! chat's updates one at a time in `update_id` order, chats in parallel.
//! With the Redis backend the queues live in Redis instead ([`shared`]), so
//! any replica may take a chat's next update.
//! Long polling ([`polling`]) feeds the same per-chat queues. Every way in
//! reads an update with [`crate::dispatch::received`].

pub mod chats;
pub mod polling;
pub mod secret;
pub mod seen;
pub mod shared;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;

use crate::dispatch::Dispatch;
use crate::dispatch::received::Received;

/// What handles one queued update (the host's [`Dispatch`]; tests count).
pub trait Handle: Send + Sync + 'static {
    /// Handles `update` to the end; must not panic (a panic is caught and logged).
    fn handle(self: &Arc<Self>, update: Received) -> impl Future<Output = ()> + Send;
}

impl Handle for Dispatch {
    fn handle(self: &Arc<Self>, update: Received) -> impl Future<Output = ()> + Send {
        Arc::clone(self).handle_received(update)
    }
}

/// Where accepted updates wait for their chat's turn.
pub enum Queue<H> {
    /// In this process (one replica).
    Local(Arc<chats::Chats<H>>),
    /// In Redis, shared by every replica.
    Shared(Arc<shared::SharedQueue>),
}

impl<H> Clone for Queue<H> {
    fn clone(&self) -> Self {
        match self {
            Queue::Local(c) => Queue::Local(Arc::clone(c)),
            Queue::Shared(q) => Queue::Shared(Arc::clone(q)),
        }
    }
}

/// Webhook mode's intake, built with the host.
pub struct Intake {
    /// The HTTP listener.
    pub webhook: Arc<webhook::Webhook>,
    /// The queues it feeds.
    pub queue: Queue<Dispatch>,
}
