//! A bare `lambda_http` function answering `{"code":0}`: the baseline the real functions'
//! cold start and memory are compared with.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(
            Response::builder()
                .status(200)
                .body(Body::Text(r#"{"code":0}"#.into()))?,
        )
    }))
    .await
}
