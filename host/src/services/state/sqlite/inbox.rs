//! Webhook mode's accepted updates on disk, for one process without Redis:
//! an update is kept in the store file (committed, like a dialogue write)
//! before Telegram is answered 200, forgotten once it has been handled, and
//! whatever is still kept at the next start is handled then. So a host killed
//! with updates in its queues loses none of them; one it was handling when it
//! died is handled again (at-least-once, as with the Redis queues).

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::oneshot;

use super::worker::Op;
use super::{SqliteStore, StateError, unix_ms};

/// The store's inbox table; cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    store: Arc<SqliteStore>,
}

impl Inbox {
    /// The inbox of `store` (the same file and writer thread).
    pub fn new(store: Arc<SqliteStore>) -> Self {
        Self { store }
    }

    /// Keeps `body` (the update as Telegram sent it) once its write has
    /// committed; `false` when this update is kept already (delivered again).
    pub async fn keep(&self, update_id: u32, body: &str) -> Result<bool, StateError> {
        let (tx, rx) = oneshot::channel();
        let now = unix_ms(SystemTime::now());
        self.store.send_only(Op::InboxKeep(update_id, body.to_owned(), now, tx))?;
        self.store.wait(rx).await
    }

    /// Forgets a handled update. Not waited for: if the write is lost, the
    /// next start handles the update again.
    pub fn handled(&self, update_id: u32) {
        if let Err(e) = self.store.send_only(Op::InboxHandled(update_id)) {
            tracing::warn!(update_id, error = %e, "cannot forget a handled update; the next start handles it again");
        }
    }

    /// The kept updates, lowest id first.
    pub async fn waiting(&self) -> Result<Vec<(u32, String)>, StateError> {
        let (tx, rx) = oneshot::channel();
        self.store.send_only(Op::InboxWaiting(tx))?;
        self.store.wait(rx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn kept_updates_survive_a_reopen_until_handled() {
        let dir = std::env::temp_dir().join(format!("vox-inbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state.sqlite3");
        let none = |_: &str, _: Option<&str>, _: &str| None;
        let inbox = Inbox::new(Arc::new(SqliteStore::open(&path, &none).expect("open")));
        assert!(inbox.keep(7, "{\"update_id\":7}").await.expect("keep"));
        assert!(inbox.keep(5, "{\"update_id\":5}").await.expect("keep"));
        assert!(!inbox.keep(7, "{\"update_id\":7}").await.expect("again"), "a second delivery");
        inbox.handled(5);
        let Inbox { store } = inbox;
        Arc::into_inner(store).expect("the only owner").close();

        let inbox = Inbox::new(Arc::new(SqliteStore::open(&path, &none).expect("reopen")));
        assert_eq!(inbox.waiting().await.expect("waiting"), vec![(7, "{\"update_id\":7}".to_owned())]);
        drop(inbox);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
