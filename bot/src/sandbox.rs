//! `vox-host sandbox`: the real host against an embedded fake Telegram, with a
//! throw-away reports directory of demo reports and a chat in the terminal —
//! try the bot with no token and no network.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use vox_fake_bot_api::{BotMessage, FakeBotApi, TgUser};

use vox_host::{HostBuilder, Settings};

/// How long the bot may stay quiet before its answer counts as complete.
const SETTLE: Duration = Duration::from_millis(400);
/// The longest wait for a first answer.
const FIRST_ANSWER: Duration = Duration::from_secs(5);

/// What `vox-host sandbox` was asked for.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The Telegram user to play.
    pub user: i64,
    /// A real reports directory instead of demo reports.
    pub data: Option<PathBuf>,
    /// A config file was given: keep its versions instead of v2 for everyone.
    pub own_config: bool,
}

/// Saves the demo reports for `user` in a fresh reports directory, through the
/// report store (the one writer of `index.json`).
pub fn seed_demo(reports: &Path, user: i64) -> anyhow::Result<()> {
    let storage = vox_report_store::Storage::open(reports)?;
    vox_report_store::demo::seed_demo(&storage, user)?;
    Ok(())
}

/// Colours when the terminal takes them.
struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}

const HELP: &str = "Песочница vox-host: настоящий бот, ненастоящий Telegram.
  /start         главное меню
  /reports       «Мои отчеты»
  #N             нажать кнопку с номером N (номера — в квадратных скобках)
  любой текст    отправить боту (например, номер отчета, когда бот его просит)
  /cancel        отменить текущее действие
  /help          эта справка;  /quit — выйти (или Ctrl-D)
Что попробовать: /start → #1 «Мои отчеты» (придет TXT-список) → «Посмотреть»,
введите номер отчета → «Да» (придет файл отчета); так же «Переименовать» и
«Удалить». Опечатки, /cancel посреди шага, старые кнопки — бот объяснит, что делать.";

/// Runs the sandbox: `settings` as loaded (the fake API and the data directory
/// are filled in here), lines from `input`, the chat printed to `output`.
pub async fn run(
    mut settings: Settings,
    options: SandboxOptions,
    input: impl AsyncBufRead + Unpin,
    output: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let api = FakeBotApi::start().await?;
    let scratch = std::env::temp_dir().join(format!("vox-sandbox-{}", std::process::id()));
    let reports = match &options.data {
        Some(dir) => dir.clone(),
        None => {
            let dir = scratch.join("reports");
            seed_demo(&dir, options.user)?;
            dir
        }
    };
    settings.telegram.token = api.token().to_owned();
    settings.telegram.api_url = api.url().parse()?;
    settings.telegram.poll_timeout_secs = 1;
    settings.host.data_dir = scratch.join("data");
    // A sandbox session is a throwaway chat: nothing of it should outlive it.
    settings.state.backend = vox_host::config::StateBackend::Memory;
    if !options.own_config {
        // A newcomer's sandbox must not fail on a taken port; an operator's config decides itself.
        settings.ops.listen.clear();
    }
    let section = settings.plugins.entry("my_reports".to_owned()).or_insert_with(|| serde_json::json!({}));
    if let Some(map) = section.as_object_mut() {
        map.insert("reports_dir".into(), serde_json::Value::String(reports.display().to_string()));
        if !options.own_config {
            map.insert("version".into(), "v2".into());
        }
    }
    let bot = vox_host::bot(&settings)?;
    let host = HostBuilder::new(settings).build(bot)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(host.run(async {
        let _ = stopped.await;
    }));

    let style = Style { on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() };
    // Piped input is not echoed by a terminal: echo it, so the transcript reads as a chat.
    let echo = !std::io::stdin().is_terminal();
    let user = TgUser::new(options.user, "Гость");
    writeln!(output, "{}", style.paint("1", "vox-host sandbox"))?;
    writeln!(output, "{HELP}")?;
    writeln!(output, "Отчеты: {}\n", reports.display())?;
    let mut cursor = api.call_count();
    let mut buttons: Vec<(i32, String)> = Vec::new();
    let mut lines = input.lines();
    loop {
        write!(output, "{}", style.paint("1;32", "Вы> "))?;
        output.flush()?;
        let Some(line) = lines.next_line().await? else { break };
        let line = line.trim();
        if echo {
            writeln!(output, "{line}")?;
        }
        match line {
            "" => continue,
            "/quit" | "/exit" => break,
            "/help" => {
                writeln!(output, "{HELP}")?;
                continue;
            }
            _ => {}
        }
        if let Some(n) = line.strip_prefix('#') {
            match n.trim().parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| buttons.get(i)) {
                Some((message, data)) => {
                    api.push_callback(options.user, &user, *message, data);
                }
                None => {
                    writeln!(output, "Нет кнопки {line}: нажимайте номер из квадратных скобок.")?;
                    continue;
                }
            }
        } else {
            api.push_text(options.user, &user, line);
        }
        let shown = settle(&api, options.user, &mut cursor).await;
        buttons = render(&api, options.user, &shown, &style, output)?;
    }
    let _ = stop.send(());
    let _ = served.await;
    if options.data.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    writeln!(output, "\nДо встречи!")?;
    Ok(())
}

