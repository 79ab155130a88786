//! The single-table model: key builders and attribute names. Every key starts with the app key,
//! so one app can never address another app's items.

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// The TTL attribute (epoch seconds). DynamoDB may delete late and DynamoDB Local never does,
/// so every read of a TTL item also checks it.
pub const TTL: &str = "ttl";

pub const SK_APP: &str = "APP";
pub const SK_USER: &str = "USER";
pub const SK_BAN: &str = "BAN";
pub const SK_NONCE: &str = "NONCE";

pub fn app_pk(app_key: &str) -> String {
    format!("APP#{app_key}")
}

pub fn user_pk(app_key: &str, user_id: &str) -> String {
    format!("APP#{app_key}#U#{user_id}")
}

pub fn nonce_pk(app_key: &str, nonce: &str) -> String {
    format!("APP#{app_key}#NONCE#{nonce}")
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
    }
}
