//! Metrics on Lambda: the CloudWatch Embedded Metric Format through `metrics_cloudwatch_embedded`
//! (a recorder of the `metrics` facade). What an invocation recorded is written to stdout as EMF
//! lines when it ends ([`flush`]), in the function's log group, where CloudWatch extracts the
//! metrics: nothing on the request's path but formatting, and no AWS request.
//!
//! Chosen over AWS's `metrique`: the same facade feeds the local API's Prometheus exporter, so
//! one set of calls serves both, and the crate adds about 30 KB to an artifact.

use std::sync::OnceLock;

use metrics_cloudwatch_embedded::{Builder, Collector};

/// The namespace when `METRICS_NAMESPACE` is not set (the template sets the stack's).
pub const DEFAULT_NAMESPACE: &str = "ChatUsers";

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the EMF recorder for this process (once; a second call does nothing), unless
/// metrics are switched off.
pub fn install() {
    if !super::enabled() || COLLECTOR.get().is_some() {
        return;
    }
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    match Builder::new().cloudwatch_namespace(namespace).init() {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
            super::describe();
        }
        // Another recorder is installed (a test process): it records instead.
        Err(err) => tracing::warn!(error = %err, "no EMF recorder"),
    }
}

/// Writes what was recorded since the last flush as EMF lines on stdout (nothing when nothing
/// was, or no EMF recorder is installed).
pub fn flush() {
    if let Err(err) = flush_into(std::io::stdout().lock()) {
        tracing::warn!(error = %err, "metrics not written");
    }
}

/// [`flush`] once the invocation's answer is handed to the runtime: formatting (11 to 18 µs a call
/// at p50, `bench metrics`) runs while the runtime posts the answer, not before. Lambda freezes the
/// environment only when the runtime asks for the next event; should that come first, the lines
/// are written when it thaws (later, never lost while the container lives).
pub fn flush_after_answer() {
    if COLLECTOR.get().is_some() {
        tokio::spawn(async { flush() });
    }
}

/// [`flush`] into `writer` (benchmarks measure the formatting without a terminal).
pub fn flush_into(writer: impl std::io::Write) -> std::io::Result<()> {
    match COLLECTOR.get() {
        Some(collector) => collector.flush(writer),
        None => Ok(()),
    }
}
