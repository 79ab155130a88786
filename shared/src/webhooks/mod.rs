//! Webhooks: Nexconn's four user events, produced from the table's stream (`producer`, through
//! `events`), logged (`deliveries`), queued and sent, signed both ways (`sender`, `sign`, `post`
//! with the destination `guard`, all three in `crate::outbound`).

pub mod deliveries;
pub mod events;
pub mod producer;
pub mod sender;

pub use crate::outbound::{guard, post, sign};
