//! [`FakeBotApi`]: starts the server and is the test's handle on it — push
//! updates, inject faults, read back calls and chats.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::conn::{ConnKill, KillableListener};
use crate::faults::{Chaos, Fault};
use crate::server;
use crate::shared::Shared;
use crate::types::{BotMessage, Call, CallbackAnswer, Command, TgUser, UserMessage};
use crate::world::{BotIdentity, World};
use crate::{methods, transcript};

/// The token [`FakeBotApi::token`] hands out; the server accepts any token.
const TOKEN: &str = "123456:TEST-fake-bot-api-token";
/// The bot's user id, the number before the colon of the token as in Telegram.
const BOT_ID: i64 = 123_456;

/// A fake Telegram Bot API server running in-process on `127.0.0.1`.
///
/// Cheap to clone; every clone is a handle on the same server. The server
/// stops when [`FakeBotApi::shutdown`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct FakeBotApi {
    shared: Arc<Shared>,
    server: Arc<ServerGuard>,
}

/// Stops the server when the last handle goes away.
struct ServerGuard {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

impl std::fmt::Debug for FakeBotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBotApi").field("url", &self.url()).finish_non_exhaustive()
    }
}

impl FakeBotApi {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> std::io::Result<FakeBotApi> {
        Self::bind(0, false).await
    }

    /// Like [`FakeBotApi::start`] on `127.0.0.1:port` (0: any free port), also
    /// serving the `/_control/` routes (see the `control` module) so another
    /// process can push updates and count calls — what the standalone
    /// `vox-fake-bot-api` binary runs.
    pub async fn start_with_control(port: u16) -> std::io::Result<FakeBotApi> {
        Self::bind(port, true).await
    }

