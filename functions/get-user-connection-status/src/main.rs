#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<get_user_connection_status::GetUserConnectionStatus>)
        .await
}
