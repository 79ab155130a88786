//! The library every operation shares. See DESIGN.md for the architecture.

pub mod access;
pub mod app;
pub mod apps;
pub mod auth;
pub mod batch;
pub mod blocklist;
pub mod clock;
pub mod closer;
pub mod connections;
pub mod count_tree;
pub mod db;
pub mod edges;
pub mod error;
pub mod friends;
pub mod http;
pub mod items;
pub mod lambda;
pub mod lifecycle;
pub mod moderation;
pub mod operations;
pub mod page_token;
pub mod paging;
pub mod profiles;
pub mod purge;
pub mod state;
pub mod table;
pub mod testing;
pub mod token;
pub mod user_count;
pub mod users;
pub mod validate;
pub mod websocket;

pub use error::ApiError;
pub use http::{Call, ConsoleOperation, Operation, Reply};
pub use lambda_http;
pub use state::State;
