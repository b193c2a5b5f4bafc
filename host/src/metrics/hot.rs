//! A family's series the update path asks for by the same `&'static str`
//! labels again and again, found without hashing or locking: a few slots,
//! each set once with a label set and the series' handle (which shares the
//! family's own), compared by the labels' addresses. Anything past the slots,
//! or labels made at run time, goes to the family as before.

use std::sync::OnceLock;

use prometheus_client::metrics::family::{Family, MetricConstructor};

/// Slots per family: the kinds, outcomes or plugin/version/step sets one
/// host serves most; a host with more still counts them all, through the family.
const SLOTS: usize = 24;

/// Label sets whose values are `&'static str`, compared by address.
pub(super) trait SameLabels {
    /// True when every label is the same string at the same address (equal
    /// labels at other addresses are simply another slot, of the same series).
    fn same(&self, other: &Self) -> bool;
}

/// A [`Family`] with its hot series in front.
pub(super) struct Hot<S, M, C = fn() -> M> {
    family: Family<S, M, C>,
    slots: [OnceLock<(S, M)>; SLOTS],
}

impl<S, M, C> Hot<S, M, C>
where
    S: SameLabels + Clone + std::hash::Hash + Eq,
    M: Clone,
    C: MetricConstructor<M>,
{
    pub(super) fn new(family: Family<S, M, C>) -> Self {
        Self { family, slots: std::array::from_fn(|_| OnceLock::new()) }
    }

    /// The family, to register.
    pub(super) fn family(&self) -> &Family<S, M, C> {
        &self.family
    }

    /// Runs `f` on the series of `labels`.
    pub(super) fn with(&self, labels: S, f: impl FnOnce(&M)) {
        for slot in &self.slots {
            match slot.get() {
                Some((held, metric)) if held.same(&labels) => return f(metric),
                Some(_) => {}
                None => {
                    let metric = self.family.get_or_create(&labels).clone();
                    f(&metric);
                    // Another thread may have taken the slot meanwhile: then
                    // this set waits for a later one; the count is already in.
                    let _ = slot.set((labels, metric));
                    return;
                }
            }
        }
        f(&self.family.get_or_create(&labels));
    }
}

impl<S: std::fmt::Debug, M: std::fmt::Debug, C> std::fmt::Debug for Hot<S, M, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hot").field("family", &self.family).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[derive(Clone, Debug, Hash, PartialEq, Eq)]
    struct L(&'static str);

    impl SameLabels for L {
        fn same(&self, other: &Self) -> bool {
            std::ptr::eq(self.0, other.0)
        }
    }

    #[test]
    fn every_count_lands_in_the_familys_series_whatever_the_slots_hold() {
        let hot: Hot<L, Counter> = Hot::new(Family::default());
        // More label sets than slots, each counted twice.
        let names: Vec<&'static str> = (0..SLOTS + 8).map(|i| &*format!("k{i}").leak()).collect();
        for _ in 0..2 {
            for &name in &names {
                hot.with(L(name), |c| {
                    c.inc();
                });
            }
        }
        for &name in &names {
            assert_eq!(hot.family().get_or_create(&L(name)).get(), 2, "{name}");
        }
        // Equal text at another address is the same series.
        let again: &'static str = String::from("k0").leak();
        hot.with(L(again), |c| {
            c.inc();
        });
        assert_eq!(hot.family().get_or_create(&L("k0")).get(), 3);
    }
}
