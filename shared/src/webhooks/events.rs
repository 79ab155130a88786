//! The four user events, derived from the table's stream records (change data capture): an
//! event exists exactly when its change committed. Each kind of item tells its own change:
//!
//! | item | record | event |
//! |---|---|---|
//! | connection (`CONN#<id>` in the user's partition) | insert / marked closed by a soft delete / removed unmarked | `user:connection_status` `"0"` / `"2"` / `"1"` |
//! | operation record (`OP`) | a restore's insert / a soft delete's result turning `done` (the purge) | `user:activation_state` 1 / 0, one per user |
//! | hosted profile (`PROFILE`) | insert or new version / removed | `user:profile_update` 1 / 0 |
//! | pending request (`FRIEND_REQUEST#`) | insert or replaced | `user:friendship` 1 |
//! | friend edge (`FRIEND#`) carrying `addedBy` | insert | `user:friendship` 2 (accepted) or 5 (direct) |
//! | note (`NOTE#`, [`EventNote`]) | insert | what it holds (friendship 3 rejected, 4 removed) |
//!
//! An event's ID is a UUID v7: its time, then bits hashed from the stream record's `eventID`
//! and the event's place in the record, so a record delivered twice makes the same events.
//!
//! An event carries the request id its item was written with (`requestId`, the same on every
//! kind above), which its deliveries send as `X-Request-ID`: an operator follows one change from
//! the API call to the receiver. A removal's record has no new image, and its old image holds
//! the id of the call that last wrote the item, not of whatever removed it (a disconnect, a TTL,
//! a purge): its events carry none rather than a misleading one.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::Digest;

use crate::app::WebhookEvent;
use crate::db::Item;
use crate::error::ApiError;
use crate::items::{
    CLOSED_BY_SOFT_DELETE, Connection, Edge, EventNote, FriendRequest, Kind, OperationRecord,
    ProfileItem, SK_NOTE_PREFIX, SK_OPERATION,
};
use crate::table;

/// A note's life: long past any stream delay (records live 24 hours).
const NOTE_TTL_SECONDS: i64 = 24 * 3600;

/// One event of one app, ready to record and deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub app_key: String,
    pub kind: WebhookEvent,
    pub id: String,
    /// Unix ms: when the change happened.
    pub time: i64,
    /// `data[0]`.
    pub data: Value,
    /// The request id of the call whose change made it (none for a removal, or a change made
    /// outside a call): sent as `X-Request-ID`, never in the signed body.
    pub request_id: Option<String>,
}

impl Event {
    /// The request body: `{"type","id","time","data":[...]}`.
    pub fn body(&self) -> String {
        json!({
            "type": self.kind.name(),
            "id": self.id,
            "time": self.time,
            "data": [self.data],
        })
        .to_string()
    }
}

/// `user:friendship`'s `data[0]`: `user_id` acted on `other_id`.
pub fn friendship(
    operation_type: i64,
    user_id: &str,
    other_id: &str,
    time: i64,
    extra: &str,
) -> Value {
    let mut data = json!({
        "operationType": operation_type,
        "userId": user_id,
        "toUserId": other_id,
        "time": time,
        "os": "Server",
    });
    if !extra.is_empty() {
        data["extra"] = json!(extra);
    }
    data
}

/// The note item of an event only a note can tell, in `user_id`'s partition.
pub fn note(
    app_key: &str,
    user_id: &str,
    kind: WebhookEvent,
    data: &Value,
    now_ms: i64,
) -> Result<Item, ApiError> {
    EventNote {
        app_key: app_key.to_owned(),
        user_id: user_id.to_owned(),
        note_id: uuid::Uuid::new_v4().simple().to_string(),
        event_type: kind.name().to_owned(),
        data: data.to_string(),
        time: now_ms,
        ttl: now_ms.div_euclid(1000) + NOTE_TTL_SECONDS,
        request_id: crate::metrics::request_id(),
    }
    .item()
}

/// A stream record as Lambda delivers it (DynamoDB Streams' JSON).
struct Record<'a> {
    name: &'a str,
    record_id: &'a str,
    pk: &'a str,
    sk: &'a str,
    new: Option<&'a Value>,
    old: Option<&'a Value>,
    /// `ApproximateCreationDateTime` in ms: when the change was made, to the second on AWS (to
    /// the minute on DynamoDB Local), so a removal's time is at least the time the item it
    /// removes was written.
    approximate_ms: i64,
}

