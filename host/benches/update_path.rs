//! The host's own overhead per update: registry lookup, routing, state load and
//! store, and a whole update through the runtime to a handler that does nothing.
//!
//! `cargo bench -p vox-host --bench update_path`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vox_host::dispatch::router::route;
use vox_host::dispatch::update::Incoming;
use vox_host::registry::Registry;
use vox_host::services::state::{DialogueState, MemoryStore, StateKey, StateStore};
use vox_plugin::{
    Command, ConfigError, Ctx, HandlerError, Input, Manifest, NoConfig, Plugin, Step, User, Version,
};

const MENU: Manifest = Manifest {
    commands: &[Command::new("start", "Меню"), Command::new("menu", "Меню")],
    callback_prefixes: &["menu_main", "menu_chats", "menu_help"],
    ..Manifest::new("bench_menu", "Menu")
};
const REPORTS: Manifest = Manifest {
    commands: &[Command::new("reports", "Мои отчеты")],
    callback_prefixes: &["show_my_reports"],
    versions: &[
        Version::new("v1").callbacks(&["send_report||", "show_all_reports"]),
        Version::new("v2")
            .callbacks(&["report_view", "report_rename", "report_delete", "report_cancel", "report_confirm"])
            .steps(&[
                Step::new("report_view_ask_number").ttl(Duration::from_secs(300)),
                Step::new("report_rename_ask_number").ttl(Duration::from_secs(300)),
                Step::new("report_rename_ask_new_name").ttl(Duration::from_secs(300)),
                Step::new("report_delete_ask_number").ttl(Duration::from_secs(300)),
                Step::new("report_delete_confirm").ttl(Duration::from_secs(300)),
            ]),
    ],
    ..Manifest::new("bench_reports", "Reports")
};

struct Noop;

#[vox_plugin::async_trait]
impl Plugin for Noop {
    async fn handle(&self, _ctx: &mut Ctx) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn noop(_: NoConfig, _: &vox_plugin::Setup) -> Result<Noop, ConfigError> {
    Ok(Noop)
}

vox_plugin::register!(MENU, noop);
#[derive(Clone, Copy)]
struct BenchVersions;

impl vox_plugin::Versions for BenchVersions {
    const ALL: &'static [(&'static str, Self)] = &[("v1", BenchVersions), ("v2", BenchVersions)];
}

vox_plugin::register!(REPORTS, noop, versions = BenchVersions);

fn state() -> DialogueState {
    DialogueState {
        plugin: "bench_reports",
        version: Some("v2"),
        step: "report_view_ask_number",
        data: serde_json::json!({"snapshot": 1, "tries": 0}),
        deadline: None,
    }
}

fn routing(c: &mut Criterion) {
    let registry = Registry::build([&MENU, &REPORTS]).expect("valid manifests");
    let callback = Input::Callback {
        query_id: "1".into(),
        data: "report_delete_confirm:12".into(),
        message_id: Some(5),
    };
    let command = Input::Command { name: "menu".into(), args: String::new() };
    let text = Input::Text("12".into());
    let st = state();
    c.bench_function("route/callback_longest_prefix", |b| {
        b.iter(|| route(&registry, black_box(&callback), None))
    });
    c.bench_function("route/command", |b| b.iter(|| route(&registry, black_box(&command), None)));
    c.bench_function("route/text_in_step", |b| b.iter(|| route(&registry, black_box(&text), Some(&st))));
}

fn state_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let store = MemoryStore::default();
    for i in 0..10_000 {
        rt.block_on(store.set(StateKey { chat: i, user: i }, state())).expect("set");
    }
    let key = StateKey { chat: 4242, user: 4242 };
    c.bench_function("state/get_hit", |b| b.iter(|| rt.block_on(store.get(black_box(key)))));
    let miss = StateKey { chat: -1, user: 1 };
    c.bench_function("state/get_miss", |b| b.iter(|| rt.block_on(store.get(black_box(miss)))));
    c.bench_function("state/set", |b| b.iter(|| rt.block_on(store.set(black_box(key), state()))));
}

fn whole_update(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let settings = vox_host::Settings::load(
        None,
        [
            ("VOX__PLUGINS__MAIN_MENU__ENABLED".into(), "true".into()),
            // No ops endpoints: the bench measures the update path, not a listener.
            ("VOX__OPS__LISTEN".into(), String::new()),
        ],
    );
    let mut settings = settings.expect("defaults");
    // The bench binary links only its own plugins.
    settings.plugins.clear();
    // Never contacted: the handler sends nothing.
    let bot = teloxide::Bot::new("1:bench").set_api_url("http://127.0.0.1:9/".parse().expect("url"));
    let host = vox_host::HostBuilder::new(settings).build(bot).expect("host builds");
    let runtime = Arc::clone(host.runtime().dispatch());
    let user = User { id: 7, name: "Bench".into(), username: None, language_code: None };
    let incoming = Incoming {
        update_id: 0,
        chat: 7,
        user,
        input: Input::Command { name: "menu".into(), args: String::new() },
    };
    c.bench_function("update/command_to_noop_handler", |b| {
        b.iter(|| rt.block_on(runtime.handle(incoming.clone())))
    });
    // The same with the production log line: an info span and event per update,
    // formatted as JSON (into a sink, so the disk is not measured) by the
    // subscriber `log.format = "json"` installs.
    let subscriber = vox_host::ops::logging::json_subscriber("info", std::io::sink);
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function("update/command_to_noop_handler_with_json_log", |b| {
            b.iter(|| rt.block_on(runtime.handle(incoming.clone())))
        });
    });
    // For comparison: tracing-subscriber's own JSON formatter, configured as the
    // host had it before the hand-written one.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function("update/command_to_noop_handler_with_stock_json_log", |b| {
            b.iter(|| rt.block_on(runtime.handle(incoming.clone())))
        });
    });
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function("update/command_to_noop_handler_with_human_log", |b| {
            b.iter(|| rt.block_on(runtime.handle(incoming.clone())))
        });
    });
}

/// What one served update adds in metrics: kind, decision, handler latency, outcome.
fn metrics(c: &mut Criterion) {
    let m = vox_host::metrics::Metrics::default();
    let took = std::time::Duration::from_micros(120);
    c.bench_function("metrics/one_update", |b| {
        b.iter(|| {
            m.update(black_box("callback"));
            m.decision("my_reports", Some("v2"), "bucket_in");
            m.handler("my_reports", Some("v2"), Some("report_view_confirm"), took, None);
            m.served("ok", took);
        })
    });
}

fn rollout(c: &mut Criterion) {
    use vox_host::rollout::policy::{Policy, Rollout};
    let allow: Vec<i64> = (1..=1000).map(|i| i * 7).collect();
    let deny: Vec<i64> = (1..=1000).map(|i| i * 11 + 1).collect();
    let policy = Policy {
        versions: vec![("v1", true), ("v2", true)],
        configured: Some("v1"),
        rollout: Some(Rollout::new("v1", "v2", 5.0, allow, deny, false, "my-reports-v2".into())),
    };
    let mut user = 1_000_000_i64;
    c.bench_function("rollout/decide_bucket", |b| {
        b.iter(|| {
            user += 1;
            policy.decide(black_box(user), None)
        })
    });
    c.bench_function("rollout/decide_allow_list", |b| b.iter(|| policy.decide(black_box(7000), None)));
}

criterion_group!(benches, routing, state_store, rollout, metrics, whole_update);
criterion_main!(benches);
