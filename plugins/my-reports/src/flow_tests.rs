//! Unit tests of both versions' flows, driven through [`RecordingHost`]: no
//! Telegram, real files in a temp directory, the host's clock moved by hand.

use std::path::PathBuf;
use std::time::Duration;

use vox_plugin::testing::{Recorded, RecordingHost};
use vox_plugin::{ButtonAction, Input, MessageKind, Outgoing, Plugin, Setup};

use crate::storage::NewReport;
use crate::{Config, MyReports, steps};

const USER: i64 = 42;

struct Fixture {
    dir: PathBuf,
    plugin: MyReports,
    host: RecordingHost,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str, reports: u32, config: Config) -> Fixture {
    let dir = std::env::temp_dir().join(format!("vox-my-reports-flow-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config { reports_dir: dir.clone(), ..config };
    let plugin = MyReports::new(config, &Setup::new(&dir)).expect("plugin builds");
    for i in 1..=reports {
        let ts = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
            .expect("date")
            .and_hms_opt(10, i / 60, i % 60)
            .expect("time");
        plugin
            .storage()
            .save_report_blocking(NewReport {
                user_id: USER,
                username: Some("alice".into()),
                title: format!("Отчет {i}"),
                search_type: "fast".into(),
                job_id: None,
                tokens: 10,
                content: format!("Содержимое отчета {i}").into_bytes(),
                timestamp: Some(ts),
            })
            .expect("seed report");
    }
    Fixture { dir, plugin, host: RecordingHost::for_manifest(&crate::MANIFEST) }
}

impl Fixture {
    async fn press(&self, version: &'static str, data: &str) {
        let input = Input::Callback { query_id: "q".into(), data: data.into(), message_id: Some(1) };
        let mut ctx = self.host.ctx("my_reports", Some(version), USER, input);
        self.plugin.handle(&mut ctx).await.expect("handler succeeds");
    }

    async fn type_text(&self, text: &str) {
        let version = self.host.step(USER).and_then(|s| s.version).unwrap_or("v2");
        let mut ctx = self.host.ctx("my_reports", Some(version), USER, Input::Text(text.into()));
        self.plugin.handle(&mut ctx).await.expect("handler succeeds");
    }

    /// The callback data of the newest button whose label contains `label`.
    fn button(&self, label: &str) -> String {
        self.host
            .log()
            .iter()
            .rev()
            .find_map(|r| match r {
                Recorded::Sent { message: Outgoing::Text { keyboard: Some(kb), .. }, .. } => {
                    kb.rows.iter().flatten().find(|b| b.text.contains(label)).and_then(|b| match &b.action {
                        ButtonAction::Callback(d) => Some(d.clone()),
                        ButtonAction::Url(_) | ButtonAction::Home => None,
                    })
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no button {label:?} in {:#?}", self.host.log()))
    }

    fn last_text(&self) -> String {
        self.host.texts(USER).last().cloned().unwrap_or_default()
    }

    fn documents(&self) -> Vec<(String, Option<String>)> {
        self.host
            .log()
            .iter()
            .filter_map(|r| match r {
                Recorded::Sent { message: Outgoing::Document { document, caption, .. }, .. } => {
                    Some((document.file_name.clone(), caption.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn answers(&self) -> Vec<Option<String>> {
        self.host
            .log()
            .iter()
            .filter_map(|r| match r {
                Recorded::Answered { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    async fn open(&self) {
        self.press("v2", crate::SHOW_MY_REPORTS).await;
    }
}

#[tokio::test]
async fn no_reports_sends_a_friendly_message_and_no_file() {
    let f = fixture("none", 0, Config::default());
    f.open().await;
    assert!(f.last_text().contains("нет сохраненных отчетов"));
    assert!(f.documents().is_empty());
    f.press("v1", crate::SHOW_MY_REPORTS).await;
    assert!(f.last_text().contains("нет сохраненных отчетов"));
}

#[tokio::test]
async fn with_reports_the_list_file_and_menu_are_sent() {
    let f = fixture("some", 3, Config::default());
    f.open().await;
    let docs = f.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].0, "Мои_отчеты.txt");
    assert!(docs[0].1.as_deref().is_some_and(|c| c.contains('3')));
    assert!(f.button("Посмотреть").starts_with("report_view:"));
    assert_eq!(f.plugin.metrics.v2.lists_sent.get(), 1);
    assert_eq!(f.plugin.metrics.v2.list_reports_total.get(), 3);
}

#[tokio::test]
async fn numbers_are_validated_with_reasons_and_retries() {
    let f = fixture("numbers", 3, Config::default());
    f.open().await;
    f.press("v2", &f.button("Посмотреть")).await;
    assert_eq!(f.host.step(USER).map(|s| s.name), Some(steps::VIEW_ASK_NUMBER));
    f.type_text("abc").await;
    assert!(f.last_text().contains("не номер"), "{}", f.last_text());
    f.type_text("999").await;
    assert!(f.last_text().contains("Отчета №999 нет в этом списке"), "{}", f.last_text());
    assert!(f.last_text().contains("Осталось попыток: 1"), "{}", f.last_text());
    f.type_text("2").await;
    assert!(f.last_text().contains("Прислать отчет №2 «Отчет 2»?"), "{}", f.last_text());
    assert_eq!(f.plugin.metrics.v2.invalid_inputs.get(), 2);
}

#[tokio::test]
async fn view_rename_and_delete_do_what_they_say() {
    let f = fixture("flows", 3, Config::default());
    f.open().await;
    f.press("v2", &f.button("Посмотреть")).await;
    f.type_text("1").await;
    f.press("v2", &f.button("Да, прислать")).await;
    assert_eq!(f.documents().last().map(|d| d.1.clone()), Some(Some("№1: Отчет 1".to_owned())));

    f.press("v2", &f.button("Переименовать")).await;
    f.type_text("1").await;
    f.type_text("Новое имя").await;
    f.press("v2", &f.button("Да, переименовать")).await;
    assert_eq!(
        f.plugin.storage().get_blocking(USER, 1).expect("get").map(|r| r.title),
        Some("Новое имя".into())
    );

    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("3").await;
    f.press("v2", &f.button("Да, удалить")).await;
    assert!(f.plugin.storage().get_blocking(USER, 3).expect("get").is_none());
    assert_eq!(f.plugin.storage().list_blocking(USER).expect("list").len(), 2);
    assert_eq!(
        (
            f.plugin.metrics.v2.views.ok.get(),
            f.plugin.metrics.v2.renames.ok.get(),
            f.plugin.metrics.v2.deletes.ok.get()
        ),
        (1, 1, 1)
    );
    assert!(f.host.step(USER).is_none(), "each dialogue ended");
}

#[tokio::test]
async fn a_report_deleted_after_the_list_is_not_acted_on() {
    let f = fixture("race", 2, Config::default());
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("2").await;
    let path = f.plugin.storage().get_blocking(USER, 2).expect("get").expect("exists").file_path;
    f.plugin.storage().delete_blocking(USER, 2, &path).expect("deleted elsewhere");
    f.press("v2", &f.button("Да, удалить")).await;
    assert!(f.last_text().contains("Отчет №2 уже удален или изменен"), "{}", f.last_text());
    assert_eq!(f.plugin.metrics.v2.deletes.ok.get(), 0);
}

#[tokio::test]
async fn the_snapshot_times_out_after_its_ttl() {
    let f = fixture("timeout", 2, Config::default());
    f.open().await;
    let view = f.button("Посмотреть");
    f.host.clock().advance(Duration::from_secs(299));
    f.press("v2", &view).await;
    assert!(f.last_text().contains("Какой отчет прислать?"));
    f.host.clock().advance(Duration::from_secs(2));
    f.type_text("1").await;
    assert!(f.last_text().contains("Список устарел"), "{}", f.last_text());
    assert!(f.host.step(USER).is_none());
    assert_eq!(f.plugin.metrics.v2.timeouts.get(), 1);
}

#[tokio::test]
async fn a_second_operation_waits_then_is_told_to_retry() {
    let config = Config { lock_wait_ms: 50, ..Config::default() };
    let f = fixture("lock", 2, config);
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("1").await;
    let held = vox_plugin::host::HostApi::lock_user(&f.host, USER, Duration::ZERO).await.expect("free");
    f.press("v2", &f.button("Да, удалить")).await;
    assert_eq!(f.answers().last().cloned().flatten().as_deref(), Some(crate::view::texts::BUSY));
    assert!(f.plugin.storage().get_blocking(USER, 1).expect("get").is_some(), "nothing deleted while busy");
    assert_eq!((f.plugin.metrics.v2.lock_waits.get(), f.plugin.metrics.v2.lock_busy.get()), (1, 1));
    drop(held);
    f.press("v2", &f.button("Да, удалить")).await;
    assert!(f.plugin.storage().get_blocking(USER, 1).expect("get").is_none());
}

#[tokio::test]
async fn lists_and_files_over_the_limits_are_refused() {
    let config = Config { max_list_bytes: 1024, ..Config::default() };
    let f = fixture("sizes", 12, config);
    f.open().await;
    assert!(f.last_text().contains("слишком большим"), "{}", f.last_text());
    assert!(f.documents().is_empty());
    assert_eq!(f.plugin.metrics.v2.list_size_refusals.get(), 1);

    let g = fixture("bigfile", 1, Config::default());
    let report = g.plugin.storage().get_blocking(USER, 1).expect("get").expect("exists");
    let file = std::fs::OpenOptions::new().write(true).open(g.dir.join(&report.file_path)).expect("open");
    file.set_len(51 * 1024 * 1024).expect("sparse 51 MB");
    g.open().await;
    g.press("v2", &g.button("Посмотреть")).await;
    g.type_text("1").await;
    g.press("v2", &g.button("Да, прислать")).await;
    assert!(g.last_text().contains("больше лимита Telegram в 50 МБ"), "{}", g.last_text());
    assert_eq!(g.documents().len(), 1, "only the list was sent");
    assert_eq!(g.plugin.metrics.v2.file_size_refusals.get(), 1);
}

#[tokio::test]
async fn a_missing_file_is_reported_in_both_versions() {
    let f = fixture("missing", 1, Config::default());
    let report = f.plugin.storage().get_blocking(USER, 1).expect("get").expect("exists");
    std::fs::remove_file(f.dir.join(&report.file_path)).expect("remove");
    f.open().await;
    f.press("v2", &f.button("Посмотреть")).await;
    f.type_text("1").await;
    f.press("v2", &f.button("Да, прислать")).await;
    assert!(f.last_text().contains("не найден на сервере"), "{}", f.last_text());
    f.press("v1", &format!("{}{}", crate::SEND_REPORT, report.file_path)).await;
    assert!(f.last_text().contains("не найден на сервере"), "{}", f.last_text());
    assert_eq!((f.plugin.metrics.v1.missing_files.get(), f.plugin.metrics.v2.missing_files.get()), (1, 1));
}

#[tokio::test]
async fn v1_refuses_forged_paths_and_counts_them() {
    let f = fixture("forged", 1, Config::default());
    f.press("v1", "send_report||../index.json").await;
    f.press("v1", "send_report||user_43/voxpersona_x.txt").await;
    assert_eq!(f.plugin.metrics.v1.security_refusals.get(), 2);
    assert!(f.documents().is_empty());
    assert!(f.answers().iter().all(|a| a.as_deref() == Some(crate::view::texts::REPORT_UNAVAILABLE)));
}

#[tokio::test]
async fn an_expired_step_tells_the_user() {
    let f = fixture("expired", 1, Config::default());
    let mut ctx = f.host.ctx("my_reports", Some("v2"), USER, Input::Text("1".into()));
    let expired = vox_plugin::StepState {
        name: steps::DELETE_ASK_NUMBER,
        version: Some("v2"),
        data: serde_json::json!({}),
    };
    f.plugin.on_expired(&mut ctx, expired).await.expect("notified");
    assert!(f.last_text().contains("Время ожидания ответа истекло"));
    assert!(
        matches!(f.host.log().last(), Some(Recorded::Sent { kind: MessageKind::Menu, .. })),
        "ends the dialogue as a menu"
    );
}

#[tokio::test]
async fn a_list_over_ten_megabytes_is_refused_with_the_default_limit() {
    let f = fixture("tenmb", 0, Config::default());
    // Written like VoxPersona's index: the files need not exist for a list.
    let title = "Очень подробный анализ встречи с клиентом по итогам квартала и планам ".repeat(2);
    let entries: Vec<String> = (1..=40_000u32)
        .map(|i| {
            serde_json::json!({
                "file_path": format!("user_{USER}/voxpersona_{i}.txt"),
                "user_id": USER,
                "username": "alice",
                "timestamp": "2025-01-15T14:30:00",
                "question": format!("{title}{i}"),
                "size_bytes": 1000,
                "tokens": 10,
                "search_type": "deep",
                "report_number": i,
            })
            .to_string()
        })
        .collect();
    std::fs::write(f.dir.join("index.json"), format!("[\n{}\n]\n", entries.join(",\n"))).expect("index");
    f.open().await;
    assert!(f.last_text().contains("слишком большим"), "{}", f.last_text());
    assert!(f.last_text().contains("МБ"), "the size is told: {}", f.last_text());
    assert!(f.documents().is_empty(), "no list sent");
    assert_eq!(f.plugin.metrics.v2.list_size_refusals.get(), 1);
}

#[tokio::test]
async fn a_number_picked_in_time_is_confirmed_after_the_list_ttl() {
    let f = fixture("confirm-rule", 3, Config::default());
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.host.clock().advance(Duration::from_secs(290));
    f.type_text("2").await;
    assert!(f.last_text().contains("Удалить отчет №2"), "{}", f.last_text());
    // The list is 5 min 10 s old at «Да»: the confirmation's own time-to-live counts now.
    f.host.clock().advance(Duration::from_secs(20));
    f.press("v2", &f.button("Да, удалить")).await;
    assert!(f.last_text().contains("Отчет №2 «Отчет 2» удален"), "{}", f.last_text());
    assert!(f.plugin.storage().get_blocking(USER, 2).expect("get").is_none());
    let took = f.plugin.metrics.v2.list_to_action("delete").expect("delete histogram").snapshot();
    assert_eq!(took.count, 1);
    assert!((310.0..311.0).contains(&took.sum), "list sent → delete confirmed: {} s", took.sum);
    assert_eq!(f.plugin.metrics.v2.snapshot_timeout_violations.get(), 0);

    // A rename's new title is typed after the list's time-to-live, too.
    f.open().await;
    f.press("v2", &f.button("Переименовать")).await;
    f.type_text("1").await;
    f.host.clock().advance(Duration::from_secs(400));
    f.type_text("Позже").await;
    assert!(f.last_text().contains("→ «Позже»"), "{}", f.last_text());
    f.press("v2", &f.button("Да, переименовать")).await;
    assert_eq!(f.plugin.storage().get_blocking(USER, 1).expect("get").map(|r| r.title), Some("Позже".into()));
}

#[tokio::test]
async fn a_confirmation_on_a_number_picked_too_late_trips_the_yellow_trigger() {
    let f = fixture("violation", 2, Config::default());
    f.open().await;
    f.press("v2", &f.button("Посмотреть")).await;
    f.type_text("1").await;
    // As if the pick had not checked the list's age: the list was 10 minutes old then.
    let step = f.host.step(USER).expect("confirmation step");
    let mut data = step.data.clone();
    let picked = data["picked_at_ms"].as_u64().expect("picked_at_ms");
    data["list_at_ms"] = serde_json::json!(picked - 600_000);
    let key = vox_plugin::StateKey { chat: USER, user: USER };
    vox_plugin::host::HostApi::set_step(&f.host, key, "my_reports", Some("v2"), step.name, data)
        .await
        .expect("set");
    f.press("v2", &f.button("Да, прислать")).await;
    assert_eq!(f.plugin.metrics.v2.snapshot_timeout_violations.get(), 1);
    assert_eq!(f.plugin.metrics.v2.views.ok.get(), 1, "a yellow trigger alerts, it does not refuse");
}

#[tokio::test]
async fn cancellations_are_counted_by_step_and_how() {
    use crate::telemetry::metrics::CancelledBy;
    let f = fixture("cancel", 2, Config::default());
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("1").await;
    f.press("v2", &f.button("Отмена")).await;
    assert_eq!(f.plugin.metrics.v2.cancellations(steps::DELETE_CONFIRM, CancelledBy::Button), 1);
    f.press("v2", &f.button("Да, удалить")).await;
    assert_eq!(f.answers().last().cloned().flatten().as_deref(), Some(crate::view::texts::ALREADY_DONE));

    // `/cancel` (the host drops the state, then tells the plugin): the button then says so too.
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("2").await;
    let step = f.host.step(USER).expect("confirmation");
    let mut ctx = f.host.ctx("my_reports", Some("v2"), USER, Input::command("cancel", ""));
    f.plugin.on_cancelled(&mut ctx, step).await.expect("told");
    assert_eq!(f.plugin.metrics.v2.cancellations(steps::DELETE_CONFIRM, CancelledBy::Command), 1);
    vox_plugin::host::HostApi::clear_step(&f.host, vox_plugin::StateKey { chat: USER, user: USER })
        .await
        .expect("clear");
    f.press("v2", &f.button("Да, удалить")).await;
    assert_eq!(f.answers().last().cloned().flatten().as_deref(), Some(crate::view::texts::ALREADY_DONE));
    assert!(f.plugin.storage().get_blocking(USER, 2).expect("get").is_some(), "nothing deleted");

    let mut ctx = f.host.ctx("my_reports", Some("v2"), USER, Input::text("1"));
    let expired = vox_plugin::StepState {
        name: steps::VIEW_ASK_NUMBER,
        version: Some("v2"),
        data: serde_json::json!({}),
    };
    f.plugin.on_expired(&mut ctx, expired).await.expect("told");
    assert_eq!(f.plugin.metrics.v2.cancellations(steps::VIEW_ASK_NUMBER, CancelledBy::Timeout), 1);
}

#[tokio::test]
async fn an_unreadable_index_at_open_is_a_counted_candidate_failure() {
    let f = fixture("open-failure", 1, Config::default());
    std::fs::write(f.dir.join("index.json"), "{ not an array").expect("corrupt");
    f.open().await;
    assert!(f.last_text().contains("Не удалось прочитать отчеты"), "{}", f.last_text());
    assert_eq!(f.plugin.metrics.v2.open_failures.get(), 1);
    assert!(
        f.host.log().iter().any(|r| matches!(
            r,
            Recorded::FailureReported { plugin: "my_reports", version: Some("v2"), what: "open_storage" }
        )),
        "reported to the host: {:?}",
        f.host.log()
    );
}

#[tokio::test]
async fn a_long_list_can_be_paged_through_and_acted_on_from_a_page() {
    let f = fixture("paging", 130, Config::default());
    f.open().await;
    f.press("v2", &f.button("Листать список")).await;
    assert!(f.last_text().contains("Отчеты 1–25 из 130"), "{}", f.last_text());
    assert!(f.last_text().contains("№130. Отчет 130"), "newest first: {}", f.last_text());
    f.press("v2", &f.button("▶️")).await;
    let edited = f.host.log().iter().rev().find_map(|r| match r {
        Recorded::Edited { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert!(edited.as_deref().is_some_and(|t| t.contains("Отчеты 26–50 из 130")), "{edited:?}");
    // The actions under a page work on the same list.
    f.press("v2", &f.button("Посмотреть")).await;
    f.type_text("101").await;
    f.press("v2", &f.button("Да, прислать")).await;
    assert_eq!(f.documents().last().map(|d| d.1.clone()), Some(Some("№101: Отчет 101".to_owned())));

    let short = fixture("no-paging", 3, Config::default());
    short.open().await;
    let menu = short.host.log().iter().rev().find_map(|r| match r {
        Recorded::Sent { message: Outgoing::Text { keyboard: Some(kb), .. }, .. } => Some(kb.clone()),
        _ => None,
    });
    let labels: Vec<String> = menu.expect("a menu").rows.iter().flatten().map(|b| b.text.clone()).collect();
    assert!(!labels.iter().any(|l| l.contains("Листать")), "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("Статистика")), "{labels:?}");
}

#[tokio::test]
async fn the_statistics_count_reports_per_month_and_search_type() {
    let f = fixture("stats", 3, Config::default());
    f.open().await;
    f.press("v2", &f.button("Статистика")).await;
    let text = f.last_text();
    for part in ["📊 Статистика: 3 отчета", "По месяцам:", "2025-01", "▇", "По типу поиска:", "быстрый: 3"]
    {
        assert!(text.contains(part), "{part:?} in {text}");
    }
    let photo = f.host.log().iter().find_map(|r| match r {
        Recorded::Sent { message: Outgoing::Photo { photo, caption, .. }, .. } => {
            Some((photo.file_name.clone(), caption.clone()))
        }
        _ => None,
    });
    assert_eq!(photo, Some(("Статистика.png".to_owned(), Some("📊 Отчеты по месяцам".to_owned()))));
}

/// Property tests over what users can send: any callback data, any typed text
/// at any step — every input gets an answer (a callback exactly one), and
/// nothing panics.
mod properties;

#[tokio::test]
async fn with_a_shared_writers_lock_writes_are_fenced_by_its_token() {
    let config =
        Config { reports_lock: crate::config::ReportsLock::Shared, lock_wait_ms: 50, ..Config::default() };
    let f = fixture("fenced", 3, config);
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("3").await;
    f.press("v2", &f.button("Да, удалить")).await;
    assert!(f.plugin.storage().get_blocking(USER, 3).expect("get").is_none());
    let first = f.plugin.storage().newest_fence_blocking().expect("fence");
    assert!(first > 0, "the delete wrote with the shared lock's token");

    // Another machine holds the lock: the press is told to retry and the question stays.
    f.open().await;
    f.press("v2", &f.button("Удалить")).await;
    f.type_text("2").await;
    let held = vox_plugin::host::HostApi::lock_named(&f.host, "my_reports", "reports", Duration::ZERO)
        .await
        .expect("free");
    f.press("v2", &f.button("Да, удалить")).await;
    assert_eq!(f.answers().last().cloned().flatten().as_deref(), Some(crate::view::texts::BUSY));
    assert!(f.plugin.storage().get_blocking(USER, 2).expect("get").is_some(), "nothing deleted while busy");
    // It wrote (through its own fence) and let go; the press again takes a newer token.
    let newer = held.fence();
    f.plugin.storage().with_fence(newer).rename_blocking(USER, 1, &path_of(&f, 1), "другое").expect("rename");
    drop(held);
    f.press("v2", &f.button("Да, удалить")).await;
    assert!(f.plugin.storage().get_blocking(USER, 2).expect("get").is_none());
    assert!(f.plugin.storage().newest_fence_blocking().expect("fence") > newer);

    // A writer that paused past its lease comes back with an older token: refused, nothing changed.
    let stale = f.plugin.storage().with_fence(first);
    assert!(matches!(
        stale.delete_blocking(USER, 1, &path_of(&f, 1)),
        Err(crate::storage::StorageError::Fenced { .. })
    ));
    assert!(f.plugin.storage().get_blocking(USER, 1).expect("get").is_some());
}

fn path_of(f: &Fixture, number: u32) -> String {
    f.plugin.storage().get_blocking(USER, number).expect("get").expect("exists").file_path
}
