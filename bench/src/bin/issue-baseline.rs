//! The fair cold-start baseline for `issue-access-token` (issue 14, part 3): the same SDK client
//! (`shared::state::dynamodb_client`, so the same configuration, HTTP client and credentials) and
//! the same DynamoDB requests its first call sends, one after another as it sends them:
//!
//! 1. `GetItem` of the app (strongly consistent): the container has no app cached yet;
//! 2. the replay guard's conditional `PutItem` of the nonce;
//! 3. the conditional `UpdateItem` of the user (refused for a new user);
//! 4. for a new user, the registration transaction (the user's `Put`, a user-count shard's
//!    `Update`).
//!
//! and nothing else: no signature check, request model, validation, log subscriber or token. It
//! answers `{"code":0}` through `lambda_http`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use lambda_http::{Body, Error, Request, Response, service_fn};
use shared::table;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn issue(client: &Client, table_name: &str, request: Request) -> Result<(), Error> {
    let app_key = header(&request, "app-key");
    let nonce = header(&request, "nonce");
    let body: serde_json::Value = serde_json::from_slice(request.body().as_ref())?;
    let user_id = body["userId"].as_str().unwrap_or_default();
    let name = body["name"].as_str().unwrap_or_default();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();

    client
        .get_item()
        .table_name(table_name)
        .key(table::PK, s(table::app_pk(app_key)))
        .key(table::SK, s(table::SK_APP))
        .consistent_read(true)
        .send()
        .await?;
    client
        .put_item()
        .table_name(table_name)
        .item(table::PK, s(table::nonce_pk(app_key, nonce)))
        .item(table::SK, s(table::SK_NONCE))
        .item(table::TTL, AttributeValue::N((now_s + 301).to_string()))
        .condition_expression("attribute_not_exists(PK) OR #ttl < :now")
        .expression_attribute_names("#ttl", table::TTL)
        .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()))
        .send()
        .await?;
    let user_pk = table::user_pk(app_key, user_id);
    let updated = client
        .update_item()
        .table_name(table_name)
        .key(table::PK, s(&user_pk))
        .key(table::SK, s(table::SK_USER))
        .update_expression("SET #name = :name")
        .condition_expression("attribute_exists(PK) AND #state = :active")
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":name", s(name))
        .expression_attribute_values(":active", s("active"))
        .send()
        .await;
    if updated.is_ok() {
        return Ok(());
    }
    let put_user = Put::builder()
        .table_name(table_name)
        .item(table::PK, s(&user_pk))
        .item(table::SK, s(table::SK_USER))
        .item("userId", s(user_id))
        .item("name", s(name))
        .item("state", s("active"))
        .item("createdAt", AttributeValue::N((now_s * 1000).to_string()))
        .condition_expression("attribute_not_exists(PK)")
        .build()?;
    let count = Update::builder()
        .table_name(table_name)
        .key(table::PK, s(table::app_pk(app_key)))
        .key(table::SK, s("USER_COUNT#0"))
        .update_expression("ADD #count :one")
        .expression_attribute_names("#count", "userCount")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()?;
    client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put_user).build())
        .transact_items(TransactWriteItem::builder().update(count).build())
        .send()
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table_name = std::env::var("TABLE_NAME")?;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").ok();
    let client = shared::state::dynamodb_client(endpoint.as_deref()).await;
    let (client, table_name) = (&client, table_name.as_str());
    lambda_http::run(service_fn(move |request: Request| async move {
        issue(client, table_name, request).await?;
        Ok::<_, Error>(
            Response::builder()
                .status(200)
                .body(Body::Text(r#"{"code":0}"#.into()))?,
        )
    }))
    .await
}
