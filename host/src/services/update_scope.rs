//! What the host knows about the update being served, kept beside its
//! future for as long as it runs: when it arrived (its first Bot API call
//! times the host's share of the reply's latency) and the fields every log
//! line of it carries — update, chat, user, kind, and where it was routed.
//!
//! The JSON log line reads these fields from here instead of from a tracing
//! span: a span costs a registry slot, an extensions map, a lock per recorded
//! field and an enter and exit per poll — about as much again as the line
//! itself. The span is still made where a layer needs it (the human format,
//! trace export): [`update_span_wanted`] says so.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Where an update went; unset parts stay out of the log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route {
    /// The plugin serving it.
    pub plugin: Option<&'static str>,
    /// The version serving it.
    pub version: Option<&'static str>,
    /// Why that version (the rollout's reason).
    pub reason: Option<&'static str>,
    /// The dialogue's step it arrived at.
    pub step: Option<&'static str>,
}

/// One update's scope.
#[derive(Debug)]
pub struct UpdateScope {
    arrived: Cell<Option<Instant>>,
    /// Telegram's update id.
    pub update_id: u32,
    /// The chat.
    pub chat: i64,
    /// The user.
    pub user: i64,
    /// `text`, `command`, `callback`, `unsupported`.
    pub kind: &'static str,
    route: Cell<Route>,
}

impl UpdateScope {
    /// The scope of an update that arrived at `arrived`.
    pub fn new(arrived: Instant, update_id: u32, chat: i64, user: i64, kind: &'static str) -> Self {
        Self { arrived: Cell::new(Some(arrived)), update_id, chat, user, kind, route: Cell::default() }
    }

    /// Where the update went so far.
    pub fn route(&self) -> Route {
        self.route.get()
    }
}

tokio::task_local! {
    static SCOPE: UpdateScope;
}

/// Whether some layer needs the `update` tracing span: true unless the
/// logging set up says otherwise (JSON lines alone read [`current`]).
static UPDATE_SPAN: AtomicBool = AtomicBool::new(true);

/// Says whether the `update` span is needed (the logging's set-up calls it).
pub fn want_update_span(wanted: bool) {
    UPDATE_SPAN.store(wanted, Ordering::Relaxed);
}

/// Whether to make the `update` span.
pub fn update_span_wanted() -> bool {
    UPDATE_SPAN.load(Ordering::Relaxed)
}

/// Runs `serve` inside `scope`. Not an `async fn`: its argument would be kept
/// beside the scope holding it, doubling the update's future, which is
/// copied whole when boxed.
pub fn serving<F: Future>(scope: UpdateScope, serve: F) -> impl Future<Output = F::Output> {
    SCOPE.scope(scope, serve)
}

/// The arrival of the update being served, the first time it is asked for.
pub fn take_arrived() -> Option<Instant> {
    SCOPE.try_with(|s| s.arrived.take()).ok().flatten()
}

/// Records where the update being served went.
pub fn set_route(route: Route) {
    let _ = SCOPE.try_with(|s| s.route.set(route));
}

/// Runs `f` on the scope of the update being served, if any.
pub fn current<R>(f: impl FnOnce(&UpdateScope) -> R) -> Option<R> {
    SCOPE.try_with(f).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scope_is_seen_inside_its_future_only() {
        assert!(current(|_| ()).is_none());
        assert_eq!(take_arrived(), None);
        let arrived = Instant::now();
        serving(UpdateScope::new(arrived, 5, 70, 7, "text"), async move {
            assert_eq!(current(|s| (s.update_id, s.chat, s.user, s.kind)), Some((5, 70, 7, "text")));
            set_route(Route { plugin: Some("echo"), ..Route::default() });
            tokio::task::yield_now().await;
            assert_eq!(current(|s| s.route().plugin), Some(Some("echo")));
            assert_eq!(take_arrived(), Some(arrived));
            assert_eq!(take_arrived(), None, "only the first call takes it");
        })
        .await;
        assert!(current(|_| ()).is_none());
    }
}
