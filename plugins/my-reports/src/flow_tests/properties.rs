//! Property tests over what users can send: any callback data, any typed text
//! at any step — every input gets an answer (a callback exactly one), and
//! nothing panics.

use proptest::prelude::*;

use super::{Fixture, fixture};
use crate::Config;
use vox_plugin::testing::Recorded;
use vox_plugin::{Input, Plugin};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Callback data as Telegram delivers it: a string of 1-64 bytes, with
/// our own prefixes mixed in so parsing gets past the first byte.
fn callback_data() -> impl Strategy<Value = String> {
    let prefixes = prop::sample::select(vec![
        "",
        "report_view:",
        "report_rename:",
        "report_delete:",
        "report_confirm:",
        "report_cancel",
        "send_report||",
        "show_all_reports",
        "report_csv:",
        "show_my_reports",
    ]);
    (prefixes, any::<String>()).prop_map(|(p, tail)| {
        let mut s = format!("{p}{tail}");
        while s.len() > 64 {
            s.pop();
        }
        if s.is_empty() { "x".into() } else { s }
    })
}

/// Typed text: any Unicode (control characters included), up to 10 KB.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9 ]{0,30}",
        prop::collection::vec(any::<char>(), 0..2500).prop_map(|c| c.into_iter().collect::<String>()),
        Just("9".repeat(10_000)),
    ]
}

fn answers(f: &Fixture) -> usize {
    f.host.log().iter().filter(|r| matches!(r, Recorded::Answered { .. })).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_callback_data_is_answered_exactly_once(data in callback_data(), v2 in any::<bool>()) {
        let f = fixture("prop-callback", 3, Config::default());
        let version = if v2 { "v2" } else { "v1" };
        let before = answers(&f);
        runtime().block_on(async {
            let input = Input::Callback { query_id: "q".into(), data: data.clone(), message_id: Some(1) };
            let ctx = f.host.ctx("my_reports", Some(version), super::USER, input);
            // An error is fine (the host says sorry); a panic is not.
            let _ = f.host.serve(&f.plugin, ctx).await;
        });
        prop_assert_eq!(answers(&f), before + 1, "data {:?}", data);
    }

    #[test]
    fn any_text_at_any_step_gets_an_answer(
        text in typed(),
        step in prop::sample::select(vec!["Посмотреть", "Переименовать", "Удалить"]),
        at_title in any::<bool>(),
    ) {
        let f = fixture("prop-text", 3, Config::default());
        runtime().block_on(async {
            f.open().await;
            let start = f.button(step);
            f.press("v2", &start).await;
            if at_title && step == "Переименовать" {
                f.type_text("1").await;
            }
            let sent_before = f.host.texts(super::USER).len();
            let version = f.host.step(super::USER).and_then(|s| s.version).unwrap_or("v2");
            let mut ctx = f.host.ctx("my_reports", Some(version), super::USER, Input::Text(text.clone()));
            let _ = f.plugin.handle(&mut ctx).await;
            prop_assert!(f.host.texts(super::USER).len() > sent_before, "no answer to {:?}", text);
            Ok(())
        })?;
    }

    #[test]
    fn the_parsers_take_anything(text in typed()) {
        let _ = crate::input::parse_number(&text);
        let _ = crate::input::parse_title(&text);
        let _ = crate::filter::parse(&text);
    }
}
