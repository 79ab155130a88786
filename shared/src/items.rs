//! The typed item layer: item kinds as `serde` structs, written and read with `serde_dynamo`,
//! each with its keys (and index keys) built in one place from `table`. The app lives in
//! `app.rs` and the user in `users.rs`; every other kind is here. Counters (edge counts, count-tree
//! nodes) are written by `ADD` update expressions only, so they have attribute names, not structs.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::db::Item;
use crate::error::ApiError;
use crate::table;

/// An item kind: its body plus the keys it is stored under.
pub trait Kind: Serialize + DeserializeOwned {
    /// `(PK, SK)`.
    fn key(&self) -> (String, String);

    /// The whole item, keys included.
    fn item(&self) -> Result<Item, ApiError> {
        let (pk, sk) = self.key();
        let mut item: Item = serde_dynamo::to_item(self)?;
        item.insert(table::PK.to_owned(), crate::db::s(pk));
        item.insert(table::SK.to_owned(), crate::db::s(sk));
        Ok(item)
    }

    /// The body of a stored item (its keys and unknown attributes are ignored).
    fn from_item(item: Item) -> Result<Self, ApiError> {
        Ok(serde_dynamo::from_item(item)?)
    }
}

/// A user's ban (`SK = BAN`): listed in the app's `GSI1` `BANS` list by expiry, deleted by the
/// table's TTL after it ends (and ignored at read time once ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ban {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    /// When the ban ends (ms): `table::BAN_EXPIRES_AT`.
    pub ban_expires_at: i64,
    pub banned_at: i64,
    /// Epoch seconds, rounded up so DynamoDB never deletes a ban before it ends.
    pub ttl: i64,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
}

/// The `GSI1` list of an app's bans, by expiry.
pub const BANS: &str = "BANS";

impl Ban {
    pub fn new(app_key: &str, user_id: &str, expires_at: i64, now_ms: i64) -> Self {
        Self {
            app_key: app_key.to_owned(),
            user_id: user_id.to_owned(),
            ban_expires_at: expires_at,
            banned_at: now_ms,
            ttl: ttl_seconds(expires_at),
            gsi1_pk: table::list_pk(app_key, BANS),
            gsi1_sk: table::time_sort_key(expires_at, user_id),
        }
    }
}

impl Kind for Ban {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_BAN.to_owned(),
        )
    }
}

/// A user muted in direct channels (`SK = MUTE#PERSON`): listed in the app's `GSI1`
/// `MUTED#PERSON` list by the time it was first muted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mute {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    pub muted_at: i64,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
}

/// The `GSI1` list of the users muted in direct channels, by the time muted.
pub const MUTED_PERSON: &str = "MUTED#PERSON";

impl Mute {
    pub fn new(app_key: &str, user_id: &str, muted_at: i64) -> Self {
        Self {
            app_key: app_key.to_owned(),
            user_id: user_id.to_owned(),
            muted_at,
            gsi1_pk: table::list_pk(app_key, MUTED_PERSON),
            gsi1_sk: table::time_sort_key(muted_at, user_id),
        }
    }
}

impl Kind for Mute {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_MUTE_PERSON.to_owned(),
        )
    }
}

/// A user's tags (`SK = TAGS`); no item when the user has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tags {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    pub tags: Vec<String>,
    pub updated_at: i64,
}

impl Kind for Tags {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_TAGS.to_owned(),
        )
    }
}

/// A soft-delete or restore operation (`PK = <operation pk>`, `SK = OP`): each user's result,
/// and the users in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub operation_id: String,
    /// `soft-delete` or `restore`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: i64,
    pub order: Vec<String>,
    pub users: std::collections::BTreeMap<String, StoredResult>,
    /// The request id of the API call that wrote it ([`crate::metrics::request_id`]), which its
    /// webhook events carry to the receiver (`X-Request-ID`); absent when written outside a call.
    /// The same field on every item kind that makes webhook events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Stamps an update of an item that makes webhook events with the request id of the call in
/// scope (`requestId`, [`OperationRecord::request_id`]): adds its `SET` to `sets`, or, outside a
/// call, its `REMOVE` to `removes`, so the item never keeps an earlier call's id.
pub fn stamp_request_id(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    sets: &mut Vec<&str>,
    removes: &mut Vec<&str>,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    match crate::metrics::request_id() {
        Some(id) => {
            sets.push("requestId = :requestId");
            update.expression_attribute_values(":requestId", crate::db::s(id))
        }
        None => {
            removes.push("requestId");
            update
        }
    }
}

