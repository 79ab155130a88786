//! Integration tests against DynamoDB Local. Each test makes its own app, so tests run in
//! parallel without seeing each other.

mod bad_input;
mod budget;
mod cap;
mod events;
mod signing;
mod tokens;
mod users;
