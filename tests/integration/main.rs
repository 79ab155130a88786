//! Integration tests against DynamoDB Local. Each test makes its own app, so tests run in
//! parallel without seeing each other.

mod abuse;
mod aws_semantics;
mod bad_input;
mod blocklist;
mod budget;
mod cap;
mod connections;
mod console_api;
mod console_auth;
mod console_metrics;
mod console_requests;
mod delivery_log;
mod events;
mod faults;
mod friends;
mod large_lists;
mod lifecycle;
mod metrics;
mod moderation;
mod observability_pipeline;
mod profiles;
mod purge_chains;
mod rate_limits;
mod signing;
mod template;
mod tokens;
mod users;
mod webhook_fairness;
mod webhook_signing;
mod webhooks;
