//! The local API: DynamoDB Local, the table from `template.yaml`, and every function's handler
//! on its real path. Also what the integration tests use to reach DynamoDB Local.

pub mod console_session;
pub mod dynamodb_local;
pub mod faults;
pub mod functions;
pub mod iam;
pub mod metrics;
pub mod openapi;
pub mod proxy;
pub mod queue;
pub mod router;
pub mod schedule;
pub mod server;
pub mod stream;
pub mod table;
pub mod template;
pub mod websocket;
