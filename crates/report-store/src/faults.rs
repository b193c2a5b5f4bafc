//! Test-only fault points: the next writes or removals of a file whose name
//! contains a given text fail on this thread with a given error, so tests can
//! fail one step of an operation (the index write, the report file's removal)
//! and check what the store then tells and keeps.

use std::cell::RefCell;
use std::io;
use std::path::Path;

/// Which file call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// [`crate::atomic::write_atomic`] (before anything is written).
    Write,
    /// [`crate::atomic::remove_durably`] (before the file is removed).
    Remove,
}

struct Planned {
    call: Call,
    name: &'static str,
    times: u32,
    kind: io::ErrorKind,
}

thread_local! {
    static PLANS: RefCell<Vec<Planned>> = const { RefCell::new(Vec::new()) };
}

/// The next `times` `call`s on a file whose name contains `name` fail with `kind`.
pub(crate) fn inject(call: Call, name: &'static str, times: u32, kind: io::ErrorKind) {
    PLANS.with(|p| p.borrow_mut().push(Planned { call, name, times, kind }));
}

/// Drops every planned fault of this thread.
pub(crate) fn clear() {
    PLANS.with(|p| p.borrow_mut().clear());
}

/// Fails if a fault is planned for `call` on `path`.
pub(crate) fn check(call: Call, path: &Path) -> io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    PLANS.with(|p| {
        let mut plans = p.borrow_mut();
        let Some(plan) = plans.iter_mut().find(|f| f.call == call && f.times > 0 && name.contains(f.name))
        else {
            return Ok(());
        };
        plan.times -= 1;
        Err(io::Error::new(plan.kind, format!("injected fault on {name}")))
    })
}