/// One user's result as an operation record stores it (under `users.<userId>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResult {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

/// The operation record's sort key.
pub const SK_OPERATION: &str = "OP";

impl OperationRecord {
    pub fn key_of(app_key: &str, operation_id: &str) -> Item {
        crate::db::key(table::operation_pk(app_key, operation_id), SK_OPERATION)
    }
}

impl Kind for OperationRecord {
    fn key(&self) -> (String, String) {
        (
            table::operation_pk(&self.app_key, &self.operation_id),
            SK_OPERATION.to_owned(),
        )
    }
}

/// A live client connection (`SK = CONN#<connectionId>` in the user's partition), in the app's
/// `GSI1` `CONNECTIONS` list; offline once `expiresAtMs` passes (heartbeats move it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    #[serde(skip)]
    pub app_key: String,
    pub connection_id: String,
    pub user_id: String,
    /// The access token's issue time.
    pub iat_ms: i64,
    pub connected_at_ms: i64,
    pub expires_at_ms: i64,
    pub ttl: i64,
    /// The client's address as API Gateway saw it (`ip:port`, port 0 when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Set (with `closedAtMs`) when a soft delete closed the connection: the item then stays,
    /// offline and out of the `CONNECTIONS` list, until its TTL or the purge removes it, so
    /// its stream record tells why it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at_ms: Option<i64>,
    /// The request id of the call that opened it, then of the soft delete that closed it (as
    /// [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Absent once closed by a soft delete.
    #[serde(rename = "GSI1PK", default)]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK", default)]
    pub gsi1_sk: String,
}

/// `addedHow` of a friend edge: a request accepted, or friends without one.
pub const ADDED_ACCEPTED: &str = "accepted";
pub const ADDED_DIRECT: &str = "direct";

/// `closedBy` of a connection a soft delete closed.
pub const CLOSED_BY_SOFT_DELETE: &str = "soft-delete";

/// The `GSI1` list of an app's connections (app-wide kicks on secret rotation).
pub const LIST_CONNECTIONS: &str = "CONNECTIONS";
/// The sort key of a connection's lookup item.
pub const SK_LOOKUP: &str = "CONN";

/// Epoch seconds for the table's TTL, rounded up so DynamoDB never deletes an item before
/// `expires_at_ms`.
pub fn ttl_seconds(expires_at_ms: i64) -> i64 {
    (expires_at_ms + 999).div_euclid(1000)
}

impl Connection {
    pub fn new(
        app_key: &str,
        user_id: &str,
        connection_id: &str,
        iat_ms: i64,
        now: i64,
        expires: i64,
    ) -> Self {
        Self {
            app_key: app_key.to_owned(),
            connection_id: connection_id.to_owned(),
            user_id: user_id.to_owned(),
            iat_ms,
            connected_at_ms: now,
            expires_at_ms: expires,
            ttl: ttl_seconds(expires),
            client_ip: None,
            closed_by: None,
            closed_at_ms: None,
            request_id: None,
            gsi1_pk: table::list_pk(app_key, LIST_CONNECTIONS),
            gsi1_sk: table::time_sort_key(now, user_id),
        }
    }

    /// Its lookup item, for `$disconnect` and heartbeats that know only the connection ID.
    pub fn lookup(&self) -> ConnectionLookup {
        ConnectionLookup {
            connection_id: self.connection_id.clone(),
            edge_to: table::user_pk(&self.app_key, &self.user_id),
            expires_at_ms: self.expires_at_ms,
            ttl: self.ttl,
        }
    }
}

impl Kind for Connection {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            format!("{}{}", table::SK_CONN_PREFIX, self.connection_id),
        )
    }
}

/// `PK = CONN#<connectionId>`, `SK = CONN`: the user a connection belongs to (`edgeTo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionLookup {
    #[serde(skip)]
    pub connection_id: String,
    /// The user's partition key (`table::EDGE_TO`).
    pub edge_to: String,
    pub expires_at_ms: i64,
    pub ttl: i64,
}

impl Kind for ConnectionLookup {
    fn key(&self) -> (String, String) {
        (
            format!("{}{}", table::SK_CONN_PREFIX, self.connection_id),
            SK_LOOKUP.to_owned(),
        )
    }
}

