//! The webhook sender, driven by the webhook queue (SQS): one signed attempt per message, to
//! public destinations only (`shared::webhooks::sender`; the local API passes a poster that
//! allows loopback).

pub use shared::webhooks::sender::handle;
