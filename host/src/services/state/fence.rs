//! Fencing tokens: the number a chat's lease was taken with (see the Redis
//! intake), in force for everything one update's handling writes. A store
//! that keeps state for several replicas refuses a write whose token is older
//! than the chat's newest lease — the write of a replica that was paused past
//! its lease while another took the chat over. A task-local rather than a
//! parameter: plugins write through the SDK, which knows nothing of leases.

use std::future::Future;

tokio::task_local! {
    static FENCE: u64;
}

/// Runs `f` with writes fenced by `token`.
pub async fn fenced<F: Future>(token: u64, f: F) -> F::Output {
    FENCE.scope(token, f).await
}

/// The token in force, 0 when none (one process; nothing to fence against).
pub fn current() -> u64 {
    FENCE.try_with(|t| *t).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_in_force_inside_its_scope_only() {
        assert_eq!(current(), 0);
        assert_eq!(fenced(7, async { current() }).await, 7);
        assert_eq!(current(), 0);
    }
}