/// An edge `owner → target` in the owner's partition (`SK = FRIEND#<target>` or
/// `BLOCK#<target>`): `edgeTo` names the target's partition, `countedIn` the owner's counter item
/// it is counted in, `LSI1SK` orders the owner's edges of its kind by time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    #[serde(skip)]
    pub owner_pk: String,
    #[serde(skip)]
    pub sk: String,
    #[serde(rename = "LSI1SK")]
    pub lsi1_sk: String,
    pub edge_to: String,
    pub counted_in: String,
    pub target_id: String,
    pub added_at: i64,
    /// On a friend edge, in the partition of the user whose call made them friends only: that
    /// user, and how (`accepted` a request, or `direct`). One per pair: the webhook's actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_how: Option<String>,
    /// On the edge carrying `addedBy`: the request id of the call that made them friends (as
    /// [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Kind for Edge {
    fn key(&self) -> (String, String) {
        (self.owner_pk.clone(), self.sk.clone())
    }
}

/// A pending friend request in the target's partition (`SK = FRIEND_REQUEST#<requester>`),
/// `edgeTo` the requester's partition; mirrored by `REQUEST_SENT#<target>` in the requester's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendRequest {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub target_id: String,
    #[serde(rename = "LSI1SK")]
    pub lsi1_sk: String,
    pub edge_to: String,
    pub requester_id: String,
    /// Left out when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extra: String,
    pub created_at: i64,
    /// The request id of the call that wrote it (as [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl FriendRequest {
    pub fn new(
        app_key: &str,
        requester_id: &str,
        target_id: &str,
        extra: &str,
        now_ms: i64,
    ) -> Self {
        Self {
            app_key: app_key.to_owned(),
            target_id: target_id.to_owned(),
            lsi1_sk: table::lsi1_sort_key(table::SK_FRIEND_REQUEST_PREFIX, now_ms, requester_id),
            edge_to: table::user_pk(app_key, requester_id),
            requester_id: requester_id.to_owned(),
            extra: extra.to_owned(),
            created_at: now_ms,
            request_id: None,
        }
    }
}

impl Kind for FriendRequest {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.target_id),
            table::friend_request_sk(&self.requester_id),
        )
    }
}

/// A user's friend permission (`SK = FRIEND_PERMISSION`); absent: the app's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendPermission {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub user_id: String,
    pub permission_type: u8,
}

impl Kind for FriendPermission {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_FRIEND_PERMISSION.to_owned(),
        )
    }
}

/// The pending request's mirror in the requester's partition (`SK = REQUEST_SENT#<target>`), so
/// the requester's purge finds it with a strongly consistent read of its own partition. Written
/// and deleted in the same transaction as the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSent {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub requester_id: String,
    #[serde(skip)]
    pub target_id: String,
}

impl Kind for RequestSent {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.requester_id),
            table::request_sent_sk(&self.target_id),
        )
    }
}

/// A used request nonce (`PK = APP#<app>#NONCE#<nonce>`, `SK = NONCE`), kept until its
/// timestamp leaves the signature window; a second use of the nonce is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nonce {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub nonce: String,
    /// Epoch seconds (`table::TTL`).
    pub ttl: i64,
    /// Which request recorded it (a fresh ID per request): the SDK's retry of a put whose
    /// answer was lost finds its own record, which is not a replay.
    #[serde(default)]
    pub recorded_by: String,
}

impl Kind for Nonce {
    fn key(&self) -> (String, String) {
        (
            table::nonce_pk(&self.app_key, &self.nonce),
            table::SK_NONCE.to_owned(),
        )
    }
}

/// A hosted profile (`SK = PROFILE`), in the app's `GSI1` `PROFILES` list by the user's
/// registration time; an empty part is not stored (it would be noise in every read and stream
/// record). Values are strings and numbers only (the contract's limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileItem {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    pub version: i64,
    pub registered_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub user_profile: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub user_ext_profile: serde_json::Map<String, serde_json::Value>,
    /// The request id of the call that wrote it (as [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
}

impl Kind for ProfileItem {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_PROFILE.to_owned(),
        )
    }
}

/// One remembered boundary of the profile list's page walk (`PK = APP#<app>#PROFILE_PAGES`,
/// `SK = <order>#<pageSize>#<page>`): the sort key the page before ended at, kept briefly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMemory {
    #[serde(skip)]
    pub app_key: String,
    /// `<order>#<pageSize>#<page>`.
    #[serde(skip)]
    pub walk: String,
    pub after: String,
    /// Epoch seconds (`table::TTL`).
    pub ttl: i64,
}

impl PageMemory {
    pub fn key_of(app_key: &str, walk: &str) -> Item {
        crate::db::key(table::profile_pages_pk(app_key), walk)
    }
}

impl Kind for PageMemory {
    fn key(&self) -> (String, String) {
        (table::profile_pages_pk(&self.app_key), self.walk.clone())
    }
}

