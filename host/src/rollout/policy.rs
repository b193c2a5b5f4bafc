//! Which handler version serves a user: a pure, allocation-free decision over
//! one plugin's policy — enabled versions, the configured version, and an
//! optional canary rollout (kill switch, deny and allow lists, sticky buckets).

use std::fmt;

/// Buckets users are hashed into; `percent` selects the first `percent × 10,000`.
pub const BUCKETS: u64 = 1_000_000;

/// Why a version was chosen, carried with every decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The kill switch is on: everyone gets stable.
    Kill,
    /// The user is on the deny list.
    Deny,
    /// The user is on the allow list.
    Allow,
    /// The user's open dialogue stays on the version that opened it.
    Pinned,
    /// The user's sticky bucket is inside the candidate's percentage.
    BucketIn,
    /// The user's sticky bucket is outside it.
    BucketOut,
    /// The candidate is switched off (`versions.<candidate> = false`).
    CandidateDisabled,
    /// Stable is switched off, so the candidate serves everyone.
    StableDisabled,
    /// No rollout: the configured `version` (or the first declared).
    Configured,
    /// The configured version is off; the only enabled one serves.
    OnlyEnabled,
    /// Every version is off: the feature is unavailable.
    AllDisabled,
    /// The plugin declares no versions.
    Unversioned,
}

impl Reason {
    /// Lower-case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Kill => "kill",
            Reason::Deny => "deny",
            Reason::Allow => "allow",
            Reason::Pinned => "pinned",
            Reason::BucketIn => "bucket_in",
            Reason::BucketOut => "bucket_out",
            Reason::CandidateDisabled => "candidate_disabled",
            Reason::StableDisabled => "stable_disabled",
            Reason::Configured => "configured",
            Reason::OnlyEnabled => "only_enabled",
            Reason::AllDisabled => "all_disabled",
            Reason::Unversioned => "unversioned",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// `None`: no version can serve (all off) or the plugin is unversioned.
    pub version: Option<&'static str>,
    /// Why.
    pub reason: Reason,
}

/// When the host rolls a candidate back by itself (`[plugins.<id>.rollout.auto_rollback]`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoRollback {
    /// Watch the triggers at all.
    pub enabled: bool,
    /// The sliding window, seconds.
    pub window_secs: u64,
    /// Candidate handler failures (errors, panics) in the window that trip it.
    pub max_failures: u64,
    /// Candidate updates in the window before error rates are compared.
    pub min_sample: u64,
    /// Trip when the candidate's error rate exceeds stable's by more than this (0..1).
    pub max_error_rate_delta: f64,
}

impl Default for AutoRollback {
    fn default() -> Self {
        Self { enabled: true, window_secs: 300, max_failures: 5, min_sample: 20, max_error_rate_delta: 0.10 }
    }
}

/// A canary rollout of `candidate` over `stable`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// Who is not selected gets this.
    pub stable: &'static str,
    /// The new version.
    pub candidate: &'static str,
    /// 0..=100, fractions allowed.
    pub percent: f64,
    /// Selected buckets are `0..threshold`.
    threshold: u64,
    /// Sorted user ids that always get the candidate.
    allow: Vec<i64>,
    /// Sorted user ids that never get it.
    deny: Vec<i64>,
    /// Everyone gets stable, at once.
    pub kill: bool,
    /// Hash salt; changing it reshuffles buckets on purpose.
    pub salt: String,
    /// Automatic rollback triggers.
    pub auto: AutoRollback,
}

impl Rollout {
    /// A rollout; `percent` must already be validated to 0..=100.
    pub fn new(
        stable: &'static str,
        candidate: &'static str,
        percent: f64,
        mut allow: Vec<i64>,
        mut deny: Vec<i64>,
        kill: bool,
        salt: String,
    ) -> Self {
        allow.sort_unstable();
        allow.dedup();
        deny.sort_unstable();
        deny.dedup();
        // percent × 10,000 buckets, rounded, so 0.5 % selects exactly 5,000 of 1,000,000.
        let threshold = ((percent * (BUCKETS as f64) / 100.0).round() as u64).min(BUCKETS);
        Self { stable, candidate, percent, threshold, allow, deny, kill, salt, auto: AutoRollback::default() }
    }

    /// The allow list, sorted.
    pub fn allow(&self) -> &[i64] {
        &self.allow
    }

    /// The deny list, sorted.
    pub fn deny(&self) -> &[i64] {
        &self.deny
    }

