//! Checks 8 and 9, judged from what the view, rename and delete runs recorded:
//! each asked for confirmation before acting (8), and the prompts and
//! confirmations the bot sent are deleted once the action is done (9), as the
//! fake Bot API records deletions.

use std::time::Duration;

use crate::checks::Ctx;
use crate::checks::actions::ActionRun;
use crate::checks::flow;
use crate::outcome::CheckResult;

/// How long the bot may take to clean up after its last message.
pub const CLEANUP_WAIT: Duration = Duration::from_secs(3);

/// Check 8.
pub fn confirmations(runs: &[ActionRun]) -> CheckResult {
    let mut asked = Vec::new();
    let mut problems = Vec::new();
    for run in runs {
        match &run.confirmation {
            Ok(what) => asked.push(what.clone()),
            Err(why) => problems.push(why.clone()),
        }
    }
    let verdict = if runs.len() == 3 && problems.is_empty() {
        Ok(format!("asked before acting — {}", asked.join("; ")))
    } else {
        Err(format!("expected view, rename and delete each to ask first: {}", problems.join("; ")))
    };
    CheckResult {
        number: 8,
        verdict,
        chat: runs.iter().find(|r| r.confirmation.is_err()).and_then(|r| r.result.chat),
    }
}

/// Check 9; each message may take up to `wait` to be deleted.
pub async fn cleanup(ctx: &Ctx, runs: &[ActionRun], wait: Duration) -> CheckResult {
    let mut problems = Vec::new();
    let mut cleaned = 0;
    let mut chat_of_problem = None;
    for run in runs {
        let name = run.action.name();
        let Some(chat) = run.result.chat else { continue };
        if !run.acted {
            problems.push(format!("{name}: its flow did not get to the action, cleanup not judged"));
            chat_of_problem.get_or_insert(chat);
            continue;
        }
        let ids: Vec<i32> = run.transient.iter().map(|(id, _)| *id).collect();
        let visible = flow::wait_deleted(&ctx.api, chat, &ids, wait).await;
        cleaned += ids.len() - visible.len();
        for (id, text) in run.transient.iter().filter(|(id, _)| visible.contains(id)) {
            problems.push(format!("{name}: #{id} «{text}» still visible"));
            chat_of_problem.get_or_insert(chat);
        }
    }
    let verdict = if problems.is_empty() && runs.len() == 3 {
        Ok(format!("{cleaned} prompts and confirmations deleted after view, rename and delete"))
    } else {
        Err(format!("expected prompts and confirmations deleted after each action: {}", problems.join("; ")))
    };
    CheckResult { number: 9, verdict, chat: chat_of_problem }
}

#[cfg(test)]
mod tests {
    use teloxide::requests::Requester;
    use teloxide::types::ChatId;
    use vox_fake_bot_api::FakeBotApi;

    use super::*;
    use crate::checks::actions::Action;
    use crate::index::Reports;
    use crate::outcome::Verdict;

    fn runs(
        chat: i64,
        confirmation: Result<String, String>,
        transient: Vec<(i32, String)>,
    ) -> Vec<ActionRun> {
        [Action::View, Action::Rename, Action::Delete]
            .into_iter()
            .map(|action| ActionRun {
                action,
                result: CheckResult {
                    number: 5 + action as usize,
                    verdict: Ok(String::new()),
                    chat: Some(chat),
                },
                confirmation: confirmation.clone(),
                transient: transient.clone(),
                acted: true,
            })
            .collect()
    }

    #[test]
    fn an_action_done_without_asking_fails_check_8() {
        let good = confirmations(&runs(1, Ok("asked".into()), vec![]));
        assert!(good.passed(), "{}", good.line());
        let mut mixed = runs(1, Ok("asked".into()), vec![]);
        mixed[2].confirmation = Err("delete: №4 was gone from disk before confirming".into());
        let bad = confirmations(&mixed);
        assert!(bad.line().starts_with("FAIL  8 confirmations asked: "), "{}", bad.line());
        assert!(bad.line().contains("gone from disk before confirming"), "{}", bad.line());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prompt_left_in_the_chat_fails_check_9_until_it_is_deleted() {
        let api = FakeBotApi::start().await.expect("fake Bot API");
        let url = api.url().parse().expect("url");
        let bot = teloxide::Bot::new(api.token()).set_api_url(url);
        let chat = 4242;
        api.user(chat, "Проверка").send_text("/start");
        let prompt = bot.send_message(ChatId(chat), "✏️ Какой отчет переименовать?").await.expect("sent");
        let ctx = Ctx {
            api: api.clone(),
            reports: Reports::new("/nonexistent".into()),
            snapshot_ttl: Duration::from_secs(2),
        };
        let transient = vec![(prompt.id.0, "✏️ Какой отчет переименовать?".to_owned())];

        let left =
            cleanup(&ctx, &runs(chat, Ok(String::new()), transient.clone()), Duration::from_millis(200))
                .await;
        let verdict: Verdict = left.verdict.clone();
        assert!(verdict.is_err_and(|why| why.contains("still visible")), "{}", left.line());

        bot.delete_message(ChatId(chat), prompt.id).await.expect("deleted");
        let cleaned =
            cleanup(&ctx, &runs(chat, Ok(String::new()), transient), Duration::from_millis(200)).await;
        assert!(cleaned.passed(), "{}", cleaned.line());
    }
}
