#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<add_user_blocklist::AddUserBlocklist>).await
}
