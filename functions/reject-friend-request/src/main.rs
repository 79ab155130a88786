#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<reject_friend_request::RejectFriendRequest>).await
}
