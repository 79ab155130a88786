use super::*;

#[test]
fn only_a_pending_soft_deleted_user_item_is_purged() {
    let image = |sk: &str, state: &str, purge: &str| UserImage {
        pk: "APP#k#U#u".into(),
        sk: sk.into(),
        state: state.into(),
        purge_state: purge.into(),
        purge_operation: "op".into(),
        purge_rounds: 0,
    };
    assert!(image("USER", "soft-deleted", "pending").needs_purge());
    assert!(!image("USER", "soft-deleted", "done").needs_purge());
    assert!(!image("USER", "active", "").needs_purge());
    assert!(!image("PROFILE", "soft-deleted", "pending").needs_purge());
    assert!(!image("USER", "soft-deleted", "console").needs_purge());
}

#[test]
fn a_deadline_keeps_its_reserve_and_none_never_passes() {
    assert!(!Deadline::none().passed());
    assert!(Deadline::within(Duration::from_secs(30), PURGE_RESERVE).passed());
    assert!(!Deadline::within(Duration::from_secs(120), PURGE_RESERVE).passed());
    assert!(Deadline::from_lambda(0).passed());
}

#[test]
fn past_its_deadline_an_invocation_starts_its_first_page_only() {
    let spent = Deadline::within(Duration::ZERO, PURGE_RESERVE);
    let next_record = spent.clone();
    assert!(spent.may_start_page(), "every invocation progresses");
    assert!(!spent.may_start_page());
    assert!(
        !next_record.may_start_page(),
        "the batch shares the first page"
    );
    let ample = Deadline::within(Duration::from_secs(120), PURGE_RESERVE);
    assert!(ample.may_start_page() && ample.may_start_page());
    let none = Deadline::none();
    assert!(none.may_start_page() && none.may_start_page());
}

#[test]
fn a_census_adds_pending_users_and_keeps_the_oldest_soft_delete() {
    let ticket = PurgeTicket {
        app_key: "k".into(),
        operation_id: "0abc".into(),
        created_at: 1_764_000_000_000,
    }
    .item()
    .expect("ticket");
    assert_eq!(ticket_time(&ticket), 1_764_000_000_000);
    assert_eq!(ticket_time(&HashMap::new()), 0, "unreadable: old");

    let pending = |users, at| Swept {
        pending_users: users,
        oldest_pending_at: Some(at),
        ..Swept::default()
    };
    let mut swept = Swept {
        finished: 1,
        ..Swept::default()
    };
    swept += pending(2, 9_000);
    swept += pending(1, 4_000);
    swept += Swept::default();
    let counted = swept.counted(10_500, true);
    assert_eq!(
        (counted.pending_users, counted.oldest_pending_seconds),
        (3, 6)
    );
    assert_eq!(counted.oldest_pending(), Some(Duration::from_secs(6)));
    let json = serde_json::to_value(counted).expect("json");
    assert_eq!(json["pendingUsers"], 3);
    assert_eq!(json["oldestPendingSeconds"], 6);
    assert_eq!(json["censusComplete"], true);
    let none = Swept::default().counted(10_500, true);
    assert_eq!(
        (none.oldest_pending_seconds, none.oldest_pending()),
        (0, None)
    );
}

#[test]
fn a_record_goes_on_only_at_the_stored_checkpoint_of_its_operation() {
    let image = |operation: &str, rounds: u64| UserImage {
        pk: "APP#k#U#u".into(),
        sk: "USER".into(),
        state: "soft-deleted".into(),
        purge_state: "pending".into(),
        purge_operation: operation.into(),
        purge_rounds: rounds,
    };
    assert!(image("op", 2).is_current_in(&image("op", 2)));
    assert!(!image("op", 1).is_current_in(&image("op", 2)));
    assert!(!image("op", 2).is_current_in(&image("later", 2)));
    let finished = UserImage {
        purge_state: "done".into(),
        ..image("op", 2)
    };
    assert!(!image("op", 2).is_current_in(&finished));
    let read = |name: &str| (name == "purgeRounds").then(|| "3".to_owned());
    assert_eq!(UserImage::from_strings(read).purge_rounds, 3);
}