    /// Whether the user's bucket is inside the percentage.
    pub fn selects(&self, user: i64) -> bool {
        bucket(&self.salt, user) < self.threshold
    }
}

/// One plugin's version policy, compiled from config.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Declared versions and whether each is enabled, in declaration order.
    pub versions: Vec<(&'static str, bool)>,
    /// The configured `version` (the first declared by default).
    pub configured: Option<&'static str>,
    /// The canary rollout, if configured.
    pub rollout: Option<Rollout>,
}

impl Policy {
    /// The policy of an unversioned plugin.
    pub fn unversioned() -> Self {
        Self { versions: Vec::new(), configured: None, rollout: None }
    }

    /// Whether `version` is declared and switched on.
    pub fn is_enabled(&self, version: &str) -> bool {
        self.versions.iter().any(|(v, on)| *on && *v == version)
    }

    fn first_enabled(&self) -> Option<&'static str> {
        self.versions.iter().find(|(_, on)| *on).map(|(v, _)| *v)
    }

    /// Decides the version for `user`. `pinned` is the version of the user's
    /// open dialogue, if any. Precedence: kill > deny > allow > pinned > bucket;
    /// a switched-off version is never chosen.
    #[inline]
    pub fn decide(&self, user: i64, pinned: Option<&'static str>) -> Decision {
        if self.versions.is_empty() {
            return Decision { version: None, reason: Reason::Unversioned };
        }
        let Some(first) = self.first_enabled() else {
            return Decision { version: None, reason: Reason::AllDisabled };
        };
        let pinned = pinned.filter(|p| self.is_enabled(p));
        let Some(r) = &self.rollout else {
            if let Some(p) = pinned {
                return Decision { version: Some(p), reason: Reason::Pinned };
            }
            return match self.configured.filter(|c| self.is_enabled(c)) {
                Some(c) => Decision { version: Some(c), reason: Reason::Configured },
                None => Decision { version: Some(first), reason: Reason::OnlyEnabled },
            };
        };
        let stable_on = self.is_enabled(r.stable);
        let candidate_on = self.is_enabled(r.candidate);
        let stable = |reason| {
            if stable_on {
                Decision { version: Some(r.stable), reason }
            } else if candidate_on && !r.kill {
                Decision { version: Some(r.candidate), reason: Reason::StableDisabled }
            } else {
                Decision { version: Some(first), reason: Reason::OnlyEnabled }
            }
        };
        let candidate = |reason| {
            if candidate_on {
                Decision { version: Some(r.candidate), reason }
            } else {
                stable(Reason::CandidateDisabled)
            }
        };
        if r.kill {
            return stable(Reason::Kill);
        }
        if r.deny.binary_search(&user).is_ok() {
            return stable(Reason::Deny);
        }
        if r.allow.binary_search(&user).is_ok() {
            return candidate(Reason::Allow);
        }
        if let Some(p) = pinned {
            return Decision { version: Some(p), reason: Reason::Pinned };
        }
        if r.selects(user) { candidate(Reason::BucketIn) } else { stable(Reason::BucketOut) }
    }
}

