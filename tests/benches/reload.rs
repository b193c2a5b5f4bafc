//! From saving the config file to the first update served under the new config:
//! a user is moved between v1 and v2 of my-reports by editing the file, and the
//! clock runs until the host has applied it and answered the user's next message.
//!
//! `cargo bench -p vox-testkit --bench reload`

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vox_testkit::TestHost;

use vox_main_menu as _;
use vox_my_reports as _;

const USER: i64 = 77;

fn config(allow: bool) -> String {
    let allow = if allow { format!("allow = [{USER}]\n") } else { String::new() };
    format!(
        "[plugins.my_reports]\nreports_dir = \"{{dir}}/reports\"\n\
         [plugins.my_reports.rollout]\nstable = \"v1\"\ncandidate = \"v2\"\npercent = 0\n{allow}"
    )
}

fn reload(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let host = rt.block_on(TestHost::builder().config(&config(false)).start());
    let mut user = host.user(USER, "Bench");
    let mut allowed = false;
    let mut group = c.benchmark_group("reload");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("save_to_first_update_served", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                allowed = !allowed;
                let generation = host.generation();
                let started = Instant::now();
                host.write_config(&config(allowed));
                rt.block_on(async {
                    while host.generation() == generation {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    user.send_text("/reports");
                    // Both versions answer an empty list with the same text, from the version now in force.
                    user.expect_text("нет сохраненных отчетов").await;
                });
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    let _ = rt.block_on(host.stop());
}

criterion_group!(benches, reload);
criterion_main!(benches);
