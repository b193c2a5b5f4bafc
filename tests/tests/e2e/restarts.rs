//! Restarts in the middle of every my-reports v2 step: the host is stopped as
//! a deploy stops it and started again on the same data directory, and the
//! user finishes what they started — the press, the number or the title they
//! send next lands as if nothing happened, checked on disk. (The same with
//! SIGKILL against the real binary: `bot/tests/restarts.rs`.)

use std::time::Duration;

use vox_testkit::TestHost;

use crate::reports_fixture::{self as fx, open_list, reports_dir};

const ALICE: i64 = 7101;

async fn host() -> TestHost {
    fx::host("v2", fx::reports(ALICE, 3), "").start().await
}

/// Where in a flow the host restarts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    Menu,
    AskNumber,
    NewName,
    Confirm,
}

async fn view_with_restart(at: At) {
    let mut host = host().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    open_list(&mut alice).await;
    if at == At::Menu {
        host.restart().await;
    }
    alice.press("Посмотреть");
    alice.expect_text("Какой отчет прислать?").await;
    if at == At::AskNumber {
        host.restart().await;
    }
    alice.send_text("2");
    alice.expect_text("Прислать отчет №2 «Отчет номер 2»?").await;
    if at == At::Confirm {
        host.restart().await;
    }
    alice.press("Да, прислать");
    let doc = alice.expect_document().await;
    assert_eq!(doc.caption.as_deref(), Some("№2: Отчет номер 2"), "{at:?}");
    alice.expect_text("Отчет №2 отправлен").await;
    host.stop().await.expect("clean stop");
}

async fn rename_with_restart(at: At) {
    let mut host = host().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    open_list(&mut alice).await;
    alice.press("Переименовать");
    alice.expect_text("Какой отчет переименовать?").await;
    if at == At::AskNumber {
        host.restart().await;
    }
    alice.send_text("1");
    alice.expect_text("Введите новое название для отчета №1").await;
    if at == At::NewName {
        host.restart().await;
    }
    alice.send_text("После перезапуска");
    alice.expect_text("«Отчет номер 1» → «После перезапуска»").await;
    if at == At::Confirm {
        host.restart().await;
    }
    alice.press("Да, переименовать");
    alice.expect_text("Отчет №1 переименован").await;
    let entry = fx::entry(&dir, ALICE, 1).expect("entry");
    assert_eq!(entry["question"], "После перезапуска", "{at:?}: renamed on disk");
    host.stop().await.expect("clean stop");
}

async fn delete_with_restart(at: At) {
    let mut host = host().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.expect_text("Какой отчет удалить?").await;
    if at == At::AskNumber {
        host.restart().await;
    }
    alice.send_text("3");
    let question = alice.expect_text("Удалить отчет №3 «Отчет номер 3»?").await;
    if at == At::Confirm {
        host.restart().await;
    }
    let yes = question.button("Да, удалить").and_then(|b| b.callback_data.clone()).expect("the button");
    alice.press("Да, удалить");
    alice.expect_text("Отчет №3 «Отчет номер 3» удален").await;
    assert!(fx::entry(&dir, ALICE, 3).is_none(), "{at:?}: entry gone");
    assert!(!dir.join(fx::file_path(ALICE, 3)).exists(), "{at:?}: file gone");
    // A second tap of the same button (a double tap, before the bot removed
    // the question) is now truthfully "already done".
    alice.press_data(question.id, &yes);
    let answer = alice.expect_callback_answered().await;
    assert!(answer.text.as_deref().is_some_and(|t| t.contains("уже выполнено")), "{answer:?}");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_survives_a_restart_at_the_menu_the_number_and_the_confirmation() {
    for at in [At::Menu, At::AskNumber, At::Confirm] {
        view_with_restart(at).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_survives_a_restart_at_the_number_the_new_title_and_the_confirmation() {
    for at in [At::AskNumber, At::NewName, At::Confirm] {
        rename_with_restart(at).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_survives_a_restart_at_the_number_and_the_confirmation() {
    for at in [At::AskNumber, At::Confirm] {
        delete_with_restart(at).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_question_survives_a_restart() {
    let mut host = fx::host("v2", fx::reports(ALICE, 40), "max_list_bytes = 2048\n").start().await;
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    alice.send_text("/reports");
    alice.expect_text("слишком большим").await;
    alice.press("Фильтр");
    alice.expect_text("Введите слова из названия").await;
    host.restart().await;
    alice.send_text("03.01.2025-05.01.2025");
    let list = alice.expect_document().await;
    assert!(list.text().contains("Всего отчетов: 3"), "{}", list.text());
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_time_ran_out_while_the_host_was_down_is_told_as_expired() {
    let mut host = host().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.send_text("2");
    alice.expect_text("Удалить отчет №2").await;
    host.restart().await;
    // The step's five minutes pass (the host's clock, wall time included).
    host.clock().advance(Duration::from_secs(301));
    alice.press("Да, удалить");
    let told = alice.expect_text("Время ожидания ответа истекло").await;
    assert!(told.button("Мои отчеты").is_some(), "a way back: {:?}", told.button_labels());
    assert!(fx::entry(&dir, ALICE, 2).is_some(), "an expired confirmation deletes nothing");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_whose_dialogue_is_gone_says_outdated_and_never_already_done() {
    // The memory backend loses dialogues on restart: what a user meets when
    // state is gone for any reason.
    let mut host =
        fx::host("v2", fx::reports(ALICE, 3), "").env("VOX__STATE__BACKEND", "memory").start().await;
    let dir = reports_dir(host.dir());
    let mut alice = host.user(ALICE, "Алиса").with_wait(Duration::from_secs(20));
    open_list(&mut alice).await;
    alice.press("Удалить");
    alice.send_text("2");
    alice.expect_text("Удалить отчет №2").await;
    host.restart().await;
    alice.press("Да, удалить");
    let told = alice.expect_text("Этот вопрос устарел, и действие не выполнено").await;
    assert!(fx::entry(&dir, ALICE, 2).is_some(), "nothing deleted");
    assert!(told.button("Мои отчеты").is_some(), "a way back: {:?}", told.button_labels());
    alice.press("Мои отчеты");
    alice.expect_document().await;
    host.stop().await.expect("clean stop");
}
