//! The webhook producer, driven by the table's DynamoDB Stream (filtered in `template.yaml` to
//! the item kinds that make events): each committed change's events, for the apps that selected
//! them, are recorded in the delivery log and queued (`shared::webhooks::producer`).

pub use shared::webhooks::producer::handle;
