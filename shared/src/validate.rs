//! Field checks shared by every operation. Each error names the field and, for limits, the limit.

use crate::error::ApiError;

pub const USER_ID_MAX_BYTES: usize = 64;

/// A user ID: 1 to 64 ASCII letters and digits. This also keeps `#` (our key separator) out.
pub fn user_id(field: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.len() > USER_ID_MAX_BYTES {
        return Err(ApiError::too_long(
            field,
            format!("{USER_ID_MAX_BYTES} bytes"),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            field,
            "only letters and digits are allowed",
        ));
    }
    Ok(())
}

/// A non-empty list of at most `max` valid user IDs.
pub fn user_ids(field: &str, values: &[String], max: usize) -> Result<(), ApiError> {
    if values.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    max_items(field, values, max)?;
    values.iter().try_for_each(|id| user_id(field, id))
}

pub fn max_items<T>(field: &str, values: &[T], max: usize) -> Result<(), ApiError> {
    if values.len() > max {
        return Err(ApiError::too_long(field, format!("{max} items")));
    }
    Ok(())
}

/// A string of at most `max` characters (Unicode scalar values).
pub fn max_chars(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::too_long(field, format!("{max} characters")));
    }
    Ok(())
}

/// A string of at most `max` UTF-8 bytes.
pub fn max_bytes(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max {
        return Err(ApiError::too_long(field, format!("{max} bytes")));
    }
    Ok(())
}

pub fn non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// An extension key: `ext_` followed by letters, digits or `_`, at most 32 characters in all.
pub fn ext_key(field: &str, key: &str) -> Result<(), ApiError> {
    const MAX: usize = 32;
    let shaped = key.len() > 4
        && key.starts_with("ext_")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !shaped {
        return Err(ApiError::invalid(
            field,
            format!("key {key:?} must be ext_ followed by letters, digits or _"),
        ));
    }
    if key.len() > MAX {
        return Err(ApiError::TooLong(format!(
            "{field}: key {key:?} exceeds the limit of {MAX} characters"
        )));
    }
    Ok(())
}

const DAY_MS: i64 = 86_400_000;

/// A time in Unix milliseconds from 0 to a day from `now_ms` (400/1002 otherwise). A past time is
/// harmless where it only ever moves a bound forward; microseconds or a far future would lock
/// users out for ever.
pub fn not_after_a_day(field: &str, value: i64, now_ms: i64) -> Result<(), ApiError> {
    if (0..=now_ms.saturating_add(DAY_MS)).contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "must be Unix milliseconds, at most a day from now",
        ))
    }
}

/// Duplicates removed, first occurrence kept, so batch writes never touch an item twice.
pub fn dedup<T: Clone + Eq + std::hash::Hash>(values: &[T]) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    values.iter().filter(|v| seen.insert(*v)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_rules() {
        assert!(user_id("userId", "Alice01").is_ok());
        assert!(user_id("userId", &"a".repeat(64)).is_ok());
        assert_eq!(user_id("userId", &"a".repeat(65)).unwrap_err().code(), 1005);
        assert_eq!(user_id("userId", "a-b").unwrap_err().code(), 1002);
        assert_eq!(user_id("userId", "a#b").unwrap_err().code(), 1002);
        assert_eq!(user_id("userId", "").unwrap_err().code(), 1002);
        assert_eq!(user_id("userId", "é").unwrap_err().code(), 1002);
    }

    #[test]
    fn lists_and_lengths() {
        let ids: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
        assert!(user_ids("userIds", &ids[..20], 20).is_ok());
        let err = user_ids("userIds", &ids, 20).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string()),
            (1005, "userIds: exceeds the limit of 20 items".into())
        );
        assert_eq!(user_ids("userIds", &[], 20).unwrap_err().code(), 1002);
        assert!(max_chars("name", &"名".repeat(64), 64).is_ok());
        assert!(max_chars("name", &"名".repeat(65), 64).is_err());
        assert!(max_bytes("avatarUrl", &"名".repeat(64), 64).is_err());
        assert_eq!(
            dedup::<String>(&["a".into(), "b".into(), "a".into()]),
            vec!["a", "b"]
        );
        assert!(ext_key("p", "ext_color_2").is_ok());
        assert!(ext_key("p", &format!("ext_{}", "a".repeat(28))).is_ok());
        assert_eq!(
            ext_key("p", &format!("ext_{}", "a".repeat(29)))
                .unwrap_err()
                .code(),
            1005
        );
        for bad in ["ext_", "color", "ext_a-b", "EXT_a", "ext_é"] {
            assert_eq!(ext_key("p", bad).unwrap_err().code(), 1002, "{bad}");
        }
    }

    #[test]
    fn times_are_unix_milliseconds_at_most_a_day_ahead() {
        let now = 1_764_000_000_000;
        for ok in [0, 1, now / 1000, now, now + DAY_MS] {
            assert!(not_after_a_day("t", ok, now).is_ok(), "{ok}");
        }
        for bad in [-1, now * 1000, now + DAY_MS + 1, i64::MIN, i64::MAX] {
            assert_eq!(
                not_after_a_day("t", bad, now).unwrap_err().code(),
                1002,
                "{bad}"
            );
        }
        assert!(
            not_after_a_day("t", i64::MAX, i64::MAX).is_ok(),
            "no overflow"
        );
    }
}
