//! The paging fields the listings share, read and checked in one place: `pageToken`, `pageSize`
//! and `order` of the cursor-paged listings, `page` and `pageSize` of the page-numbered ones. A
//! request type takes them with `#[serde(flatten)]`.

use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// Reads an optional field, naming it in a type error: inside `#[serde(flatten)]` the error's
/// path is lost, and a client must be told which field is wrong.
fn named<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    name: &str,
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(deserializer)
        .map_err(|e| serde::de::Error::custom(format!("{name}: {e}")))
}

fn page<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    named("page", d)
}

fn page_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    named("pageSize", d)
}

fn page_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    named("pageToken", d)
}

fn order<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    named("order", d)
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CursorPaging {
    /// The opaque cursor of the previous page (`shared::page_token`); absent or empty: page 1.
    #[serde(default, deserialize_with = "page_token")]
    pub page_token: Option<String>,
    #[serde(default, deserialize_with = "page_size")]
    pub page_size: Option<u32>,
    /// 0: oldest first, 1: newest first (listings with one fixed order accept both).
    #[serde(default, deserialize_with = "order")]
    pub order: Option<u8>,
}

impl CursorPaging {
    /// `pageSize` 1 to `max_page_size`, `order` 0 or 1 (400/1002 otherwise).
    pub fn validate(&self, max_page_size: u32) -> Result<(), ApiError> {
        if let Some(size) = self.page_size
            && !(1..=max_page_size).contains(&size)
        {
            return Err(ApiError::invalid(
                "pageSize",
                format!("must be 1 to {max_page_size}"),
            ));
        }
        check_order(self.order)
    }

    /// The page size asked for, else `default`.
    pub fn size(&self, default: u32) -> usize {
        self.page_size.unwrap_or(default) as usize
    }

    pub fn newest_first(&self) -> bool {
        self.order == Some(1)
    }

    pub fn token(&self) -> Option<&str> {
        self.page_token.as_deref()
    }
}

/// `order`: absent, 0 (oldest first) or 1 (newest first); 400/1002 otherwise.
pub fn check_order(order: Option<u8>) -> Result<(), ApiError> {
    match order {
        None | Some(0 | 1) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "order",
            "must be 0 (oldest first) or 1 (newest first)",
        )),
    }
}

/// `pageSize` of the page-numbered listings: 0 is 400/1002, over the listing's limit 400/1005.
pub fn check_page_size(page_size: Option<u32>, max_page_size: u32) -> Result<(), ApiError> {
    match page_size {
        Some(0) => Err(ApiError::invalid("pageSize", "must be at least 1")),
        Some(size) if size > max_page_size => Err(ApiError::too_long("pageSize", max_page_size)),
        _ => Ok(()),
    }
}

/// `page` (from 1; absent or 0 reads as 1) and `pageSize` of the page-numbered listings.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NumberedPaging {
    #[serde(default, deserialize_with = "page")]
    pub page: Option<u32>,
    #[serde(default, deserialize_with = "page_size")]
    pub page_size: Option<u32>,
}

impl NumberedPaging {
    pub fn validate(&self, max_page_size: u32) -> Result<(), ApiError> {
        check_page_size(self.page_size, max_page_size)
    }

    /// The page asked for, from 1.
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }

    /// The page size asked for, else `default`.
    pub fn size(&self, default: u32) -> u32 {
        self.page_size.unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_orders_are_checked_once() {
        let paging = |page_size, order| CursorPaging {
            page_token: None,
            page_size,
            order,
        };
        assert!(paging(Some(100), Some(1)).validate(100).is_ok());
        assert!(paging(None, None).validate(1).is_ok());
        for bad in [
            paging(Some(0), None),
            paging(Some(101), None),
            paging(None, Some(2)),
        ] {
            assert_eq!(bad.validate(100).unwrap_err().code(), 1002);
        }
        assert_eq!(
            (paging(None, None).size(50), paging(Some(7), None).size(50)),
            (50, 7)
        );
        assert!(paging(None, Some(1)).newest_first() && !paging(None, Some(0)).newest_first());
        let parsed: CursorPaging =
            serde_json::from_value(serde_json::json!({"pageToken": "t", "pageSize": 3})).unwrap();
        assert_eq!((parsed.token(), parsed.size(1)), (Some("t"), 3));
    }

    #[test]
    fn numbered_pages_start_at_one_and_sizes_have_two_codes() {
        let paging = |page, page_size| NumberedPaging { page, page_size };
        assert_eq!(
            (paging(None, None).page(), paging(Some(0), None).page()),
            (1, 1)
        );
        assert_eq!(
            (paging(Some(4), None).page(), paging(None, Some(7)).size(20)),
            (4, 7)
        );
        assert!(paging(None, Some(50)).validate(50).is_ok());
        assert_eq!(paging(None, Some(0)).validate(50).unwrap_err().code(), 1002);
        assert_eq!(
            paging(None, Some(51)).validate(50).unwrap_err().code(),
            1005
        );
    }

    #[test]
    fn a_flattened_field_of_the_wrong_type_is_named() {
        #[derive(Debug, Deserialize)]
        struct Listing {
            #[serde(flatten)]
            _paging: NumberedPaging,
            #[serde(flatten)]
            _cursor: CursorPaging,
        }
        for (body, field) in [
            (r#"{"page": "1"}"#, "page"),
            (r#"{"pageSize": -1}"#, "pageSize"),
            (r#"{"pageToken": 5}"#, "pageToken"),
            (r#"{"order": "x"}"#, "order"),
        ] {
            let err = crate::http::parse_body::<Listing>(body.as_bytes()).unwrap_err();
            assert_eq!(err.code(), 1002);
            assert!(err.to_string().starts_with(field), "{body}: {err}");
        }
    }
}
