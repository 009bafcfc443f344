//! The control API over plain HTTP on loopback: recorded notifications,
//! counters and fault injection, for tests in other processes and the demo.
//!
//! - `GET /recorded?platform=&target=&after_sequence=`, `DELETE /recorded`
//! - `GET /stats`
//! - `PUT /faults/{platform}/global`, `PUT /faults/{platform}/targets/{target}`
//!   with a [`Fault`] body; `POST /faults/apns/goaway` with a [`GoAwayFault`];
//!   `DELETE /faults`
//! - `POST /apns/unregistered` with `{"device_token", "timestamp_ms"}`,
//!   `POST /fcm/unregistered` with `{"target"}`

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{Fault, Faults, GoAwayFault};
use crate::record::{RecordFilter, Recorded};
use crate::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/recorded", get(recorded).delete(clear_recorded))
        .route("/stats", get(stats))
        .route("/faults", axum::routing::delete(clear_faults))
        .route("/faults/{platform}/global", put(set_global))
        .route("/faults/{platform}/targets/{target}", put(set_target))
        .route("/faults/apns/goaway", post(push_go_away))
        .route("/apns/unregistered", post(unregister_apns))
        .route("/fcm/unregistered", post(unregister_fcm))
        .with_state(shared)
}

async fn recorded(State(shared): State<Arc<Shared>>, Query(filter): Query<RecordFilter>) -> Json<Vec<Recorded>> {
    Json(shared.recording.list(&filter))
}

async fn clear_recorded(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.recording.clear();
    StatusCode::NO_CONTENT
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "apns": shared.apns.stats(),
        "fcm": { "token_exchanges": shared.fcm.token_exchanges.load(std::sync::atomic::Ordering::SeqCst) },
    }))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.apns.faults.clear();
    shared.fcm.faults.clear();
    StatusCode::NO_CONTENT
}

fn faults_of<'a>(shared: &'a Shared, platform: &str) -> Result<&'a Faults, (StatusCode, String)> {
    match platform {
        "apns" => Ok(&shared.apns.faults),
        "fcm" => Ok(&shared.fcm.faults),
        other => Err((
            StatusCode::NOT_FOUND,
            format!("unknown platform `{other}`; use apns or fcm"),
        )),
    }
}

async fn set_global(
    State(shared): State<Arc<Shared>>,
    Path(platform): Path<String>,
    Json(fault): Json<Fault>,
) -> Result<StatusCode, (StatusCode, String)> {
    faults_of(&shared, &platform)?.set_global(fault);
    Ok(StatusCode::NO_CONTENT)
}

async fn set_target(
    State(shared): State<Arc<Shared>>,
    Path((platform, target)): Path<(String, String)>,
    Json(fault): Json<Fault>,
) -> Result<StatusCode, (StatusCode, String)> {
    faults_of(&shared, &platform)?.set_for(&target, fault);
    Ok(StatusCode::NO_CONTENT)
}

async fn push_go_away(State(shared): State<Arc<Shared>>, Json(fault): Json<GoAwayFault>) -> StatusCode {
    shared.apns.faults.push_go_away(fault);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApnsUnregistration {
    device_token: String,
    timestamp_ms: u64,
}

async fn unregister_apns(State(shared): State<Arc<Shared>>, Json(request): Json<ApnsUnregistration>) -> StatusCode {
    shared.apns.unregister(&request.device_token, request.timestamp_ms);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FcmUnregistration {
    target: String,
}

async fn unregister_fcm(State(shared): State<Arc<Shared>>, Json(request): Json<FcmUnregistration>) -> StatusCode {
    shared
        .fcm
        .unregistered
        .lock()
        .expect("registry lock is never poisoned")
        .insert(request.target);
    StatusCode::NO_CONTENT
}
