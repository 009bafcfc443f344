//! The example service's routes and its dispatch middleware.
//!
//! A middleware gives every request an empty [`RequestActions`] extension,
//! and handlers add actions to it while they run. Once the handler has built
//! its response, the middleware dispatches the actions (one event per
//! entity) and only then returns the response. When the dispatch fails
//! (invalid action, queue full for too long), the client gets 503 instead,
//! so no action is lost without the client knowing.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use offload_producer::{Dispatcher, Publisher};
use offload_schemas::{Action, ApnsAlert, ApnsPush, CassandraWrite, CqlValue, FcmNotification, FcmPush};
use serde::Deserialize;

/// The actions a request collected, by entity.
#[derive(Clone, Default)]
pub(crate) struct RequestActions(Arc<Mutex<Vec<(String, Action)>>>);

impl RequestActions {
    /// Adds `action` for `entity_key`.
    pub(crate) fn add(&self, entity_key: impl Into<String>, action: impl Into<Action>) {
        self.0
            .lock()
            .expect("no handler panics while adding an action")
            .push((entity_key.into(), action.into()));
    }

    fn take(&self) -> Vec<(String, Action)> {
        std::mem::take(&mut *self.0.lock().expect("no handler panics while adding an action"))
    }
}

/// Builds the service's router.
pub(crate) fn router(publisher: Publisher) -> Router {
    Router::new()
        .route("/posts/{post_id}/likes", post(like))
        .route("/posts/{post_id}/comments", post(comment))
        .layer(middleware::from_fn_with_state(publisher, dispatch_after_handler))
}

/// Runs the handler with a fresh [`RequestActions`], then dispatches what it collected.
async fn dispatch_after_handler(State(publisher): State<Publisher>, mut request: Request, next: Next) -> Response {
    let actions = RequestActions::default();
    request.extensions_mut().insert(actions.clone());

    let response = next.run(request).await;

    let collected = actions.take();
    if collected.is_empty() || !response.status().is_success() {
        return response;
    }
    let mut dispatcher = Dispatcher::new(&publisher);
    for (entity_key, action) in collected {
        dispatcher.add(entity_key, action);
    }
    match dispatcher.dispatch().await {
        // The deliveries are not awaited: Kafka acknowledges later, and a
        // failure is logged and counted by the publisher.
        Ok(_deliveries) => response,
        Err(error) => {
            tracing::error!(error = %error, "dispatching the request's actions failed");
            (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response()
        }
    }
}

/// Body of `POST /posts/{post_id}/likes`.
#[derive(Debug, Deserialize)]
struct Like {
    user_id: String,
    owner_id: String,
    owner_fcm_token: String,
}

async fn like(
    Path(post_id): Path<String>,
    Extension(actions): Extension<RequestActions>,
    Json(like): Json<Like>,
) -> impl IntoResponse {
    actions.add(
        &post_id,
        CassandraWrite::new(
            "add_like",
            vec![CqlValue::CounterDelta(1), CqlValue::Text(post_id.clone())],
        ),
    );
    actions.add(
        &like.owner_id,
        FcmPush {
            token: Some(like.owner_fcm_token),
            notification: Some(FcmNotification {
                title: Some("New like".into()),
                body: Some(format!("{} liked your post", like.user_id)),
                image: None,
            }),
            data: [("post_id".to_string(), post_id.clone())].into(),
            ..FcmPush::default()
        },
    );
    (StatusCode::OK, format!("liked {post_id}"))
}

/// Body of `POST /posts/{post_id}/comments`.
#[derive(Debug, Deserialize)]
struct Comment {
    user_id: String,
    text: String,
    owner_id: String,
    owner_device_token: String,
}

async fn comment(
    Path(post_id): Path<String>,
    Extension(actions): Extension<RequestActions>,
    Json(comment): Json<Comment>,
) -> impl IntoResponse {
    if comment.text.is_empty() {
        // Nothing is dispatched for a rejected request.
        return (StatusCode::BAD_REQUEST, "text is empty".to_string());
    }
    actions.add(
        &post_id,
        CassandraWrite::new(
            "insert_comment",
            vec![
                CqlValue::Text(post_id.clone()),
                CqlValue::Text(comment.user_id.clone()),
                CqlValue::Text(comment.text.clone()),
            ],
        ),
    );
    actions.add(
        &post_id,
        CassandraWrite::new(
            "add_comment",
            vec![CqlValue::CounterDelta(1), CqlValue::Text(post_id.clone())],
        ),
    );
    actions.add(
        &comment.owner_id,
        ApnsPush {
            device_token: comment.owner_device_token,
            topic: "com.example.photos".into(),
            alert: Some(ApnsAlert {
                title: Some("New comment".into()),
                body: Some(format!("{}: {}", comment.user_id, comment.text)),
                ..ApnsAlert::default()
            }),
            ..ApnsPush::default()
        },
    );
    (StatusCode::CREATED, format!("commented on {post_id}"))
}