/// Waits until the bot has been quiet for a moment; returns the ids of the
/// messages it sent or edited meanwhile, plus a toast if a button was answered.
async fn settle(api: &FakeBotApi, chat: i64, cursor: &mut usize) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut wait = FIRST_ANSWER;
    loop {
        let found = api
            .wait_call(*cursor, |c| c.chat_id() == Some(chat) || c.method == "answerCallbackQuery", wait)
            .await;
        let Some((_, next)) = found else { break };
        let (calls, end) = api.calls_since(*cursor);
        *cursor = end.max(next);
        for c in calls {
            match c.method.as_str() {
                "sendMessage" | "sendDocument" | "sendPhoto" | "editMessageText" if c.is_ok() => {
                    if let Some(id) = c.result_message_id() {
                        shown.push(Shown::Message(id));
                    }
                }
                "answerCallbackQuery" if c.is_ok() => {
                    if let Some(text) = c.params.get("text").and_then(|t| t.as_str()) {
                        shown.push(Shown::Toast(text.to_owned()));
                    }
                }
                _ => {}
            }
        }
        wait = SETTLE;
    }
    shown
}

enum Shown {
    Message(i32),
    Toast(String),
}

/// Prints what the bot did; returns the numbered buttons.
fn render(
    api: &FakeBotApi,
    chat: i64,
    shown: &[Shown],
    style: &Style,
    out: &mut (dyn Write + Send),
) -> std::io::Result<Vec<(i32, String)>> {
    let mut buttons = Vec::new();
    if shown.is_empty() {
        writeln!(out, "{}", style.paint("2", "(бот молчит)"))?;
    }
    for s in shown {
        match s {
            Shown::Toast(t) => writeln!(out, "{}", style.paint("33", &format!("  ⓘ {t}")))?,
            Shown::Message(id) => {
                let Some(m) = api.message(chat, *id) else { continue };
                if m.deleted {
                    continue;
                }
                print_message(&m, style, out, &mut buttons)?;
            }
        }
    }
    Ok(buttons)
}

fn print_message(
    m: &BotMessage,
    style: &Style,
    out: &mut (dyn Write + Send),
    buttons: &mut Vec<(i32, String)>,
) -> std::io::Result<()> {
    let who = style.paint("1;36", "Бот:");
    if let Some(doc) = &m.document {
        let size = vox_plugin::ru::count(doc.bytes.len() as u64, ["байт", "байта", "байт"]);
        let (icon, shown) = if m.photo { ("🖼️", 0) } else { ("📎", 8) };
        writeln!(out, "{who} {icon} {} ({size})", doc.file_name)?;
        if let Some(c) = &m.caption {
            writeln!(out, "     {c}")?;
        }
        for line in doc.text().lines().take(shown) {
            writeln!(out, "     {}", style.paint("2", &format!("│ {line}")))?;
        }
    } else {
        let mut lines = m.body().lines();
        writeln!(out, "{who} {}", lines.next().unwrap_or_default())?;
        for line in lines {
            writeln!(out, "     {line}")?;
        }
    }
    for row in &m.keyboard {
        let mut cells = Vec::new();
        for b in row {
            if let Some(data) = &b.callback_data {
                buttons.push((m.id, data.clone()));
                cells.push(style.paint("1;33", &format!("[#{} {}]", buttons.len(), b.text)));
            }
        }
        if !cells.is_empty() {
            writeln!(out, "     {}", cells.join(" "))?;
        }
    }
    Ok(())
}
