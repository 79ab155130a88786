//! Large counted lists (`scripts/large-lists`, BENCHMARKS.md): seeds N users muted, banned and
//! soft-deleted through the operations' own code against DynamoDB Local, then reads each list
//! at the head, the middle, the last page and past the end. Prints a Markdown table: requests,
//! items read and time per page, and whether the page matched a plain read of the whole list.
//!   large-lists [ENTRIES]

use std::time::Instant;

use integration_tests::large_lists;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let entries: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);
    // SAFETY: set before any other thread reads the environment.
    unsafe { std::env::set_var("TEST_TABLE_NAME", "chat-users-large-lists") };
    let env = integration_tests::env().await;
    let app = env.dev_app().await;
    let started = Instant::now();
    let ids = large_lists::seed_users(&env.state, &app.app_key, entries).await;
    large_lists::seed_lists(&env, &app, &ids).await;
    eprintln!(
        "seeded {entries} users, muted, banned and soft-deleted, in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let reads = large_lists::read_pages(&env, &app.app_key, entries).await;
    println!(
        "| list ({entries} entries) | offset | page size | requests | items read | ms | page right |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut all_right = true;
    for read in &reads {
        let right = read.ids == read.expected;
        all_right &= right;
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {} |",
            read.list,
            read.offset,
            read.page_size,
            read.stats.requests,
            read.stats.items_read,
            read.millis,
            if right { "yes" } else { "NO" }
        );
    }
    if !all_right {
        return Err("a page differs from the whole list's".into());
    }
    Ok(())
}