/// The user's sticky bucket in `0..BUCKETS`: FNV-1a (64-bit) over the salt's
/// UTF-8 bytes, `:`, and the user id in decimal, then MurmurHash3's 64-bit
/// finalizer for an even spread. Frozen by test vectors: changing it moves users.
pub fn bucket(salt: &str, user: i64) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    };
    salt.bytes().for_each(&mut feed);
    feed(b':');
    // The decimal digits without allocating: at most 20 of them and a sign.
    let mut digits = [0u8; 20];
    let mut n = user.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if user < 0 {
        feed(b'-');
    }
    digits[..len].iter().rev().for_each(|&d| feed(d));
    fmix64(h) % BUCKETS
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rollout: Option<Rollout>, v1: bool, v2: bool) -> Policy {
        Policy { versions: vec![("v1", v1), ("v2", v2)], configured: Some("v1"), rollout }
    }

    fn canary(percent: f64, allow: Vec<i64>, deny: Vec<i64>, kill: bool) -> Rollout {
        Rollout::new("v1", "v2", percent, allow, deny, kill, "my-reports-v2".into())
    }

    /// Computed once (also by an independent Python implementation) and frozen:
    /// changing the hash would move users between versions mid-rollout.
    const VECTORS: [(&str, i64, u64); 5] = [
        ("my-reports-v2", 1, 362567),
        ("my-reports-v2", 111, 125386),
        ("my-reports-v2", -100, 16965),
        ("salt", 5000000000, 727548),
        ("", 0, 174085),
    ];

    #[test]
    fn buckets_are_frozen_by_test_vectors() {
        for (salt, user, want) in VECTORS {
            assert_eq!(bucket(salt, user), want, "bucket({salt:?}, {user})");
        }
    }

    #[test]
    fn raising_the_percentage_only_adds_users() {
        // Property: for p < q, everyone selected at p is selected at q.
        let percents = [0.0, 0.5, 1.0, 5.0, 25.0, 33.3, 50.0, 99.9, 100.0];
        for (i, &p) in percents.iter().enumerate() {
            for &q in &percents[i + 1..] {
                let (rp, rq) = (canary(p, vec![], vec![], false), canary(q, vec![], vec![], false));
                for user in (1..20_000).chain([i64::MAX, -7]) {
                    assert!(
                        !rp.selects(user) || rq.selects(user),
                        "user {user} selected at {p}% but not at {q}%"
                    );
                }
            }
        }
    }

    #[test]
    fn the_percentage_selects_about_that_share_and_the_salt_reshuffles() {
        let r = canary(5.0, vec![], vec![], false);
        let selected = (1..=100_000).filter(|&u| r.selects(u)).count();
        assert!((4_500..=5_500).contains(&selected), "{selected} of 100,000 at 5%");
        assert_eq!((1..=1000).filter(|&u| canary(0.0, vec![], vec![], false).selects(u)).count(), 0);
        assert_eq!((1..=1000).filter(|&u| canary(100.0, vec![], vec![], false).selects(u)).count(), 1000);
        let other = Rollout::new("v1", "v2", 5.0, vec![], vec![], false, "another-salt".into());
        let moved = (1..=10_000).filter(|&u| r.selects(u) != other.selects(u)).count();
        assert!(moved > 500, "a new salt reshuffles: {moved} moved");
    }

    #[test]
    fn precedence_is_kill_deny_allow_pinned_bucket() {
        let p = policy(Some(canary(100.0, vec![111, 333], vec![333], false)), true, true);
        assert_eq!(p.decide(1, None), Decision { version: Some("v2"), reason: Reason::BucketIn });
        assert_eq!(
            p.decide(333, None),
            Decision { version: Some("v1"), reason: Reason::Deny },
            "deny beats allow"
        );
        assert_eq!(
            p.decide(111, Some("v1")),
            Decision { version: Some("v2"), reason: Reason::Allow },
            "allow beats pin"
        );
        let zero = policy(Some(canary(0.0, vec![], vec![], false)), true, true);
        assert_eq!(zero.decide(5, Some("v2")), Decision { version: Some("v2"), reason: Reason::Pinned });
        assert_eq!(zero.decide(5, None), Decision { version: Some("v1"), reason: Reason::BucketOut });
        let killed = policy(Some(canary(100.0, vec![111], vec![], true)), true, true);
        assert_eq!(killed.decide(111, Some("v2")), Decision { version: Some("v1"), reason: Reason::Kill });
    }

    #[test]
    fn switched_off_versions_are_never_chosen() {
        let v1_off = policy(Some(canary(0.0, vec![], vec![], false)), false, true);
        assert_eq!(v1_off.decide(5, None), Decision { version: Some("v2"), reason: Reason::StableDisabled });
        assert_eq!(
            v1_off.decide(5, Some("v1")).version,
            Some("v2"),
            "a pin to a disabled version does not hold"
        );
        let v2_off = policy(Some(canary(100.0, vec![5], vec![], false)), true, false);
        assert_eq!(
            v2_off.decide(5, None),
            Decision { version: Some("v1"), reason: Reason::CandidateDisabled }
        );
        let none = policy(Some(canary(50.0, vec![], vec![], false)), false, false);
        assert_eq!(none.decide(5, None), Decision { version: None, reason: Reason::AllDisabled });
        let plain = policy(None, false, true);
        assert_eq!(plain.decide(5, None), Decision { version: Some("v2"), reason: Reason::OnlyEnabled });
        let configured = policy(None, true, true);
        assert_eq!(configured.decide(5, None), Decision { version: Some("v1"), reason: Reason::Configured });
        assert_eq!(
            configured.decide(5, Some("v2")),
            Decision { version: Some("v2"), reason: Reason::Pinned }
        );
        assert_eq!(Policy::unversioned().decide(5, None).reason, Reason::Unversioned);
    }
}
