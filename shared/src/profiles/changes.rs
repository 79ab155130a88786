//! The change set of a profile write: validation of standard and `ext_` keys, and the merge.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A string of at most this many characters.
    Text(usize),
    /// A string of at most 128 characters that looks like an email address.
    Email,
    /// An integer in this range.
    Int(i64, i64),
}

pub(super) const EMAIL_MAX_CHARS: usize = 128;

/// The standard `userProfile` keys; any other key is refused.
pub(super) const STANDARD_KEYS: &[(&str, Kind)] = &[
    ("uniqueId", Kind::Text(32)),
    ("name", Kind::Text(64)),
    ("portraitUri", Kind::Text(1024)),
    ("email", Kind::Email),
    ("birthday", Kind::Text(32)),
    ("gender", Kind::Int(0, 2)),
    ("location", Kind::Text(32)),
    ("role", Kind::Int(0, 100)),
    ("level", Kind::Int(0, 100)),
];

/// The error of a rejected key: the body names it in `profileKey`.
pub(super) fn rejected(key: &str, error: ApiError) -> ApiError {
    ApiError::ProfileKey {
        key: key.to_owned(),
        error: Box::new(error),
    }
}

/// Whether a sent value removes its key: `null`, or `""` for a string key.
pub(super) fn removes(kind: Option<Kind>, value: &Value) -> bool {
    match kind {
        Some(Kind::Int(..)) => value.is_null(),
        _ => value.is_null() || value.as_str() == Some(""),
    }
}

/// Something of the form `local@domain.tld`: one `@`, a non-empty local part, a domain of
/// non-empty dot-separated labels (at least two), no whitespace or control characters.
pub fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(super) fn check_standard(field: &str, kind: Kind, value: &Value) -> Result<(), ApiError> {
    match kind {
        Kind::Text(max) => {
            let text = value
                .as_str()
                .ok_or_else(|| ApiError::invalid(field, "must be a string"))?;
            validate::max_chars(field, text, max)
        }
        Kind::Email => {
            let text = value
                .as_str()
                .ok_or_else(|| ApiError::invalid(field, "must be a string"))?;
            validate::max_chars(field, text, EMAIL_MAX_CHARS)?;
            if !looks_like_email(text) {
                return Err(ApiError::invalid(field, "must be an email address"));
            }
            Ok(())
        }
        Kind::Int(min, max) => match value.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(()),
            _ if min == 0 && max == 2 => Err(ApiError::invalid(field, "must be 0, 1 or 2")),
            _ => Err(ApiError::invalid(
                field,
                format!("must be an integer from {min} to {max}"),
            )),
        },
    }
}

/// What a set changes: for each part, the keys sent (a removing value removes the key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub user_profile: Map<String, Value>,
    pub user_ext_profile: Map<String, Value>,
}

impl Changes {
    /// Shape and limits of every key and value, before any lookup. A rejected key is named in
    /// the error's `profileKey`.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.user_profile.is_empty() && self.user_ext_profile.is_empty() {
            return Err(ApiError::invalid(
                "userProfile",
                "userProfile or userExtProfile must set or remove at least one key",
            ));
        }
        for (key, value) in &self.user_profile {
            let field = format!("userProfile.{key}");
            let Some(&(_, kind)) = STANDARD_KEYS.iter().find(|(k, _)| k == key) else {
                return Err(rejected(
                    key,
                    ApiError::invalid(
                        &field,
                        "is not a userProfile key (uniqueId, name, portraitUri, email, birthday, \
                         gender, location, role, level)",
                    ),
                ));
            };
            if !removes(Some(kind), value) {
                check_standard(&field, kind, value).map_err(|e| rejected(key, e))?;
            }
        }
        let mut kept = 0;
        for (key, value) in &self.user_ext_profile {
            validate::ext_key("userExtProfile", key).map_err(|e| rejected(key, e))?;
            if removes(None, value) {
                continue;
            }
            let field = format!("userExtProfile.{key}");
            let text = value
                .as_str()
                .ok_or_else(|| rejected(key, ApiError::invalid(&field, "must be a string")))?;
            validate::max_chars(&field, text, EXT_VALUE_MAX_CHARS).map_err(|e| rejected(key, e))?;
            kept += 1;
            if kept > MAX_EXT_PAIRS {
                return Err(rejected(key, too_many_pairs()));
            }
        }
        Ok(())
    }

    /// The app's declared ext keys, if it declares any: an undeclared key cannot be set (it can
    /// be removed).
    pub fn check_declared(&self, app: &App) -> Result<(), ApiError> {
        let Some(declared) = app
            .settings
            .declared_ext_profile_keys
            .as_ref()
            .filter(|keys| !keys.is_empty())
        else {
            return Ok(());
        };
        for (key, value) in &self.user_ext_profile {
            if !removes(None, value) && !declared.iter().any(|d| d == key) {
                return Err(rejected(
                    key,
                    ApiError::invalid(
                        "userExtProfile",
                        format!("key {key:?} is not one of the app's declared ext keys"),
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Merges into `profile`: sent keys replace, removing values remove, the rest stays. Fails
    /// (naming the first new key over the limit) when the merged ext part would hold more than
    /// [`MAX_EXT_PAIRS`] pairs.
    pub(super) fn apply(&self, profile: &mut Profile) -> Result<(), ApiError> {
        for (key, value) in &self.user_profile {
            let kind = STANDARD_KEYS
                .iter()
                .find(|(k, _)| k == key)
                .map(|&(_, k)| k);
            if removes(kind, value) {
                profile.user_profile.remove(key);
            } else {
                profile.user_profile.insert(key.clone(), value.clone());
            }
        }
        // Removals first: the whole request applies at once.
        for (key, value) in &self.user_ext_profile {
            if removes(None, value) {
                profile.user_ext_profile.remove(key);
            }
        }
        for (key, value) in &self.user_ext_profile {
            if removes(None, value) {
                continue;
            }
            let new = profile
                .user_ext_profile
                .insert(key.clone(), value.clone())
                .is_none();
            if new && profile.user_ext_profile.len() > MAX_EXT_PAIRS {
                return Err(rejected(key, too_many_pairs()));
            }
        }
        Ok(())
    }
}

pub(super) fn too_many_pairs() -> ApiError {
    ApiError::too_long("userExtProfile", format!("{MAX_EXT_PAIRS} pairs"))
}
