//! `POST /v4/user/tag/batch/get`: the tags of up to 50 users; `[]` for a user without tags.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, moderation, validate};

pub const MAX_USERS: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetUserTags {
    pub user_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TagsOfUsers {
    pub users: Vec<UserTags>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTags {
    pub user_id: String,
    pub tags: Vec<String>,
}

impl Operation for BatchGetUserTags {
    const NAME: &'static str = "batch-get-user-tags";
    const PATHS: &'static [&'static str] = &["/v4/user/tag/batch/get"];
    type Response = TagsOfUsers;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<TagsOfUsers, ApiError> {
        let tags = moderation::get_tags(&call.state, &call.app.app_key, &self.user_ids).await?;
        let users = tags
            .into_iter()
            .map(|(user_id, tags)| UserTags { user_id, tags })
            .collect();
        Ok(TagsOfUsers { users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn at_most_fifty_valid_users() {
        assert_id_list_limit(50, |user_ids| BatchGetUserTags { user_ids }.validate());
    }
}
