//! Integration tests against DynamoDB Local. Each test makes its own app, so tests run in
//! parallel without seeing each other.

mod abuse;
mod aws_semantics;
mod bad_input;
mod blocklist;
mod budget;
mod cap;
mod connections;
mod events;
mod faults;
mod friends;
mod large_lists;
mod lifecycle;
mod moderation;
mod profiles;
mod rate_limits;
mod signing;
mod template;
mod tokens;
mod users;
mod webhooks;
