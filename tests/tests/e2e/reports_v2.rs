//! my-reports v2 end to end: the TXT list, view / rename / delete with
//! confirmations, and every way a user can go wrong — checked on disk too.

use std::time::Duration;

use vox_testkit::{ScriptedUser, TestHost};

use crate::reports_fixture::{self as fx, reports_dir};

const ALICE: i64 = 7001;

/// Opens "Мои отчеты" from the main menu and returns the TXT list's text.
async fn open_list(user: &mut ScriptedUser) -> String {
    user.send_text("/start");
    user.expect_text("Главное меню").await;
    user.press("Мои отчеты");
    let list = user.expect_document().await;
    assert_eq!(list.file_name, "Мои_отчеты.txt");
    user.expect_text("Выберите действие").await;
    list.text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_a_numbered_txt_newest_first_with_a_menu() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    let text = open_list(&mut alice).await;
    assert!(text.contains("Всего отчетов: 3"), "{text}");
    let (i3, i1) = (text.find("№3.").expect("№3"), text.find("№1.").expect("№1"));
    assert!(i3 < i1, "newest first: {text}");
    assert!(text.contains("№2. 03.01.2025 10:00 — Отчет номер 2"), "{text}");
    assert!(text.contains("поиск: глубокий"), "{text}");
    let menu = alice.last_visible().expect("menu");
    for label in ["Посмотреть", "Переименовать", "Удалить", "Назад"] {
        assert!(menu.button(label).is_some(), "{label} in {:?}", menu.button_labels());
    }
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reports_gets_a_friendly_message_and_no_file() {
    let host = fx::host("v2", vec![], "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    let msg = alice.expect_text("нет сохраненных отчетов").await;
    assert!(msg.button("Главное меню").is_some());
    assert!(alice.visible().iter().all(|m| m.document.is_none()));
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_sends_the_report_file_after_confirmation() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    alice.send_text(" 2 ");
    let confirm = alice.expect_text("Прислать отчет №2 «Отчет номер 2»?").await;
    assert!(confirm.button("Да").is_some() && confirm.button("Отмена").is_some());
    alice.press("Да, прислать");
    let doc = alice.expect_document().await;
    assert_eq!(doc.file_name, "voxpersona_20250101_100002.txt");
    assert_eq!(doc.caption.as_deref(), Some("№2: Отчет номер 2"));
    assert!(doc.text().contains("Текст анализа"));
    alice.expect_text("Отчет №2 отправлен").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_changes_the_title_on_disk_and_in_the_next_list() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let dir = reports_dir(host.dir());
    let before = fx::entry(&dir, ALICE, 1).expect("entry");
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Переименовать");
    alice.expect_text("Какой отчет переименовать?").await;
    alice.send_text("1");
    alice.expect_text("Введите новое название для отчета №1").await;
    alice.send_text("  Встреча с клиентом  ");
    alice.expect_text("«Отчет номер 1» → «Встреча с клиентом»").await;
    alice.press("Да, переименовать");
    alice.expect_text("Отчет №1 переименован").await;
    let after = fx::entry(&dir, ALICE, 1).expect("entry");
    assert_eq!(after["question"], "Встреча с клиентом");
    for key in ["file_path", "user_id", "username", "timestamp", "size_bytes", "tokens", "search_type"] {
        assert_eq!(after[key], before[key], "{key} unchanged");
    }
    alice.press("Мои отчеты");
    let list = alice.expect_document().await.text();
    assert!(list.contains("№1. 02.01.2025 10:00 — Встреча с клиентом"), "{list}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_file_and_entry_and_numbers_stay_stable() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").start().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;
    alice.send_text("3");
    alice.expect_text("Удалить отчет №3 «Отчет номер 3»?").await;
    alice.press("Да, удалить");
    alice.expect_text("Отчет №3 «Отчет номер 3» удален").await;
    assert!(fx::entry(&dir, ALICE, 3).is_none(), "entry gone");
    assert!(!dir.join(fx::file_path(ALICE, 3)).exists(), "file gone");
    assert_eq!(fx::read_index(&dir).len(), 2);

    alice.press("Мои отчеты");
    let list = alice.expect_document().await.text();
    assert!(list.contains("№2.") && list.contains("№1.") && !list.contains("№3."), "{list}");
    // A report saved after the delete does not get number 3 again.
    let storage = vox_my_reports::Storage::open(&dir).expect("storage");
    let new = storage
        .save_report_blocking(vox_my_reports::NewReport {
            user_id: ALICE,
            username: None,
            title: "Новый отчет".into(),
            search_type: "fast".into(),
            job_id: None,
            tokens: 1,
            content: b"new".to_vec(),
            timestamp: None,
        })
        .expect("saved");
    assert_eq!(new.number, 4, "the deleted number 3 is never reused");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_works_at_every_step() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    // At each ask-number step.
    for (button, prompt) in [
        ("Посмотреть", "Какой отчет прислать?"),
        ("Переименовать", "Какой отчет переименовать?"),
        ("Удалить", "Какой отчет удалить?"),
    ] {
        alice.press(button);
        alice.expect_text(prompt).await;
        alice.press("Отмена");
        alice.expect_text("Действие отменено").await;
    }
    // At the new-name step, and at each confirmation.
    alice.press("Переименовать");
    alice.send_text("1");
    alice.expect_text("Введите новое название").await;
    alice.press("Отмена");
    alice.expect_text("Действие отменено").await;
    alice.press("Переименовать");
    alice.send_text("1");
    alice.send_text("Новое");
    alice.expect_text("Переименовать отчет №1?").await;
    alice.press("Отмена");
    alice.expect_text("Действие отменено").await;
    alice.press("Удалить");
    alice.send_text("2");
    alice.expect_text("Удалить отчет №2").await;
    alice.press("Отмена");
    alice.expect_text("Действие отменено").await;
    alice.press("Посмотреть");
    alice.send_text("2");
    alice.expect_text("Прислать отчет №2").await;
    alice.send_text("/cancel");
    alice.expect_text("Действие отменено").await;
    // Nothing changed on disk; the dialogue is over.
    assert_eq!(fx::read_index(&dir).len(), 2);
    assert_eq!(fx::entry(&dir, ALICE, 1).expect("entry")["question"], "Отчет номер 1");
    alice.send_text("1");
    alice.expect_text("Я не понял").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_numbers_get_clear_messages_and_three_strikes_end_the_step() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    alice.send_text("первый");
    alice.expect_text("не номер").await;
    alice.send_text("0");
    alice.expect_text("от 1 до 3").await;
    alice.send_text("-1");
    let last = alice.expect_text("от 1 до 3").await;
    assert!(last.body().contains("Слишком много неверных попыток"), "{}", last.body());
    alice.send_text("2");
    alice.expect_text("Я не понял").await;

    alice.send_text("/reports");
    alice.expect_document().await;
    alice.expect_text("Выберите действие").await;
    alice.press("Посмотреть");
    for (typed, expected) in [("999", "Отчета №999 нет в этом списке"), ("1.5", "не номер")]
    {
        alice.send_text(typed);
        alice.expect_text(expected).await;
    }
    alice.send_text("12345678901234567890");
    alice.expect_text("Слишком много неверных попыток").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_deleted_between_list_and_action_is_reported_not_acted_on() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    // Another process (the Python bot, a second host) deletes report 2 meanwhile.
    let other = vox_my_reports::Storage::open(&dir).expect("storage");
    other.delete_blocking(ALICE, 2, &fx::file_path(ALICE, 2)).expect("deleted");
    alice.press("Посмотреть");
    alice.send_text("2");
    alice.expect_text("Отчет №2 уже удален или изменен").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_told_to_the_user() {
    let host = fx::host("v2", fx::reports(ALICE, 1), "").start().await;
    let dir = reports_dir(host.dir());
    std::fs::remove_file(dir.join(fx::file_path(ALICE, 1))).expect("remove file");
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Посмотреть");
    alice.send_text("1");
    alice.expect_text("Прислать отчет №1").await;
    alice.press("Да, прислать");
    alice.expect_text("не найден на сервере").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_list_is_outdated_after_five_minutes_and_after_a_newer_list() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    let old_menu = alice.last_visible().expect("menu");
    host.clock().advance(Duration::from_secs(301));
    alice.press("Посмотреть");
    alice.expect_text("Список устарел").await;

    let first_list = alice.visible().into_iter().find(|m| m.document.is_some()).expect("first list");
    alice.press("Мои отчеты");
    alice.expect_document().await;
    alice.expect_text("Выберите действие").await;
    assert!(
        host.api().message(alice.chat_id(), first_list.id).is_some_and(|m| m.deleted),
        "the previous list file is deleted when a new one is sent"
    );
    // The first list's menu is gone from the chat; a forged press of its button is outdated too.
    let data = old_menu.button("Удалить").and_then(|b| b.callback_data.clone()).expect("old button");
    alice.press_data(old_menu.id, &data);
    alice.expect_text("Список устарел").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_step_times_out_with_a_message() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;
    host.clock().advance(Duration::from_secs(301));
    alice.send_text("1");
    alice.expect_text("Время ожидания ответа истекло").await;
    assert!(fx::entry(&reports_dir(host.dir()), ALICE, 1).is_some(), "nothing deleted");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_pressed_delete_deletes_exactly_once() {
    let host = fx::host("v2", fx::reports(ALICE, 3), "").start().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.send_text("2");
    let confirm = alice.expect_text("Удалить отчет №2").await;
    let yes = confirm.button("Да, удалить").and_then(|b| b.callback_data.clone()).expect("yes");
    alice.press_data(confirm.id, &yes);
    alice.press_data(confirm.id, &yes);
    alice.expect_text("Отчет №2 «Отчет номер 2» удален").await;
    let second = alice.expect_callback_answered().await;
    assert_eq!(second.text.as_deref(), Some("Это действие уже выполнено или отменено."));
    assert_eq!(fx::read_index(&dir).len(), 2, "exactly one entry removed");
    assert!(fx::entry(&dir, ALICE, 1).is_some() && fx::entry(&dir, ALICE, 3).is_some());
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_over_the_size_limit_is_not_sent() {
    let host = fx::host("v2", fx::reports(ALICE, 40), "max_list_bytes = 2048\n").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    let msg = alice.expect_text("слишком большим").await;
    assert!(msg.button("Фильтр").is_some(), "a way forward: {:?}", msg.button_labels());
    assert!(alice.visible().iter().all(|m| m.document.is_none()), "no file sent");
    // The filter is that way forward.
    alice.press("Фильтр");
    alice.expect_text("Введите слова из названия").await;
    alice.send_text("03.01.2025-05.01.2025");
    let list = alice.expect_document().await;
    let text = list.text();
    assert!(text.contains("Всего отчетов: 3"), "{text}");
    assert!(list.caption.as_deref().is_some_and(|c| c.contains("Найдено отчетов: 3")));
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_exports_as_csv_and_json() {
    let host = fx::host("v2", fx::reports(ALICE, 2), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("CSV");
    let csv = alice.expect_document().await;
    assert_eq!(csv.file_name, "Мои_отчеты.csv");
    assert!(csv.text().contains("2,2025-01-03T10:00:00,Отчет номер 2,deep"), "{}", csv.text());
    alice.press("JSON");
    let json = alice.expect_document().await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json.bytes).expect("json");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["number"], 2);
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_reports_are_never_listed() {
    let mut rows = fx::reports(ALICE, 2);
    rows.extend(fx::reports(7002, 1));
    let host = fx::host("v2", rows, "").start().await;
    let mut bob = host.user(7002, "Боб");
    let text = open_list(&mut bob).await;
    assert!(text.contains("Всего отчетов: 1"), "{text}");
    bob.press("Посмотреть");
    bob.send_text("2");
    bob.expect_text("Отчета №2 нет в этом списке").await;
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_directory_is_created_when_missing() {
    let host = TestHost::builder()
        .config("[plugins.my_reports]\nreports_dir = \"{dir}/fresh/reports\"\nversion = \"v2\"\n")
        .start()
        .await;
    let mut alice = host.user(ALICE, "Алиса");
    alice.send_text("/reports");
    alice.expect_text("нет сохраненных отчетов").await;
    assert!(host.dir().join("fresh/reports").is_dir());
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_come_as_a_table_and_a_png_chart() {
    let host = fx::host("v2", fx::reports(ALICE, 4), "").start().await;
    let mut alice = host.user(ALICE, "Алиса");
    open_list(&mut alice).await;
    alice.press("Статистика");
    let chart = alice.expect_photo().await;
    assert_eq!(chart.caption.as_deref(), Some("📊 Отчеты по месяцам"));
    assert_eq!(&chart.bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let photo = host.api().message(ALICE, chart.message_id).expect("the photo message");
    assert!(photo.photo, "sent as a photo, not a file");
    let table = alice.expect_text("📊 Статистика: 4 отчета").await;
    assert!(table.text.unwrap_or_default().contains("2025-01  "), "per month");
    host.stop().await.expect("clean stop");
}
