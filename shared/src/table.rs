//! The single-table model: key builders and attribute names. Every key starts with the app key,
//! so one app can never address another app's items.

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// The TTL attribute (epoch seconds). DynamoDB may delete late and DynamoDB Local never does,
/// so every read of a TTL item also checks it.
pub const TTL: &str = "ttl";

/// Sparse index of per-app listings ordered by time: `GSI1PK` names the list
/// (`APP#<appKey>#<LIST>`), `GSI1SK` orders it ([`time_sort_key`]).
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// Local index ordering items inside a user's partition (friends, blocklist) by time added:
/// `LSI1SK` = `<KIND>#<13-digit ms>#<userId>`.
/// Every registered user of an app by registration time (`GSI2PK` = [`list_pk`]`(app,
/// `[`LIST_USERS`]`)`, `GSI2SK` = [`time_sort_key`]), set on the user item when it is registered.
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const LIST_USERS: &str = "USERS";
/// Every app by creation time, in `GSI1` (`GSI1SK` = [`time_sort_key`] of the app key).
pub const LIST_APPS: &str = "APPS";

pub const LSI1: &str = "LSI1";
pub const LSI1SK: &str = "LSI1SK";
/// Sparse index of edges that point at a user from another user's partition: every such item
/// (friend edge, pending request, blocklist edge, ...) carries `edgeTo` = the target's user
/// partition key ([`user_pk`]). The purge of a soft-deleted user queries it, so new kinds of
/// edges are purged without changing the purge.
pub const EDGES: &str = "EDGES";
pub const EDGE_TO: &str = "edgeTo";

pub const SK_APP: &str = "APP";
pub const SK_USER: &str = "USER";
pub const SK_PROFILE: &str = "PROFILE";
pub const SK_BAN: &str = "BAN";
/// The ban item's end (ms); also in the connect-time check's condition.
pub const BAN_EXPIRES_AT: &str = "banExpiresAt";
pub const SK_TAGS: &str = "TAGS";
pub const SK_MUTE_PERSON: &str = "MUTE#PERSON";
pub const SK_FRIEND_PERMISSION: &str = "FRIEND_PERMISSION";
pub const SK_NONCE: &str = "NONCE";
/// Prefixes of per-target items in a user's partition, followed by the target user ID.
pub const SK_FRIEND_PREFIX: &str = "FRIEND#";
pub const SK_FRIEND_REQUEST_PREFIX: &str = "FRIEND_REQUEST#";
pub const SK_REQUEST_SENT_PREFIX: &str = "REQUEST_SENT#";
pub const SK_BLOCK_PREFIX: &str = "BLOCK#";
pub const SK_CONN_PREFIX: &str = "CONN#";
/// Counter items (attribute `count`) of a user's friend and blocklist edges, updated in the same
/// transaction as the edges they count (edges carry `countedIn` = one of these).
pub const SK_FRIEND_COUNT: &str = "FRIEND_COUNT";
pub const SK_BLOCK_COUNT: &str = "BLOCK_COUNT";

/// A rate counter's sort key; its partition is [`rate_pk`].
pub const SK_RATE: &str = "RATE";

/// The partition of an app's request counts for one operation and block of seconds
/// (`crate::rate`). It leads with `RATE#`, not the app key, so that a policy may allow updates
/// of counters only (`dynamodb:LeadingKeys` `RATE#*`).
pub fn rate_pk(app_key: &str, operation: &str, block: i64) -> String {
    format!("RATE#{app_key}#{operation}#{block}")
}

pub fn app_pk(app_key: &str) -> String {
    format!("APP#{app_key}")
}

pub fn user_pk(app_key: &str, user_id: &str) -> String {
    format!("APP#{app_key}#U#{user_id}")
}

pub fn nonce_pk(app_key: &str, nonce: &str) -> String {
    format!("APP#{app_key}#NONCE#{nonce}")
}

pub fn operation_pk(app_key: &str, operation_id: &str) -> String {
    format!("APP#{app_key}#OP#{operation_id}")
}

