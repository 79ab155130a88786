//! Helpers for the functions' unit tests of request limits (plain functions, so every function
//! crate's tests can use them).

use crate::error::ApiError;

/// `n` valid user IDs: `u0`, `u1`, ...
pub fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}")).collect()
}

/// A list of user IDs is accepted with `max` IDs, refused with one more (400/1005) and refused
/// empty (400/1002).
pub fn assert_id_list_limit(max: usize, validate: impl Fn(Vec<String>) -> Result<(), ApiError>) {
    assert!(validate(ids(max)).is_ok(), "{max} IDs");
    let over = validate(ids(max + 1)).map(|_| ()).unwrap_err();
    assert_eq!(over.code(), 1005, "{} IDs: {over}", max + 1);
    let empty = validate(ids(0)).map(|_| ()).unwrap_err();
    assert_eq!(empty.code(), 1002, "no IDs: {empty}");
}
