#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<accept_friend_request::AcceptFriendRequest>).await
}
