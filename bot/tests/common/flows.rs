//! Whole my-reports flows by simulated users, for the tests that drive a
//! child `vox-host` (the soak, the replicas): list, then view, rename or
//! delete one report, each confirmed — and the reports they start from.
//! Included by several test binaries, each using part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use vox_fake_bot_api::ScriptedUser;

/// Reports each user starts with.
pub const SEEDED: u32 = 10;

/// A small seeded generator per user.
pub struct Dice(pub u64);

impl Dice {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Where users wait between two steps of a dialogue while a test holds them
/// (to kill a replica with every user mid-dialogue and nothing in flight).
#[derive(Default)]
pub struct Gate {
    closed: std::sync::atomic::AtomicBool,
    parked: std::sync::atomic::AtomicUsize,
    opened: tokio::sync::Notify,
}

impl Gate {
    /// Users stop before their next step.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Users go on.
    pub fn open(&self) {
        self.closed.store(false, Ordering::SeqCst);
        self.opened.notify_waiters();
    }

    /// Users waiting at the gate.
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::SeqCst)
    }

    async fn pass(gate: Option<&Gate>) {
        let Some(gate) = gate else { return };
        if !gate.closed.load(Ordering::SeqCst) {
            return;
        }
        gate.parked.fetch_add(1, Ordering::SeqCst);
        loop {
            let opened = gate.opened.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            if !gate.closed.load(Ordering::SeqCst) {
                break;
            }
            opened.await;
        }
        gate.parked.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the users did, in all.
#[derive(Default)]
pub struct Counts {
    /// Updates sent.
    pub updates: AtomicU64,
    /// Documents the users were sent (lists and viewed reports).
    pub documents: AtomicU64,
    /// Flows finished.
    pub flows: AtomicU64,
}

async fn open_list(user: &mut ScriptedUser, counts: &Counts, documents: &mut u64, gate: Option<&Gate>) {
    *documents += 1;
    Gate::pass(gate).await;
    user.send_text("/reports");
    user.expect_document().await;
    user.expect_text("Выберите действие").await;
    counts.updates.fetch_add(1, Ordering::Relaxed);
    counts.documents.fetch_add(1, Ordering::Relaxed);
}

/// One user's flows until `keep_going` says stop (checked before each flow),
/// waiting at `gate` before each step while it is closed; the documents the
/// user was sent.
pub async fn user_flows(
    mut user: ScriptedUser,
    id: i64,
    counts: &Counts,
    gate: Option<&Gate>,
    keep_going: impl Fn(&Counts) -> bool,
) -> u64 {
    let mut documents = 0;
    let mut dice = Dice(id as u64 * 2_654_435_761 + 1);
    let mut numbers: Vec<u32> = (1..=SEEDED).collect();
    let mut round = 0u32;
    while keep_going(counts) {
        round += 1;
        open_list(&mut user, counts, &mut documents, gate).await;
        let number = numbers[dice.below(numbers.len() as u64) as usize];
        let pick = dice.below(10);
        if pick < 6 {
            Gate::pass(gate).await;
            user.press("Посмотреть");
            user.expect_text("Какой отчет прислать?").await;
            Gate::pass(gate).await;
            user.send_text(&number.to_string());
            user.expect_text(&format!("Прислать отчет №{number}")).await;
            Gate::pass(gate).await;
            user.press("Да, прислать");
            user.expect_document().await;
            user.expect_text(&format!("Отчет №{number} отправлен")).await;
            counts.updates.fetch_add(3, Ordering::Relaxed);
            counts.documents.fetch_add(1, Ordering::Relaxed);
            documents += 1;
        } else if pick < 9 || numbers.len() <= 3 {
            Gate::pass(gate).await;
            user.press("Переименовать");
            user.expect_text("Какой отчет переименовать?").await;
            Gate::pass(gate).await;
            user.send_text(&number.to_string());
            user.expect_text(&format!("Введите новое название для отчета №{number}")).await;
            Gate::pass(gate).await;
            user.send_text(&format!("Название {id}-{round}"));
            user.expect_text(&format!("→ «Название {id}-{round}»")).await;
            Gate::pass(gate).await;
            user.press("Да, переименовать");
            user.expect_text(&format!("Отчет №{number} переименован")).await;
            counts.updates.fetch_add(4, Ordering::Relaxed);
        } else {
            Gate::pass(gate).await;
            user.press("Удалить");
            user.expect_text("Какой отчет удалить?").await;
            Gate::pass(gate).await;
            user.send_text(&number.to_string());
            user.expect_text(&format!("Удалить отчет №{number}")).await;
            Gate::pass(gate).await;
            user.press("Да, удалить");
            user.expect_text("удален").await;
            numbers.retain(|n| *n != number);
            counts.updates.fetch_add(3, Ordering::Relaxed);
        }
        counts.flows.fetch_add(1, Ordering::Relaxed);
    }
    documents
}

/// [`SEEDED`] reports for each of `users` (import keeps their numbers).
pub fn seed(dir: &std::path::Path, users: impl IntoIterator<Item = i64>) {
    let batch = users
        .into_iter()
        .flat_map(|user| (1..=SEEDED).map(move |number| (user, number)))
        .map(|(user, number)| {
            let content = format!("Отчет {number} пользователя {user}").into_bytes();
            let report = vox_report_store::Report {
                number,
                file_path: format!("user_{user}/voxpersona_20250101_1000{number:02}.txt"),
                user_id: user,
                username: None,
                title: format!("Отчет {number}"),
                timestamp: chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
                    .and_then(|d| d.and_hms_opt(10, 0, number))
                    .expect("timestamp"),
                size_bytes: content.len() as u64,
                tokens: 1,
                search_type: "fast".into(),
                job_id: None,
            };
            vox_report_store::Imported { report, content }
        })
        .collect();
    vox_report_store::Storage::open(dir).expect("reports dir").import_blocking(batch).expect("seed");
}
