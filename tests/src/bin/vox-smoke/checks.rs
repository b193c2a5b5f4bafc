//! The 12 checks, grouped by the scripted user that plays them, so a failure
//! in one group does not cascade into the others:
//!
//! - `checks/start.rs` — 1: the host starts without errors.
//! - `checks/list.rs` — 2, 3, 4: "Мои отчеты" from the main menu, the TXT list, the menu.
//! - `checks/actions.rs` — 5, 6, 7: view, rename, delete, each by its own user; they record
//!   what `checks/aftermath.rs` judges for 8 (confirmations) and 9 (message cleanup).
//! - `checks/timeout.rs` — 10: a number typed after the snapshot's time-to-live.
//! - `checks/lock.rs` — 11: a confirmation pressed several times at once.
//! - `checks/size.rs` — 12: a list over 10 MB is refused.
//! - `checks/flow.rs` — what they share: opening the list, waiting, reading the fake's record.

pub mod actions;
pub mod aftermath;
pub mod flow;
pub mod list;
pub mod lock;
pub mod size;
pub mod start;
pub mod timeout;

use std::time::Duration;

use vox_fake_bot_api::FakeBotApi;

use crate::index::Reports;

/// The Telegram users of the run, one per independent group of checks.
pub mod users {
    /// Checks 2–4.
    pub const LIST: i64 = 770_001;
    /// Check 5.
    pub const VIEW: i64 = 770_002;
    /// Check 6.
    pub const RENAME: i64 = 770_003;
    /// Check 7.
    pub const DELETE: i64 = 770_004;
    /// Check 10.
    pub const TIMEOUT: i64 = 770_005;
    /// Check 11.
    pub const LOCK: i64 = 770_006;
    /// Check 12: the user whose list is over the limit.
    pub const BIG: i64 = 770_007;
    /// The users seeded with the sandbox's demo reports.
    pub const DEMO: [i64; 6] = [LIST, VIEW, RENAME, DELETE, TIMEOUT, LOCK];
}

/// What every check works with.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The fake Telegram the host polls.
    pub api: FakeBotApi,
    /// The reports directory the host serves.
    pub reports: Reports,
    /// The snapshot time-to-live the host was given.
    pub snapshot_ttl: Duration,
}