impl<'a> Record<'a> {
    fn read(record: &'a Value) -> Option<Record<'a>> {
        let change = &record["dynamodb"];
        Some(Record {
            name: record["eventName"].as_str()?,
            record_id: record["eventID"].as_str().unwrap_or_default(),
            pk: change["Keys"]["PK"]["S"].as_str()?,
            sk: change["Keys"]["SK"]["S"].as_str()?,
            new: change.get("NewImage"),
            old: change.get("OldImage"),
            approximate_ms: (change["ApproximateCreationDateTime"]
                .as_f64()
                .unwrap_or(0.0)
                * 1000.0) as i64,
        })
    }

    fn new_image<T: DeserializeOwned>(&self) -> Option<T> {
        typed(self.new?)
    }

    fn old_image<T: DeserializeOwned>(&self) -> Option<T> {
        typed(self.old?)
    }
}

/// What every item kind that makes events carries beside its own fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stamped {
    #[serde(default)]
    request_id: Option<String>,
}

/// An image (DynamoDB Streams' JSON) as a typed item.
fn typed<T: DeserializeOwned>(image: &Value) -> Option<T> {
    let item = serde_dynamo::Item::deserialize(image).ok()?;
    serde_dynamo::from_item(item).ok()
}

/// What one record says happened: `(app, event type, time, data)` in order.
type Change = (String, WebhookEvent, i64, Value);

/// The events of one stream record (none for most).
pub fn from_record(record: &Value) -> Vec<Event> {
    let Some(read) = Record::read(record) else {
        return Vec::new();
    };
    let changes = changes(&read).unwrap_or_default();
    // A removal has no new image: none (see the module's comment).
    let request_id = read
        .new_image::<Stamped>()
        .and_then(|stamped| stamped.request_id);
    changes
        .into_iter()
        .enumerate()
        .map(|(index, (app_key, kind, time, data))| Event {
            id: event_id(read.record_id, index, time),
            app_key,
            kind,
            time,
            data,
            request_id: request_id.clone(),
        })
        .collect()
}

fn changes(record: &Record) -> Option<Vec<Change>> {
    if record.sk == SK_OPERATION {
        return operation(record);
    }
    let (app_key, user_id) = table::parse_user_pk(record.pk)?;
    let app_key = app_key.to_owned();
    let one = |kind, time, data| Some(vec![(app_key.clone(), kind, time, data)]);
    let (inserted, modified, removed) = (
        record.name == "INSERT",
        record.name == "MODIFY",
        record.name == "REMOVE",
    );
    if record.sk.starts_with(table::SK_CONN_PREFIX) {
        let (status, time, connection) = if inserted {
            let c: Connection = record.new_image()?;
            ("0", c.connected_at_ms, c)
        } else if modified {
            let (old, new): (Connection, Connection) = (record.old_image()?, record.new_image()?);
            let closed_now =
                old.closed_by.is_none() && new.closed_by.as_deref() == Some(CLOSED_BY_SOFT_DELETE);
            if !closed_now {
                return None;
            }
            ("2", new.closed_at_ms.unwrap_or(record.approximate_ms), new)
        } else {
            let c: Connection = record.old_image()?;
            // Marked closed: reported when it was marked.
            if c.closed_by.is_some() {
                return None;
            }
            ("1", record.approximate_ms.max(c.connected_at_ms), c)
        };
        let mut data = json!({
            "status": status,
            "userId": user_id,
            "time": time,
            "os": "Websocket",
            "sessionId": connection.connection_id,
        });
        if let Some(ip) = connection.client_ip.filter(|ip| !ip.is_empty()) {
            data["clientIp"] = json!(ip);
        }
        return one(WebhookEvent::ConnectionStatus, time, data);
    }
    if record.sk == table::SK_PROFILE {
        if removed {
            let set_at = record
                .old_image::<ProfileItem>()
                .map_or(0, |p| p.updated_at);
            let time = record.approximate_ms.max(set_at);
            let data = json!({"operatorId": user_id, "operationType": 0, "time": time});
            return one(WebhookEvent::ProfileUpdate, time, data);
        }
        let new: ProfileItem = record.new_image()?;
        if modified
            && record
                .old_image::<ProfileItem>()
                .is_some_and(|old| old.version == new.version)
        {
            return None;
        }
        let mut data = json!({"operatorId": user_id, "operationType": 1, "time": new.updated_at});
        if !new.user_profile.is_empty() {
            data["userProfile"] = Value::Object(new.user_profile);
        }
        if !new.user_ext_profile.is_empty() {
            data["userMetaData"] = Value::Object(new.user_ext_profile);
        }
        return one(WebhookEvent::ProfileUpdate, new.updated_at, data);
    }
    if record.sk.starts_with(table::SK_FRIEND_REQUEST_PREFIX) && !removed {
        let new: FriendRequest = record.new_image()?;
        if modified
            && record
                .old_image::<FriendRequest>()
                .is_some_and(|old| old.created_at == new.created_at)
        {
            return None;
        }
        let data = friendship(1, &new.requester_id, user_id, new.created_at, &new.extra);
        return one(WebhookEvent::Friendship, new.created_at, data);
    }
    if record.sk.starts_with(table::SK_FRIEND_PREFIX) && inserted {
        let edge: Edge = record.new_image()?;
        let actor = edge.added_by?;
        let operation_type = match edge.added_how.as_deref() {
            Some(crate::items::ADDED_ACCEPTED) => 2,
            _ => 5,
        };
        let data = friendship(operation_type, &actor, &edge.target_id, edge.added_at, "");
        return one(WebhookEvent::Friendship, edge.added_at, data);
    }
    if record.sk.starts_with(SK_NOTE_PREFIX) && inserted {
        let note: EventNote = record.new_image()?;
        let kind = serde_json::from_value(json!(note.event_type)).ok()?;
        let data = serde_json::from_str(&note.data).ok()?;
        return one(kind, note.time, data);
    }
    None
}

