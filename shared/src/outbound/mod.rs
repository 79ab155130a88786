//! Outbound webhook requests: both signing schemes (`sign`), the destination guard (`guard`) and
//! the poster (`post`): infrastructure, below the domain modules (no `State`).

pub mod guard;
pub mod post;
pub mod sign;