/// The sweeper's ticket of a soft delete (`PK = PURGES#<first hex digit of the operation ID>`,
/// `SK = <13-digit ms>#<app>#<operation>`): spread over 16 partitions so no partition takes every
/// soft delete's write, sorted by time so the sweeper reads only tickets older than its cut-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeTicket {
    pub app_key: String,
    pub operation_id: String,
    #[serde(skip)]
    pub created_at: i64,
}

/// The partitions of the sweeper's tickets: `PURGES#` and one of these digits.
pub const TICKET_SHARDS: &str = "0123456789abcdef";

impl PurgeTicket {
    /// The partition of one shard (a digit of [`TICKET_SHARDS`]).
    pub fn shard_pk(shard: char) -> String {
        format!("PURGES#{shard}")
    }

    /// The sort key below which every ticket is older than `cutoff_ms`.
    pub fn older_than(cutoff_ms: i64) -> String {
        format!("{:013}", cutoff_ms.max(0))
    }
}

impl Kind for PurgeTicket {
    fn key(&self) -> (String, String) {
        let shard = self.operation_id.chars().next().unwrap_or('0');
        (
            Self::shard_pk(shard),
            format!(
                "{}#{}#{}",
                Self::older_than(self.created_at),
                self.app_key,
                self.operation_id
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{n, s};

    #[test]
    fn an_operation_record_keeps_order_and_codes() {
        let record = OperationRecord {
            app_key: "k".into(),
            operation_id: "op".into(),
            kind: "soft-delete".into(),
            created_at: 3,
            order: vec!["b".into(), "a".into()],
            users: [
                (
                    "a".to_owned(),
                    StoredResult {
                        status: "done".into(),
                        code: None,
                    },
                ),
                (
                    "b".to_owned(),
                    StoredResult {
                        status: "refused".into(),
                        code: Some(400),
                    },
                ),
            ]
            .into(),
            request_id: None,
        };
        let item = record.item().unwrap();
        assert_eq!(item[table::SK], s(SK_OPERATION));
        assert_eq!(item["type"], s("soft-delete"));
        let users = item["users"].as_m().unwrap();
        assert!(!users["a"].as_m().unwrap().contains_key("code"));
        assert_eq!(users["b"].as_m().unwrap()["code"], n(400));
        let back = OperationRecord::from_item(item).unwrap();
        assert_eq!((back.order, back.users), (record.order, record.users));
    }

    #[test]
    fn a_ban_is_stored_with_its_keys_expiry_ttl_and_list_entry() {
        let item = Ban::new("k", "bob", 1_700_000_000_001, 5).item().unwrap();
        assert_eq!(item[table::PK], s(table::user_pk("k", "bob")));
        assert_eq!(item[table::SK], s(table::SK_BAN));
        assert_eq!(item[table::BAN_EXPIRES_AT], n(1_700_000_000_001_i64));
        assert_eq!(item[table::TTL], n(1_700_000_001_i64));
        assert_eq!(item[table::GSI1PK], s(table::list_pk("k", BANS)));
        assert_eq!(item["bannedAt"], n(5));
        let back = Ban::from_item(item).unwrap();
        assert_eq!(
            (back.user_id.as_str(), back.ban_expires_at),
            ("bob", 1_700_000_000_001)
        );
    }

    #[test]
    fn a_connection_and_its_lookup_point_at_each_other() {
        let connection = Connection::new("k", "bob", "c1", 1, 2_000, 3_500);
        let item = connection.item().unwrap();
        assert_eq!(item[table::SK], s("CONN#c1"));
        assert_eq!(item["expiresAtMs"], n(3_500));
        assert_eq!(item[table::TTL], n(4), "rounded up");
        let lookup = connection.lookup().item().unwrap();
        assert_eq!(
            (&lookup[table::PK], &lookup[table::SK]),
            (&s("CONN#c1"), &s(SK_LOOKUP))
        );
        assert_eq!(lookup[table::EDGE_TO], item[table::PK]);
    }

    #[test]
    fn tags_are_a_list_of_strings() {
        let tags = Tags {
            app_key: "k".into(),
            user_id: "u".into(),
            tags: vec!["a".into(), "b".into()],
            updated_at: 1,
        };
        let item = tags.item().unwrap();
        assert_eq!(
            item["tags"],
            aws_sdk_dynamodb::types::AttributeValue::L(vec![s("a"), s("b")])
        );
        assert_eq!(Tags::from_item(item).unwrap().tags, tags.tags);
    }
}

/// A change's facts that no stored item keeps (who removed a friendship, who rejected a request):
/// written in the change's own transaction, only while the app has the event delivered, in the
/// acting user's partition (`SK = NOTE#<id>`), and read once, from the table's stream, by the
/// webhook producer. Gone after a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventNote {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub user_id: String,
    #[serde(skip)]
    pub note_id: String,
    /// The event type (`user:friendship`).
    pub event_type: String,
    /// The event's `data[0]`, as JSON.
    pub data: String,
    pub time: i64,
    pub ttl: i64,
    /// The request id of the call that wrote it (as [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

pub const SK_NOTE_PREFIX: &str = "NOTE#";

impl Kind for EventNote {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            format!("{SK_NOTE_PREFIX}{}", self.note_id),
        )
    }
}

/// One webhook event and its delivery (`PK = APP#<app>#WEBHOOKS#<hour>`, `SK = <eventId>`, a
/// UUID v7: newest first is descending order). Kept 7 days (`ttl`).
///
/// One partition per app and hour of the event's time (read from its ID), not one per app: the
/// table has a local index, which caps every partition key value at 10 GB, and one partition
/// serves about 1,000 writes per second. An hour holds what an app can write in it (the
/// partition's write rate binds long before 10 GB), and no partition grows with time. The hours
/// that hold deliveries are listed in the app's [`WebhookHours`] item, so reading the log costs
/// O(page), not one query per hour of the week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    #[serde(skip)]
    pub app_key: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The request body every attempt sends, byte for byte (listings leave it out).
    #[serde(default)]
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// Every attempt, oldest first (at most [`MAX_ATTEMPT_RECORDS`]).
    #[serde(default)]
    pub history: Vec<AttemptRecord>,
    pub ttl: i64,
    /// The request id the event carries (its change's, see [`crate::webhooks::events::Event`]),
    /// sent with every attempt as `X-Request-ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The attempts a delivery's history keeps.
pub const MAX_ATTEMPT_RECORDS: usize = 50;
/// The webhook delivery log's partition suffix.
pub const WEBHOOKS: &str = "WEBHOOKS";

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The span of one delivery-log partition.
pub const WEBHOOK_HOUR_MS: i64 = 3_600_000;

impl WebhookDelivery {
    /// The partition of an app's deliveries of one hour (hours since the Unix epoch).
    pub fn pk_of(app_key: &str, hour: i64) -> String {
        format!("{}#{WEBHOOKS}#{hour}", table::app_pk(app_key))
    }

