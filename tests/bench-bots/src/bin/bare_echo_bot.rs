//! The baseline of `scripts/bench-throughput.sh`: a bare teloxide 0.17 bot that
//! answers every message with one `sendMessage`, and every button press with
//! `answerCallbackQuery` then one `sendMessage` (as the aiogram peer does), run
//! as a process of its own.
//!
//! Reads `VOX__TELEGRAM__TOKEN` and `VOX__TELEGRAM__API_URL`, the same variables
//! as the host, and long-polls with a 1 s timeout like the host under the bench.

use std::process::ExitCode;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::update_listeners::Polling;

#[tokio::main]
async fn main() -> ExitCode {
    let (Ok(token), Ok(url)) =
        (std::env::var("VOX__TELEGRAM__TOKEN"), std::env::var("VOX__TELEGRAM__API_URL"))
    else {
        eprintln!("usage: VOX__TELEGRAM__TOKEN=.. VOX__TELEGRAM__API_URL=.. bare_echo_bot");
        return ExitCode::from(2);
    };
    let url = match url.parse() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("error: VOX__TELEGRAM__API_URL `{url}`: {e}");
            return ExitCode::from(2);
        }
    };
    let bot = Bot::new(token).set_api_url(url);
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
            bot.send_message(msg.chat.id, "echo").await?;
            Ok::<(), teloxide::RequestError>(())
        }))
        .branch(Update::filter_callback_query().endpoint(|bot: Bot, q: CallbackQuery| async move {
            bot.answer_callback_query(q.id).await?;
            bot.send_message(q.from.id, "echo").await?;
            Ok::<(), teloxide::RequestError>(())
        }));
    // The same listener the host builds: teloxide's default polls for 10 s.
    let listener =
        Polling::builder(bot.clone()).timeout(Duration::from_secs(1)).delete_webhook().await.build();
    Dispatcher::builder(bot, handler)
        .enable_ctrlc_handler()
        .build()
        .dispatch_with_listener(listener, LoggingErrorHandler::new())
        .await;
    ExitCode::SUCCESS
}