/// A restore's decisions (on insert), or the purges a soft delete's record learns of.
fn operation(record: &Record) -> Option<Vec<Change>> {
    let rest = record.pk.strip_prefix("APP#")?;
    let (app_key, operation_id) = rest.split_once("#OP#")?;
    let new: OperationRecord = record.new_image()?;
    let activation = |user_id: &str, operation_type: i64, code: String, time: i64| {
        let data = json!({
            "userId": user_id,
            "operateId": operation_id,
            "operationType": operation_type,
            "code": code,
            "time": time,
        });
        (
            app_key.to_owned(),
            WebhookEvent::ActivationState,
            time,
            data,
        )
    };
    let done = |results: &std::collections::BTreeMap<String, crate::items::StoredResult>,
                user: &str| {
        results
            .get(user)
            .is_some_and(|r| r.status == crate::operations::PURGE_DONE)
    };
    match (new.kind.as_str(), record.name) {
        ("restore", "INSERT") => Some(
            new.order
                .iter()
                .filter_map(|user_id| {
                    let result = new.users.get(user_id)?;
                    let code = match result.status.as_str() {
                        crate::operations::PURGE_DONE => "0".to_owned(),
                        _ => result.code.unwrap_or(500).to_string(),
                    };
                    Some(activation(user_id, 1, code, new.created_at))
                })
                .collect(),
        ),
        ("soft-delete", "MODIFY") => {
            let old: OperationRecord = record.old_image()?;
            Some(
                new.order
                    .iter()
                    .filter(|user_id| done(&new.users, user_id) && !done(&old.users, user_id))
                    .map(|user_id| activation(user_id, 0, "0".to_owned(), record.approximate_ms))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A UUID v7 at `time` whose other bits are hashed from the record and the event's place in it.
fn event_id(record_id: &str, index: usize, time: i64) -> String {
    let digest = sha2::Sha256::digest(format!("{record_id}#{index}").as_bytes());
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    uuid::Builder::from_unix_timestamp_millis(time.max(0) as u64, &bits)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PK: &str = "APP#k1#U#alice";

    fn record(name: &str, sk: &str, new: Option<Value>, old: Option<Value>) -> Value {
        let mut change = json!({
            "Keys": {"PK": {"S": PK}, "SK": {"S": sk}},
            "ApproximateCreationDateTime": 1_764_100_000,
            "SequenceNumber": "1",
        });
        if let Some(new) = new {
            change["NewImage"] = new;
        }
        if let Some(old) = old {
            change["OldImage"] = old;
        }
        json!({"eventID": "rec-1", "eventName": name, "dynamodb": change})
    }

    fn connection(extra: Value) -> Value {
        let mut image = json!({
            "PK": {"S": PK}, "SK": {"S": "CONN#c1"}, "connectionId": {"S": "c1"},
            "userId": {"S": "alice"}, "iatMs": {"N": "1"}, "connectedAtMs": {"N": "1764099999000"},
            "expiresAtMs": {"N": "1764100120000"}, "ttl": {"N": "1764100120"},
            "clientIp": {"S": "203.0.113.10:0"},
        });
        if let (Some(image), Some(extra)) = (image.as_object_mut(), extra.as_object()) {
            image.extend(extra.clone());
        }
        image
    }

    #[test]
    fn connections_open_close_and_are_closed_by_a_soft_delete() {
        let opened = from_record(&record(
            "INSERT",
            "CONN#c1",
            Some(connection(json!({}))),
            None,
        ));
        assert_eq!(opened.len(), 1);
        assert_eq!(
            (opened[0].app_key.as_str(), opened[0].kind),
            ("k1", WebhookEvent::ConnectionStatus)
        );
        assert_eq!(
            opened[0].data,
            json!({"status": "0", "userId": "alice", "time": 1_764_099_999_000_i64, "os": "Websocket",
                   "clientIp": "203.0.113.10:0", "sessionId": "c1"})
        );
        let closed = from_record(&record(
            "REMOVE",
            "CONN#c1",
            None,
            Some(connection(json!({}))),
        ));
        assert_eq!(closed[0].data["status"], "1");
        assert_eq!(
            closed[0].time, 1_764_100_000_000,
            "the record's time, not before the open"
        );
        let marked = connection(
            json!({"closedBy": {"S": "soft-delete"}, "closedAtMs": {"N": "1764100000500"}}),
        );
        let soft_deleted = from_record(&record(
            "MODIFY",
            "CONN#c1",
            Some(marked.clone()),
            Some(connection(json!({}))),
        ));
        assert_eq!(
            (soft_deleted[0].data["status"].clone(), soft_deleted[0].time),
            (json!("2"), 1_764_100_000_500)
        );
        // Its removal later (TTL, purge) and a heartbeat's MODIFY say nothing.
        assert!(from_record(&record("REMOVE", "CONN#c1", None, Some(marked))).is_empty());
        let heartbeat = from_record(&record(
            "MODIFY",
            "CONN#c1",
            Some(connection(json!({"expiresAtMs": {"N": "1764100240000"}}))),
            Some(connection(json!({}))),
        ));
        assert!(heartbeat.is_empty());
        // The lookup item (`PK = CONN#...`) is not a user's connection.
        let lookup = json!({"eventID": "x", "eventName": "INSERT", "dynamodb": {
            "Keys": {"PK": {"S": "CONN#c1"}, "SK": {"S": "CONN"}}, "NewImage": {}}});
        assert!(from_record(&lookup).is_empty());
    }

    #[test]
    fn events_carry_the_request_id_of_their_change_and_a_removal_none() {
        let stamped = connection(json!({"requestId": {"S": "req-abc"}}));
        let opened = from_record(&record("INSERT", "CONN#c1", Some(stamped.clone()), None));
        assert_eq!(opened[0].request_id.as_deref(), Some("req-abc"));
        let removed = from_record(&record("REMOVE", "CONN#c1", None, Some(stamped)));
        assert_eq!(
            (
                removed[0].data["status"].clone(),
                removed[0].request_id.clone()
            ),
            (json!("1"), None)
        );
        let unstamped = from_record(&record(
            "INSERT",
            "CONN#c1",
            Some(connection(json!({}))),
            None,
        ));
        assert_eq!(unstamped[0].request_id, None);
    }

    #[test]
    fn a_repeated_record_makes_the_same_ids_and_each_event_its_own() {
        let image = Some(connection(json!({})));
        let once = from_record(&record("INSERT", "CONN#c1", image.clone(), None));
        let again = from_record(&record("INSERT", "CONN#c1", image, None));
        assert_eq!(once[0].id, again[0].id);
        let id = uuid::Uuid::parse_str(&once[0].id).expect("uuid");
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(event_id("r", 0, 5), event_id("r", 0, 5));
        assert_ne!(event_id("r", 0, 5), event_id("r", 1, 5));
        assert!(
            event_id("r", 0, 5) < event_id("a", 0, 6),
            "ordered by time first"
        );
    }

    #[test]
    fn operation_records_decide_activation_events() {
        let op_pk = "APP#k1#OP#op1";
        let op = |kind: &str, users: Value| {
            json!({"PK": {"S": op_pk}, "SK": {"S": "OP"}, "type": {"S": kind}, "createdAt": {"N": "1764100000001"},
                   "order": {"L": [{"S": "alice"}, {"S": "bob"}]}, "users": {"M": users}})
        };
        let result = |status: &str, code: Option<i64>| {
            let mut r = json!({"M": {"status": {"S": status}}});
            if let Some(code) = code {
                r["M"]["code"] = json!({"N": code.to_string()});
            }
            r
        };
        let with_pk = |mut r: Value| {
            r["dynamodb"]["Keys"]["PK"] = json!({"S": op_pk});
            r
        };
        let restore = op(
            "restore",
            json!({"alice": result("done", None), "bob": result("refused", Some(20102))}),
        );
        let events = from_record(&with_pk(record("INSERT", "OP", Some(restore), None)));
        let decided: Vec<(Value, Value, Value)> = events
            .iter()
            .map(|e| {
                (
                    e.data["userId"].clone(),
                    e.data["operationType"].clone(),
                    e.data["code"].clone(),
                )
            })
            .collect();
        assert_eq!(
            decided,
            [
                (json!("alice"), json!(1), json!("0")),
                (json!("bob"), json!(1), json!("20102"))
            ]
        );
        assert_eq!(events[0].data["operateId"], "op1");
        // A soft delete: only a purge that completes now makes an event.
        let before = op(
            "soft-delete",
            json!({"alice": result("pending", None), "bob": result("pending", None)}),
        );
        let after = op(
            "soft-delete",
            json!({"alice": result("done", None), "bob": result("pending", None)}),
        );
        let purged = from_record(&with_pk(record(
            "MODIFY",
            "OP",
            Some(after.clone()),
            Some(before),
        )));
        assert_eq!(purged.len(), 1);
        assert_eq!(
            (
                purged[0].data["userId"].clone(),
                purged[0].data["operationType"].clone()
            ),
            (json!("alice"), json!(0))
        );
        assert!(
            from_record(&with_pk(record(
                "MODIFY",
                "OP",
                Some(after.clone()),
                Some(after)
            )))
            .is_empty()
        );
    }

    #[test]
    fn friend_edges_speak_once_per_pair_and_notes_say_what_they_hold() {
        let edge = |by: Option<(&str, &str)>| {
            let mut image = json!({"PK": {"S": PK}, "SK": {"S": "FRIEND#bob"}, "LSI1SK": {"S": "x"},
                "edgeTo": {"S": "APP#k1#U#bob"}, "countedIn": {"S": "FRIEND_COUNT"}, "targetId": {"S": "bob"},
                "addedAt": {"N": "1764100000002"}});
            if let Some((who, how)) = by {
                image["addedBy"] = json!({"S": who});
                image["addedHow"] = json!({"S": how});
            }
            image
        };
        assert!(from_record(&record("INSERT", "FRIEND#bob", Some(edge(None)), None)).is_empty());
        let accepted = from_record(&record(
            "INSERT",
            "FRIEND#bob",
            Some(edge(Some(("alice", "accepted")))),
            None,
        ));
        assert_eq!(
            accepted[0].data,
            friendship(2, "alice", "bob", 1_764_100_000_002, "")
        );
        let direct = from_record(&record(
            "INSERT",
            "FRIEND#bob",
            Some(edge(Some(("alice", "direct")))),
            None,
        ));
        assert_eq!(direct[0].data["operationType"], 5);
        assert!(from_record(&record("REMOVE", "FRIEND#bob", None, Some(edge(None)))).is_empty());

        let removed = friendship(4, "alice", "bob", 7, "");
        let note: Item = note("k1", "alice", WebhookEvent::Friendship, &removed, 7).expect("note");
        let sk = note["SK"].as_s().expect("sk").clone();
        let image = serde_json::to_value(serde_dynamo::Item::from(note)).expect("json");
        let events = from_record(&record("INSERT", &sk, Some(image), None));
        assert_eq!(
            (events[0].kind, events[0].data.clone(), events[0].time),
            (WebhookEvent::Friendship, removed, 7)
        );
    }

    #[test]
    fn the_envelope_has_one_element_and_no_nulls() {
        let event = Event {
            app_key: "k".into(),
            kind: WebhookEvent::ProfileUpdate,
            id: "i".into(),
            time: 3,
            data: json!({"operatorId": "a", "operationType": 0, "time": 3}),
            request_id: Some("req-1".into()),
        };
        let body: Value = serde_json::from_str(&event.body()).expect("json");
        // The request id goes in a header: the signed body is Nexconn's envelope alone.
        assert_eq!(
            body,
            json!({"type": "user:profile_update", "id": "i", "time": 3, "data": [{"operatorId": "a", "operationType": 0, "time": 3}]})
        );
        assert_eq!(friendship(1, "a", "b", 1, "").get("extra"), None);
    }
}
