//! Console `POST /console/v1/metrics/get`: the stack's activity over the last minutes, for the
//! Console's charts.
//!
//! Request `{"appKey"?, "minutes"?}`: `minutes` 5 to 1440 (default 60; under 5 is 400/1002, over
//! 1440 400/1005), `appKey` letters and digits; any other field is 400/1002 naming it.
//!
//! Answer `{"from", "to", "periodSeconds", "series": [{"name", "unit", "points": [[t, value],
//! ...]}]}`: `from` and `to` (Unix ms) bound whole periods of `periodSeconds` (60 s for up to an
//! hour, longer windows in up to 60 periods; locally from 10 s), the last one holding now and
//! still filling; each point's `t` is the start of its period, oldest first. The series, for the
//! whole stack (every operation):
//! - `calls` (count): calls answered; `errors` (count): of them, answered 5xx;
//! - `latencyP50`, `latencyP99` (seconds): of every operation's call durations, estimated from
//!   the counts under fixed bounds (`shared::metrics::read::CALL_SECONDS`, 1 ms to 10 s):
//!   linear within a bucket, "10 s" meaning 10 s or more;
//! - `rateLimited` (count): calls refused 429 by an app's limit per second; of `appKey`'s app
//!   only when the request names one (the only figure kept per app; an app key no app has
//!   counts 0: the figures are read, not the table);
//! - `webhookLagP99` (seconds): from a change's commit to its webhook's first delivery;
//! - `webhookFailed` (count): delivery attempts that failed with no retry left.
//!
//! A count has a point for every period, 0 where nothing was counted (no data point is no
//! call); a percentile only for periods that had values. Without a metrics source (a function
//! run outside AWS and the local API, `METRICS_NAMESPACE` unset) every series is empty. On AWS
//! the figures are CloudWatch's ([`cloudwatch`]), which shows an EMF line a minute or two after
//! it is written; locally the local API's recorder, sampled (`local-api/src/metrics.rs`).

pub mod cloudwatch;

use serde::{Deserialize, Serialize};
use shared::console::ConsoleCall;
use shared::metrics::read::{self, MAX_MINUTES, MIN_MINUTES, Query, STANDARD_RESOLUTION, Series};
use shared::{ApiError, ConsoleOperation, apps};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetMetrics {
    /// `rateLimited` of this app only.
    pub app_key: Option<String>,
    /// How far back (default [`read::DEFAULT_MINUTES`]).
    pub minutes: Option<u32>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Start of the first period (Unix ms).
    pub from: i64,
    /// End of the last period (Unix ms, exclusive).
    pub to: i64,
    pub period_seconds: u32,
    pub series: Vec<Series>,
}

impl ConsoleOperation for GetMetrics {
    const NAME: &'static str = "get-metrics";
    const PATHS: &'static [&'static str] = &["/console/v1/metrics/get"];
    type Response = Metrics;

    fn validate(&self) -> Result<(), ApiError> {
        if let Some(app_key) = &self.app_key {
            apps::validate_app_key(app_key)?;
        }
        match self.minutes {
            Some(minutes) if minutes < MIN_MINUTES => Err(ApiError::invalid(
                "minutes",
                format!("must be at least {MIN_MINUTES}"),
            )),
            Some(minutes) if minutes > MAX_MINUTES => {
                Err(ApiError::too_long("minutes", MAX_MINUTES))
            }
            _ => Ok(()),
        }
    }

    async fn run(self, call: ConsoleCall) -> Result<Metrics, ApiError> {
        let source = call.state.metrics_source.get();
        let resolution = source.map_or(STANDARD_RESOLUTION, |s| s.resolution());
        let minutes = self.minutes.unwrap_or(read::DEFAULT_MINUTES);
        let query = Query::last(minutes, call.now_ms, resolution, self.app_key);
        let readings = match source {
            Some(source) => Some(source.read(&query).await?),
            None => {
                tracing::warn!("no metrics source (METRICS_NAMESPACE is unset): nothing read");
                None
            }
        };
        Ok(Metrics {
            from: query.from_ms,
            to: query.to_ms,
            period_seconds: query.period_seconds,
            series: read::series(&query, readings),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<GetMetrics, i64> {
        let request: GetMetrics =
            shared::http::parse_body(body.as_bytes()).map_err(|e| e.code())?;
        request.validate().map_err(|e| e.code())?;
        Ok(request)
    }

    #[test]
    fn the_window_is_checked() {
        assert!(parsed("").is_ok_and(|r| r.minutes.is_none() && r.app_key.is_none()));
        assert!(parsed(r#"{"minutes": 5, "appKey": "k1"}"#).is_ok());
        assert!(parsed(r#"{"minutes": 1440}"#).is_ok());
        assert_eq!(parsed(r#"{"minutes": 4}"#).err(), Some(1002));
        assert_eq!(parsed(r#"{"minutes": 1441}"#).err(), Some(1005));
        assert_eq!(parsed(r#"{"minutes": -1}"#).err(), Some(1002));
        assert_eq!(parsed(r#"{"minutes": "60"}"#).err(), Some(1002));
        assert_eq!(parsed(r#"{"appKey": "not a key"}"#).err(), Some(1002));
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let err = shared::http::parse_body::<GetMetrics>(br#"{"minute": 5}"#).unwrap_err();
        assert_eq!(err.code(), 1002);
        assert!(err.to_string().contains("minute"), "{err}");
    }
}
