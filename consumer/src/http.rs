//! The HTTP endpoint: `/metrics` (Prometheus text format), `/healthz`
//! (liveness: the run loop turns) and `/readyz` (readiness: started and not
//! stopping).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::telemetry::Telemetry;

/// Maximum pause of the run loop that still counts as alive.
const LIVENESS_LIMIT: Duration = Duration::from_secs(30);

/// The worker's state as the probes report it.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
    last_turn_ms: AtomicU64,
}

impl Health {
    /// Marks the worker ready (connected and subscribed) or not (stopping).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Records that the run loop turned.
    pub fn turned(&self) {
        self.last_turn_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn alive(&self) -> bool {
        let last = self.last_turn_ms.load(Ordering::Relaxed);
        last == 0 || now_ms().saturating_sub(last) <= LIVENESS_LIMIT.as_millis() as u64
    }
}

#[derive(Clone)]
struct Endpoint {
    telemetry: Telemetry,
    health: Arc<Health>,
}

/// Binds `address` and serves the endpoint until `shutdown` is cancelled.
/// Returns the bound address, useful with port 0.
pub async fn serve(
    address: &str,
    telemetry: Telemetry,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Endpoint { telemetry, health });

    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
    info!(address = %bound, "serving /metrics, /healthz and /readyz");
    Ok(bound)
}

async fn metrics(State(endpoint): State<Endpoint>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        endpoint.telemetry.render(),
    )
}

async fn healthz(State(endpoint): State<Endpoint>) -> impl IntoResponse {
    if endpoint.health.alive() {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the run loop has not turned for 30 s\n",
        )
    }
}

async fn readyz(State(endpoint): State<Endpoint>) -> impl IntoResponse {
    if endpoint.health.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default()
}
