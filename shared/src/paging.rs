//! The paging fields the cursor-paged listings share (`pageToken`, `pageSize`, `order`), read
//! and checked in one place. A request type takes them with `#[serde(flatten)]`.

use serde::Deserialize;

use crate::error::ApiError;

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CursorPaging {
    /// The opaque cursor of the previous page (`shared::page_token`); absent or empty: page 1.
    pub page_token: Option<String>,
    pub page_size: Option<u32>,
    /// 0: oldest first, 1: newest first (listings with one fixed order accept both).
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
        if let Some(order) = self.order
            && order > 1
        {
            return Err(ApiError::invalid("order", "must be 0 or 1"));
        }
        Ok(())
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
}
