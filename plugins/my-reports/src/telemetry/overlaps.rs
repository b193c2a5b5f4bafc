//! The plan's yellow trigger "the per-user lock is not working": each
//! confirmed action marks its user as acting while it runs (under the user's
//! lock), so a second action of the same user that starts meanwhile — which
//! the lock should have made impossible — is seen, counted and logged. It
//! watches this process; across replicas the Redis lock is the one to trust.

use std::collections::HashMap;
use std::sync::Mutex;

/// Users acting now, with how many actions each has running.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<i64, u32>>);

/// One running action; the user is no longer acting when the last is dropped.
#[must_use = "the action runs while this is held"]
pub struct Acting<'a> {
    table: &'a InFlight,
    user: i64,
}

impl InFlight {
    /// Marks `user` as acting; `true` with it when another action of the user
    /// is running already (an overlap).
    pub fn enter(&self, user: i64) -> (Acting<'_>, bool) {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let running = table.entry(user).or_default();
        *running += 1;
        (Acting { table: self, user }, *running > 1)
    }
}

impl Drop for Acting<'_> {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = table.get_mut(&self.user) {
            *running -= 1;
            if *running == 0 {
                table.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_action_of_a_user_is_an_overlap_until_the_first_ends() {
        let flight = InFlight::default();
        let (first, overlapped) = flight.enter(1);
        assert!(!overlapped);
        assert!(!flight.enter(2).1, "other users are apart");
        let (second, overlapped) = flight.enter(1);
        assert!(overlapped);
        drop((first, second));
        assert!(!flight.enter(1).1, "both ended");
        assert!(flight.0.lock().expect("table").is_empty() || flight.0.lock().expect("table").len() <= 1);
    }
}
