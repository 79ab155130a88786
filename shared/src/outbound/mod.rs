//! Outbound webhook requests: the URL check when saved (`url`), both signing schemes (`sign`),
//! the destination guard (`guard`) and the poster (`post`): infrastructure, below the domain
//! modules (no `State`).

pub mod guard;
pub mod post;
pub mod sign;
pub mod url;
