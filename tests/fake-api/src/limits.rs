//! Telegram's flood limits, enforced when a test asks (off by default): a send
//! or edit over them is refused with 429 and `retry_after`, as Telegram does.
//! The fake reads the documented limits as sliding windows: at most 30
//! messages in any second per bot, 6 in any second per private chat (one a
//! second, "short bursts allowed"), 20 in any minute per group.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Methods that count as messages.
const LIMITED: [&str; 4] = ["sendMessage", "sendDocument", "sendPhoto", "editMessageText"];

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// (most messages, window)
const OVERALL: (usize, Duration) = (30, SECOND);
const PRIVATE: (usize, Duration) = (6, SECOND);
const GROUP: (usize, Duration) = (20, MINUTE);

/// Recent sends per bot and per chat.
#[derive(Debug, Default)]
pub(crate) struct RateWindows {
    overall: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
}

fn fits(
    times: &mut VecDeque<Instant>,
    (most, window): (usize, Duration),
    now: Instant,
) -> Result<(), Duration> {
    while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
        times.pop_front();
    }
    match times.front() {
        Some(oldest) if times.len() >= most => Err(window - now.duration_since(*oldest)),
        _ => Ok(()),
    }
}

impl RateWindows {
    /// Records a call of `method` to `chat` at `now`, or says how long to wait.
    pub(crate) fn admit(&mut self, method: &str, chat: Option<i64>, now: Instant) -> Result<(), u32> {
        let Some(chat) = chat.filter(|_| LIMITED.contains(&method)) else { return Ok(()) };
        let per_chat = if chat < 0 { GROUP } else { PRIVATE };
        let chat_times = self.chats.entry(chat).or_default();
        let wait = fits(&mut self.overall, OVERALL, now).err().max(fits(chat_times, per_chat, now).err());
        if let Some(wait) = wait {
            // Telegram's retry_after is whole seconds, at least one.
            return Err(u32::try_from(wait.as_millis().div_ceil(1000).max(1)).unwrap_or(u32::MAX));
        }
        self.overall.push_back(now);
        chat_times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_chat_takes_six_a_second_and_the_bot_thirty() {
        let mut w = RateWindows::default();
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(w.admit("sendMessage", Some(1), t0), Ok(()));
        }
        assert_eq!(w.admit("sendMessage", Some(1), t0), Err(1));
        assert_eq!(w.admit("answerCallbackQuery", Some(1), t0), Ok(()), "not a message");
        assert_eq!(w.admit("sendMessage", Some(1), t0 + SECOND), Ok(()), "the window moved on");
        for chat in 2..31 {
            assert_eq!(w.admit("sendMessage", Some(chat), t0 + SECOND), Ok(()), "chat {chat}");
        }
        assert!(w.admit("sendMessage", Some(99), t0 + SECOND).is_err(), "the 31st in a second");
    }

    #[test]
    fn a_group_takes_twenty_a_minute() {
        let mut w = RateWindows::default();
        let t0 = Instant::now();
        for i in 0..20 {
            assert_eq!(w.admit("sendMessage", Some(-5), t0 + Duration::from_secs(i)), Ok(()));
        }
        assert!(w.admit("editMessageText", Some(-5), t0 + Duration::from_secs(30)).is_err());
    }
}
