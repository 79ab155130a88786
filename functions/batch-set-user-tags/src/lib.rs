//! `POST /v4/user/tag/batch/set`: replaces the tag set of up to 1,000 users (`[]` clears it).
//! Unknown and soft-deleted users are skipped; the others are written.

use serde::Deserialize;
use shared::moderation::{self, MAX_TAG_BYTES, MAX_TAGS};
use shared::{ApiError, Call, Operation, validate};

pub const MAX_USERS: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSetUserTags {
    pub user_ids: Vec<String>,
    pub tags: Vec<String>,
}

impl Operation for BatchSetUserTags {
    const NAME: &'static str = "batch-set-user-tags";
    const PATHS: &'static [&'static str] = &["/v4/user/tag/batch/set"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)?;
        validate::max_items("tags", &self.tags, MAX_TAGS)?;
        for tag in &self.tags {
            validate::non_empty("tags", tag)?;
            validate::max_bytes("tags", tag, MAX_TAG_BYTES)?;
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        let skipped = moderation::set_tags(
            &call.state,
            &call.app.app_key,
            &self.user_ids,
            &self.tags,
            call.now_ms,
        )
        .await?;
        if !skipped.is_empty() {
            tracing::info!(
                skipped = skipped.len(),
                "unknown or soft-deleted users skipped"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(users: usize, tags: Vec<String>) -> Result<(), ApiError> {
        BatchSetUserTags {
            user_ids: shared::testing::ids(users),
            tags,
        }
        .validate()
    }

    #[test]
    fn limits_follow_the_contract() {
        let tags = |n: usize, len: usize| vec!["t".repeat(len); n];
        assert!(set(1000, tags(20, 40)).is_ok());
        assert!(set(1, vec![]).is_ok(), "[] clears");
        assert!(set(1, vec!["标签".into()]).is_ok());
        let cases = [
            (set(1001, tags(1, 1)), 1005, "userIds"),
            (set(0, tags(1, 1)), 1002, "userIds"),
            (set(1, tags(21, 1)), 1005, "tags"),
            (set(1, tags(1, 41)), 1005, "tags"),
            (
                set(1, vec!["标签标签标签标签标签标签标签".into()]),
                1005,
                "tags",
            ),
            (set(1, vec![" ".into()]), 1002, "tags"),
        ];
        for (result, code, field) in cases {
            let err = result.unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
    }
}
