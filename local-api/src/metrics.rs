//! The metrics the local functions emit, collected in this process and served at `GET /metrics`
//! in the Prometheus text format, and at `GET /metrics/json` as JSON (the same samples). On AWS
//! the same calls are CloudWatch EMF lines (`shared::metrics::emf`): one catalogue, two
//! recorders of the `metrics` facade. Names here are `chat_users_<name>`, and counters end in
//! `_total`, as Prometheus names them.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::layers::{Layer, PrefixLayer};
use serde_json::{Map, Value, json};

/// Bucket bounds of durations (seconds): DynamoDB Local answers in about a millisecond, a batch
/// of 100 users takes tens, a timeout 8 s.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds of capacity units per call (a strongly consistent read of 4 KB is 1).
const UNITS: &[f64] = &[0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once (later calls return the same handle). `None` when another
/// recorder was installed first (a benchmark's own): then nothing is collected here.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .with_recommended_naming(true)
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("units".into()), UNITS))
                .map(PrometheusBuilder::build_recorder);
            let recorder = match recorder {
                Ok(recorder) => recorder,
                Err(err) => {
                    tracing::error!(error = %err, "no metrics recorder");
                    return None;
                }
            };
            let handle = recorder.handle();
            let named = PrefixLayer::new("chat_users").layer(recorder);
            metrics::set_global_recorder(named).ok()?;
            shared::metrics::describe();
            Some(handle)
        })
        .as_ref()
}

/// Everything collected so far, in the Prometheus text format (empty without a recorder).
pub fn prometheus() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

/// The same samples as JSON: `{"metrics":[{"name","labels":{...},"value"}]}`, a histogram as
/// its `_bucket`, `_sum` and `_count` samples.
pub fn json() -> Value {
    json!({ "metrics": samples(&prometheus()) })
}

/// The samples of a Prometheus text exposition (comments skipped).
pub fn samples(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(sample)
        .collect()
}

/// `name{label="value",...} number` → `{"name","labels","value"}`.
fn sample(line: &str) -> Option<Value> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, labels_of(rest.strip_suffix('}')?)?),
        None => (series, Map::new()),
    };
    Some(json!({ "name": name, "labels": labels, "value": value }))
}

/// `a="x",b="y \"q\""` → `{"a":"x","b":"y \"q\""}` (values escaped as Prometheus escapes them).
fn labels_of(text: &str) -> Option<Map<String, Value>> {
    let mut labels = Map::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), Value::String(value));
        rest = &after[end + 1..];
    }
    Some(labels)
}

/// The value of one sample: `name` with every label of `labels` (others may differ), summed over
/// the series that match. Tests and scripts read single figures this way.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .iter()
        .filter(|s| s["name"] == name)
        .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .filter_map(|s| s["value"].as_f64())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_names_labels_and_values() {
        let text = "# HELP x y\n# TYPE chat_users_calls_total counter\n\
            chat_users_calls_total{operation=\"get-user\",status=\"404\",code=\"1010\"} 3\n\
            chat_users_purge_pending 0\n\
            chat_users_odd{a=\"say \\\"hi\\\", ok\",b=\"2\"} 1.5\n";
        let all = samples(text);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0]["labels"]["status"], "404");
        assert_eq!(
            all[1],
            json!({"name": "chat_users_purge_pending", "labels": {}, "value": 0.0})
        );
        assert_eq!(all[2]["labels"]["a"], "say \"hi\", ok");
        assert_eq!(all[2]["labels"]["b"], "2");
        assert_eq!(
            value(text, "chat_users_calls_total", &[("code", "1010")]),
            3.0
        );
        assert_eq!(value(text, "chat_users_calls_total", &[("code", "0")]), 0.0);
    }
}
