#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<remove_all_friends::RemoveAllFriends>).await
}
