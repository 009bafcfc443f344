//! An example primary service built on axum: handlers collect dispatch
//! actions in a request extension, and a middleware dispatches them after
//! the response is built.
//!
//! ```sh
//! cargo run -p offload-producer --example primary_service
//! curl -X POST localhost:8080/posts/p1/likes -H 'content-type: application/json' \
//!   -d '{"user_id":"u2","owner_id":"u1","owner_fcm_token":"t1"}'
//! ```

mod app;

use offload_producer::{Publisher, PublisherConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let bootstrap = std::env::var("OFFLOAD_KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let topic = std::env::var("OFFLOAD_DISPATCH_TOPIC").unwrap_or_else(|_| "offload.dispatch".into());
    let address = std::env::var("EXAMPLE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());

    let publisher = Publisher::new(PublisherConfig::new(bootstrap, topic, "example-photos"))?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(%address, "example service listening");
    axum::serve(listener, app::router(publisher.clone())).await?;

    publisher.flush(std::time::Duration::from_secs(10)).await?;
    Ok(())
}