/// The `GSI1` list of hosted profiles, ordered by the user's registration time.
pub const LIST_PROFILES: &str = "PROFILES";

/// Partition of an app's hosted-profile count tree (`shared::profiles`): how many profiles each
/// registration-time range holds, so a list page is found without reading the pages before it.
pub fn profile_counts_pk(app_key: &str) -> String {
    format!("APP#{app_key}#PROFILE_COUNTS")
}

/// Partition of the remembered page boundaries of an app's profile list (TTL items).
pub fn profile_pages_pk(app_key: &str) -> String {
    format!("APP#{app_key}#PROFILE_PAGES")
}

/// The `GSI1PK` of one of an app's time-ordered listings, e.g. `list_pk(app, "BANS")`.
pub fn list_pk(app_key: &str, list: &str) -> String {
    format!("APP#{app_key}#{list}")
}

/// A sort key that orders by time, then user ID: 13-digit zero-padded milliseconds.
pub fn time_sort_key(ms: i64, user_id: &str) -> String {
    format!("{:013}#{user_id}", ms.max(0))
}

/// `(appKey, userId)` of a user partition key.
pub fn parse_user_pk(pk: &str) -> Option<(&str, &str)> {
    let rest = pk.strip_prefix("APP#")?;
    let (app_key, user_id) = rest.split_once("#U#")?;
    (!app_key.is_empty() && !user_id.is_empty() && !user_id.contains('#'))
        .then_some((app_key, user_id))
}

/// `FRIEND#<friendId>`.
pub fn friend_sk(friend_id: &str) -> String {
    format!("{SK_FRIEND_PREFIX}{friend_id}")
}

/// `FRIEND_REQUEST#<requesterId>` (in the target's partition).
pub fn friend_request_sk(requester_id: &str) -> String {
    format!("{SK_FRIEND_REQUEST_PREFIX}{requester_id}")
}

/// `REQUEST_SENT#<targetId>` (in the requester's partition): the mirror of a pending request,
/// written and deleted in the same transaction as the request, so the requester's purge finds it
/// with a strongly consistent read of its own partition.
pub fn request_sent_sk(target_id: &str) -> String {
    format!("{SK_REQUEST_SENT_PREFIX}{target_id}")
}

/// `BLOCK#<blockedId>`.
pub fn block_sk(blocked_id: &str) -> String {
    format!("{SK_BLOCK_PREFIX}{blocked_id}")
}

/// An `LSI1SK` ordering a user's items of one kind by time: `<prefix><13-digit ms>#<userId>`,
/// e.g. `lsi1_sort_key(SK_FRIEND_PREFIX, ms, "bob")`.
pub fn lsi1_sort_key(prefix: &str, ms: i64, user_id: &str) -> String {
    format!("{prefix}{}", time_sort_key(ms, user_id))
}

/// The user ID at the end of a `...#<userId>` key, if the key has that shape.
pub fn user_id_suffix(key: &str) -> Option<&str> {
    key.rsplit_once('#')
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_by_app() {
        assert_eq!(app_pk("k1"), "APP#k1");
        assert_eq!(user_pk("k1", "alice"), "APP#k1#U#alice");
        assert_eq!(nonce_pk("k1", "123"), "APP#k1#NONCE#123");
        assert_ne!(user_pk("k1", "alice"), user_pk("k2", "alice"));
        assert_eq!(list_pk("k1", "BANS"), "APP#k1#BANS");
    }

    #[test]
    fn time_sort_keys_sort_like_time() {
        assert_eq!(time_sort_key(42, "bob"), "0000000000042#bob");
        assert!(time_sort_key(999, "z") < time_sort_key(1000, "a"));
        assert_eq!(user_id_suffix(&time_sort_key(5, "carol")), Some("carol"));
        assert_eq!(user_id_suffix("FRIEND#dave"), Some("dave"));
        assert_eq!(parse_user_pk(&user_pk("k1", "erin")), Some(("k1", "erin")));
        assert_eq!(parse_user_pk("APP#k1#NONCE#5"), None);
    }
}