    /// The hour of a delivery partition key of `app_key` (`None`: not one).
    pub fn hour_of_pk(app_key: &str, pk: &str) -> Option<i64> {
        let prefix = format!("{}#{WEBHOOKS}#", table::app_pk(app_key));
        pk.strip_prefix(prefix.as_str())?.parse().ok()
    }

    /// The hour of an event, from the time its UUID v7 ID carries (`None`: not such an ID).
    pub fn hour_of(event_id: &str) -> Option<i64> {
        let id = uuid::Uuid::try_parse(event_id).ok()?;
        if id.get_version_num() != 7 {
            return None;
        }
        let (seconds, nanos) = id.get_timestamp()?.to_unix();
        let ms = i64::try_from(seconds).ok()? * 1000 + i64::from(nanos / 1_000_000);
        Some(ms.div_euclid(WEBHOOK_HOUR_MS))
    }

    /// The key of an event's delivery (`None`: the ID is not an event's).
    pub fn key_of(app_key: &str, event_id: &str) -> Option<Item> {
        let hour = Self::hour_of(event_id)?;
        Some(crate::db::key(Self::pk_of(app_key, hour), event_id))
    }
}

impl Kind for WebhookDelivery {
    fn key(&self) -> (String, String) {
        let hour =
            Self::hour_of(&self.event_id).unwrap_or(self.created_at.div_euclid(WEBHOOK_HOUR_MS));
        (Self::pk_of(&self.app_key, hour), self.event_id.clone())
    }
}

/// The hours of an app's delivery log that hold deliveries (`PK = APP#<app>#WEBHOOKS`,
/// `SK = HOURS`): a number set the producer adds each hour to before its first delivery there
/// (once per app and hour per container), and from which hours past the log's 7 days are
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebhookHours {
    #[serde(default)]
    pub hours: std::collections::BTreeSet<i64>,
}

impl WebhookHours {
    pub const SK: &'static str = "HOURS";

    pub fn key_of(app_key: &str) -> Item {
        crate::db::key(format!("{}#{WEBHOOKS}", table::app_pk(app_key)), Self::SK)
    }
}
