//! The template's scheduled functions (`Type: Schedule` events): each runs on its rate in its own
//! container, as EventBridge would invoke it, and on demand (`POST /.invoke/<function>` with the
//! admin token, the local `aws lambda invoke`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use shared::purge::{Deadline, PURGE_RESERVE};

use crate::functions::Functions;
use crate::table::BoxError;

/// The sweeper of stuck purges, the one scheduled function.
pub const SWEEP_FUNCTION: &str = "sweep-stuck-purges";

/// The period of an EventBridge `rate(...)` expression (`cron(...)` is not emulated).
pub fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (value, unit) = inner.trim().split_once(' ')?;
    let value: u64 = value.parse().ok().filter(|v| *v > 0)?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(value * seconds))
}

/// Invokes scheduled function `binary` once with `event`, in its container and within its
/// template `Timeout`; answers what the function answers.
pub async fn invoke(functions: &Functions, binary: &str, event: Value) -> Result<Value, BoxError> {
    if binary != SWEEP_FUNCTION {
        return Err(format!("{binary} is not a scheduled function").into());
    }
    let state = functions.state(binary)?;
    let deadline = Deadline::within(functions.template().timeout(binary), PURGE_RESERVE);
    Ok(sweep_stuck_purges::handle(&state, &event, deadline).await)
}

/// Runs every scheduled function of the template on its rate until the handle is dropped.
pub fn start(functions: Arc<Functions>) -> Result<Vec<tokio::task::JoinHandle<()>>, BoxError> {
    let mut tasks = Vec::new();
    for function in &functions.template().functions {
        for expression in &function.schedules {
            let every = rate(expression).ok_or_else(|| {
                format!(
                    "{}: schedule {expression:?} is not emulated",
                    function.binary
                )
            })?;
            let (functions, binary) = (functions.clone(), function.binary.clone());
            tasks.push(tokio::spawn(async move {
                let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    ticks.tick().await;
                    let event = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
                    match invoke(&functions, &binary, event).await {
                        Ok(answer) => tracing::info!(%binary, %answer, "scheduled run"),
                        Err(err) => tracing::error!(%binary, error = %err, "scheduled run failed"),
                    }
                }
            }));
        }
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_like_eventbridge() {
        assert_eq!(rate("rate(5 minutes)"), Some(Duration::from_secs(300)));
        assert_eq!(rate("rate(1 hour)"), Some(Duration::from_secs(3_600)));
        assert_eq!(rate("rate(0 minutes)"), None);
        assert_eq!(rate("cron(0 12 * * ? *)"), None);
    }

    #[test]
    fn the_sweeper_is_scheduled_in_the_template() {
        let template = crate::template::Template::shipped().unwrap();
        let sweeper = template.function(SWEEP_FUNCTION).unwrap();
        assert!(sweeper.schedules.iter().all(|s| rate(s).is_some()));
        assert_eq!(sweeper.schedules.len(), 1);
    }
}
