//! The state the server task and every test handle share: the world behind a
//! lock, and the wake-ups for long polls, call waiters and shutdown.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::world::World;

pub(crate) struct Shared {
    /// A std `Mutex`, not tokio's: it is never held across an `.await`, and
    /// the test-side API (`messages`, `calls`, ...) must work from sync code.
    world: Mutex<World>,
    /// Woken when an update is queued, so a held `getUpdates` answers at once.
    updates_queued: Notify,
    /// Woken when a call is recorded, for `wait_call` and the scripted user.
    call_recorded: Notify,
    /// Flips to `true` once, on shutdown.
    stopping: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(world: World) -> Self {
        Self {
            world: Mutex::new(world),
            updates_queued: Notify::new(),
            call_recorded: Notify::new(),
            stopping: watch::Sender::new(false),
        }
    }

    /// The world; a panic in another holder (a failed test assertion while
    /// reading) must not turn every later call into a poison error.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn updates_queued(&self) {
        self.updates_queued.notify_waiters();
    }

    pub(crate) fn call_recorded(&self) {
        self.call_recorded.notify_waiters();
    }

    pub(crate) fn stop(&self) {
        self.stopping.send_replace(true);
        // Held long polls answer now instead of keeping graceful shutdown waiting.
        self.updates_queued.notify_waiters();
        self.call_recorded.notify_waiters();
    }

    pub(crate) fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once `stop` has been called.
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stopping.subscribe();
        async move {
            // An error means the sender is gone, which also means stopping.
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// Polls `check` until it yields a value, sleeping on `updates_queued`
    /// between tries; `None` at the deadline or on shutdown.
    pub(crate) async fn wait_update<T>(
        &self,
        deadline: Instant,
        check: impl FnMut(&mut World) -> Option<T>,
    ) -> Option<T> {
        wait_on(self, &self.updates_queued, deadline, check).await
    }

    /// Like [`Shared::wait_update`], woken by recorded calls instead.
    pub(crate) async fn wait_call<T>(
        &self,
        timeout: Duration,
        check: impl FnMut(&mut World) -> Option<T>,
    ) -> Option<T> {
        wait_on(self, &self.call_recorded, Instant::now() + timeout, check).await
    }
}

async fn wait_on<T>(
    shared: &Shared,
    notify: &Notify,
    deadline: Instant,
    mut check: impl FnMut(&mut World) -> Option<T>,
) -> Option<T> {
    loop {
        // Register interest before looking, so a wake-up between the look
        // and the wait is not lost.
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(found) = check(&mut shared.world()) {
            return Some(found);
        }
        if shared.is_stopping() {
            return None;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return check(&mut shared.world());
        }
    }
}
