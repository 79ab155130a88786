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