    async fn bind(port: u16, control: bool) -> std::io::Result<FakeBotApi> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(World::new(BotIdentity {
            id: BOT_ID,
            first_name: "Vox Test Bot".to_owned(),
            username: "vox_test_bot".to_owned(),
        })));
        let app =
            server::router(Arc::clone(&shared), control).into_make_service_with_connect_info::<ConnKill>();
        let serve = axum::serve(KillableListener(listener), app).with_graceful_shutdown(shared.stopped());
        let task = tokio::spawn(async move {
            if let Err(err) = serve.await {
                tracing::warn!("fake Bot API server stopped: {err}");
            }
        });
        // Delivers updates to a webhook once a bot sets one; ends with the server.
        tokio::spawn(crate::webhook::deliver(Arc::clone(&shared)));
        Ok(FakeBotApi {
            shared: Arc::clone(&shared),
            server: Arc::new(ServerGuard { shared, addr, task: Mutex::new(Some(task)) }),
        })
    }

    /// The API root, `http://127.0.0.1:PORT/`, as teloxide's `Bot::set_api_url` takes it.
    pub fn url(&self) -> String {
        format!("http://{}/", self.server.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// A plausible bot token; any token works, this one just reads well in logs.
    pub fn token(&self) -> &'static str {
        TOKEN
    }

    /// The bot's user id, as `getMe` and `message.from` report it.
    pub fn bot_user_id(&self) -> i64 {
        BOT_ID
    }

    /// The bot's `@username` without the `@`.
    pub fn bot_username(&self) -> String {
        self.shared.world().bot.username.clone()
    }

    // ----- updates -------------------------------------------------------

    /// Queues a text message from `from` in `chat` (a private chat when
    /// `chat == from.id`, a group for a negative id) and returns its message
    /// id. Text starting with `/cmd` carries a `bot_command` entity.
    pub fn push_text(&self, chat: i64, from: &TgUser, text: &str) -> i32 {
        let id = self.shared.world().push_text(chat, from, text);
        self.shared.updates_queued();
        id
    }

    /// Queues a callback query as if `from` pressed a button with `data` on
    /// message `message_id`, and returns the query id. The data is not
    /// checked against the message's keyboard, so tests can forge presses.
    pub fn push_callback(&self, chat: i64, from: &TgUser, message_id: i32, data: &str) -> String {
        let query = self.shared.world().push_callback(chat, from, message_id, data);
        self.shared.updates_queued();
        query
    }

    /// Updates pushed but not yet confirmed by a `getUpdates` offset.
    pub fn pending_updates(&self) -> usize {
        self.shared.world().pending_updates()
    }

    // ----- calls ---------------------------------------------------------

    /// Every call so far, in the order they were answered.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.world().calls.clone()
    }

    /// Whether calls are kept in the log [`FakeBotApi::calls`] reads (on by
    /// default). Off, only the per-method counts are kept: the standalone
    /// binary turns it off, since the log cannot be read over `/_control/`
    /// and a benchmark's hundreds of thousands of calls would grow the fake
    /// (zeroing fresh pages was a sixth of its CPU).
    pub fn keep_call_log(&self, keep: bool) {
        self.shared.world().keep_calls = keep;
    }

    /// The calls from `cursor` on, and the cursor after them.
    pub fn calls_since(&self, cursor: usize) -> (Vec<Call>, usize) {
        let world = self.shared.world();
        let calls = world.calls.get(cursor..).unwrap_or_default().to_vec();
        (calls, world.calls.len())
    }

    /// The number of calls recorded so far: a cursor that skips all of them.
    pub fn call_count(&self) -> usize {
        self.shared.world().calls.len()
    }

    /// Waits up to `timeout` for a call at or after `cursor` that matches
    /// `pred`; returns it and the cursor just past it. Sleeps on a
    /// notification between looks, never polls.
    pub async fn wait_call(
        &self,
        cursor: usize,
        pred: impl Fn(&Call) -> bool,
        timeout: Duration,
    ) -> Option<(Call, usize)> {
        self.shared
            .wait_call(timeout, |world| {
                world
                    .calls
                    .iter()
                    .skip(cursor)
                    .find(|call| pred(call))
                    .map(|call| (call.clone(), call.seq + 1))
            })
            .await
    }

    // ----- chats ---------------------------------------------------------

    /// The bot's messages in `chat` that are still visible (not deleted), oldest first.
    pub fn messages(&self, chat: i64) -> Vec<BotMessage> {
        let mut messages = self.all_messages(chat);
        messages.retain(|m| !m.deleted);
        messages
    }

    /// Every bot message in `chat`, deleted ones included (with `deleted` set).
    pub fn all_messages(&self, chat: i64) -> Vec<BotMessage> {
        self.shared.world().bot_messages(chat)
    }

    /// One bot message by id, deleted or not.
    pub fn message(&self, chat: i64, id: i32) -> Option<BotMessage> {
        self.shared.world().bot_message(chat, id)
    }

    /// The messages users sent in `chat`, oldest first.
    pub fn user_messages(&self, chat: i64) -> Vec<UserMessage> {
        self.shared.world().user_messages(chat)
    }

    /// The labels of the reply keyboard the bot currently shows in `chat`.
    pub fn reply_keyboard(&self, chat: i64) -> Vec<Vec<String>> {
        self.shared.world().reply_keyboard(chat)
    }

    /// How the bot answered a callback query, `None` while unanswered.
    pub fn callback_answer(&self, query_id: &str) -> Option<CallbackAnswer> {
        self.shared.world().callback_answer(query_id)
    }

    /// The commands set for `scope` (a `BotCommandScope` object, `None` for
    /// the default scope) and `language_code` (`None` for all languages).
    pub fn my_commands(&self, scope: Option<&Value>, language_code: Option<&str>) -> Vec<Command> {
        self.shared.world().commands(&methods::commands_key(scope, language_code))
    }

    /// A readable dump of everything that happened in `chat`.
    pub fn transcript(&self, chat: i64) -> String {
        transcript::render(&self.shared.world(), chat)
    }

    // ----- faults --------------------------------------------------------

    /// Makes the next `times` calls of `method` (any spelling; `None` for
    /// every method, `getUpdates` included) fail with `fault`. Faults queue
    /// up: an earlier request is used up before a later one applies.
    pub fn fault(&self, method: Option<&str>, fault: Fault, times: usize) {
        self.shared.world().faults.push(method, fault, times);
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }

    /// Faulted calls still to come.
    pub fn pending_faults(&self) -> usize {
        self.shared.world().faults.pending()
    }

    /// While on, sends and edits over Telegram's flood limits (30 a second per
    /// bot, one a second per private chat with short bursts, 20 a minute per
    /// group) are refused with 429 and `retry_after`, as Telegram refuses them.
    /// Off by default.
    pub fn enforce_rate_limits(&self, on: bool) {
        self.shared.world().limits = on.then(Default::default);
    }

    /// The webhook the bot set, if any.
    pub fn webhook(&self) -> Option<crate::Webhook> {
        self.shared.world().webhook.clone()
    }

    /// Every webhook delivery attempt so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<crate::Delivery> {
        self.shared.world().deliveries.clone()
    }

    /// Random faults from now on (`None`: off); see [`Chaos`].
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        self.shared.world().chaos = chaos.map(crate::faults::ChaosState::new);
    }

    /// How many faults the chaos handed out so far.
    pub fn chaos_dealt(&self) -> usize {
        self.shared.world().chaos.as_ref().map_or(0, |c| c.dealt)
    }

    /// While on, every request's connection is dropped without an answer, as
    /// if Telegram were unreachable; queued faults wait until it is off.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.shared.world().unreachable = unreachable;
    }

    /// While on, sending to `chat` fails with 403 "Forbidden: bot was
    /// blocked by the user".
    pub fn set_blocked(&self, chat: i64, blocked: bool) {
        self.shared.world().set_blocked(chat, blocked);
    }

    // ----- lifecycle -----------------------------------------------------

    /// Stops the server: held long polls answer at once, idle connections
    /// close, and the task is awaited for up to 2 s, then aborted. Other
    /// handles stay readable (calls, chats) but the server is gone.
    pub async fn shutdown(self) {
        self.shared.stop();
        let task = self.server.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(mut task) = task
            && tokio::time::timeout(Duration::from_secs(2), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}
