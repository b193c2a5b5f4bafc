//! Faults a test injects on demand: what can go wrong with one call, and the
//! queue that hands them out to the next matching calls.

use std::time::Duration;

/// What goes wrong with a faulted call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A 429 "Too Many Requests" with `parameters.retry_after` set to these
    /// seconds; teloxide surfaces it as `RequestError::RetryAfter`. The call
    /// has no effect.
    RetryAfter(u32),
    /// An error with this HTTP status and Telegram's usual description for it.
    /// The call has no effect. Note that teloxide sleeps 10 s after any 5xx.
    Status(u16),
    /// An error with this status and description, e.g. 403
    /// "Forbidden: bot was blocked by the user". The call has no effect.
    Api {
        /// The HTTP status and `error_code`.
        status: u16,
        /// The `description`.
        description: String,
    },
    /// The call is answered normally, but only after this delay.
    Delay(Duration),
    /// The connection is closed without any answer and the call has no
    /// effect: the request was lost on its way. The client sees a network error.
    Drop,
    /// The call takes effect (a message is sent, a query answered), then the
    /// connection is closed without an answer: the response was lost on its
    /// way back, so the client cannot know it succeeded.
    LoseResponse,
}

/// One `fault(..)` request: which method, what, and how many calls remain.
#[derive(Debug)]
struct Rule {
    /// Lower-cased method name, `None` for every method (getUpdates included).
    method: Option<String>,
    fault: Fault,
    remaining: usize,
}

/// Pending faults, handed out oldest rule first.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    rules: Vec<Rule>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, method: Option<&str>, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        self.rules.push(Rule { method: method.map(str::to_ascii_lowercase), fault, remaining: times });
    }

    /// The fault for the next call of `method`, using one of its rule's turns.
    pub(crate) fn take(&mut self, method: &str) -> Option<Fault> {
        let index = self
            .rules
            .iter()
            .position(|rule| rule.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)))?;
        let rule = &mut self.rules[index];
        rule.remaining -= 1;
        let fault = rule.fault.clone();
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn pending(&self) -> usize {
        self.rules.iter().map(|r| r.remaining).sum()
    }
}

/// Random faults at a rate, for soaks: each call of one of `methods` gets
/// one of `faults` with probability `per_mille / 1000`, from a seeded
/// sequence (a soak replays from its seed).
#[derive(Debug, Clone)]
pub struct Chaos {
    /// Chance per call, in thousandths.
    pub per_mille: u32,
    /// Faults to pick from, evenly.
    pub faults: Vec<Fault>,
    /// Methods it applies to (as Telegram spells them).
    pub methods: Vec<String>,
    /// The sequence's seed.
    pub seed: u64,
}

/// A [`Chaos`] with its generator and what it handed out.
#[derive(Debug)]
pub(crate) struct ChaosState {
    chaos: Chaos,
    state: u64,
    pub(crate) dealt: usize,
}

impl ChaosState {
    pub(crate) fn new(chaos: Chaos) -> Self {
        let state = chaos.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Self { chaos, state, dealt: 0 }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The fault for this call of `method`, if the dice say so.
    pub(crate) fn roll(&mut self, method: &str) -> Option<Fault> {
        if self.chaos.faults.is_empty() || !self.chaos.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return None;
        }
        if self.next() % 1000 >= u64::from(self.chaos.per_mille) {
            return None;
        }
        self.dealt += 1;
        let pick = (self.next() % self.chaos.faults.len() as u64) as usize;
        self.chaos.faults.get(pick).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_used_up_after_its_turns_and_matches_case_insensitively() {
        let mut queue = FaultQueue::default();
        queue.push(Some("sendMessage"), Fault::Status(502), 2);
        assert_eq!(queue.take("getUpdates"), None);
        assert_eq!(queue.take("SendMessage"), Some(Fault::Status(502)));
        assert_eq!(queue.take("sendmessage"), Some(Fault::Status(502)));
        assert_eq!(queue.take("sendMessage"), None);
    }

    #[test]
    fn a_rule_without_a_method_hits_every_method_in_order() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::Drop, 1);
        queue.push(Some("getMe"), Fault::RetryAfter(3), 1);
        assert_eq!(queue.take("getMe"), Some(Fault::Drop));
        assert_eq!(queue.take("getMe"), Some(Fault::RetryAfter(3)));
        assert_eq!(queue.pending(), 0);
    }
}
