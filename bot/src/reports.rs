//! `vox-host reports add`: stores one report in my-reports' directory the way
//! the host does (its lock, its journal, never-reused numbers), for any writer
//! that is not the host — a pipeline in another language, an operator. The
//! legacy Python bot uses `crates/report-store/python/vox_report_store.py`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use vox_host::Settings;
use vox_report_store::{NewReport, Storage};

/// What `reports add` was given.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The owner's Telegram user id.
    #[arg(long)]
    pub user: i64,
    /// The report's title.
    #[arg(long)]
    pub title: String,
    /// The report text file (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// The owner's username.
    #[arg(long)]
    pub username: Option<String>,
    /// `fast` or `deep`.
    #[arg(long, default_value = "fast", value_parser = ["fast", "deep"])]
    pub search_type: String,
    /// Tokens the analysis used.
    #[arg(long, default_value_t = 0)]
    pub tokens: u64,
    /// The pipeline's job id: a retried add with the same id stores nothing new
    /// and prints the report the first one stored.
    #[arg(long)]
    pub job_id: Option<String>,
    /// The reports directory (default: `plugins.my_reports.reports_dir` of the config).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The reports directory the running config gives my-reports.
fn configured_dir(settings: &Settings) -> PathBuf {
    let configured = settings
        .plugins
        .get("my_reports")
        .and_then(|s| s.get("reports_dir"))
        .and_then(|v| v.as_str())
        .unwrap_or("reports");
    settings.setup().resolve(Path::new(configured))
}

/// Stores the report; prints it as one JSON line.
pub fn add(settings: &Settings, args: AddArgs) -> anyhow::Result<()> {
    let mut content = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut content).context("reading the report from standard input")?;
    } else {
        content = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    }
    if args.title.trim().is_empty() {
        anyhow::bail!("--title must not be empty");
    }
    let dir = args.dir.clone().unwrap_or_else(|| configured_dir(settings));
    let storage =
        Storage::open(&dir).with_context(|| format!("opening the reports directory {}", dir.display()))?;
    let report = storage
        .save_report_blocking(NewReport {
            user_id: args.user,
            username: args.username,
            title: args.title,
            search_type: args.search_type,
            tokens: args.tokens,
            content,
            timestamp: None,
            job_id: args.job_id,
        })
        .with_context(|| format!("storing the report in {}", dir.display()))?;
    let printed = serde_json::json!({
        "report_number": report.number,
        "file_path": report.file_path,
        "user_id": report.user_id,
        "question": report.title,
        "job_id": report.job_id,
    });
    println!("{printed}");
    Ok(())
}
