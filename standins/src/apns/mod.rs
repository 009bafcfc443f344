//! The APNs stand-in: the provider API over HTTP/2 and TLS.
//!
//! - `validate`: the checks and responses of a real APNs server.
//! - `frames`: the frame filter behind the GOAWAY fault.
//!
//! Each connection is served by h2 directly, so that the server can
//! advertise SETTINGS_MAX_CONCURRENT_STREAMS, drop a connection mid-request
//! and send GOAWAY with a chosen last stream id.

mod frames;
pub(crate) mod validate;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use http::{Request, Response};
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info};

use self::frames::{DroppedStreams, StreamFilter};
use self::validate::{Rejection, Validator};
use crate::faults::{Faults, ScriptedResponse};
use crate::record::{Recorded, Recording};

/// Counters of the APNs stand-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApnsStats {
    /// Connections accepted (TLS handshake done).
    pub connections: u64,
    /// The maximum number of streams in flight at once on one connection.
    pub max_streams_in_flight: usize,
    /// Per connection, the streams dropped unprocessed by a GOAWAY fault.
    pub unprocessed_streams: BTreeMap<u64, Vec<u32>>,
}

/// State shared by every connection.
pub(crate) struct ApnsServer {
    pub(crate) validator: Validator,
    pub(crate) faults: Faults,
    pub(crate) recording: Arc<Recording>,
    pub(crate) max_concurrent_streams: u32,
    connections: AtomicU64,
    max_in_flight: AtomicUsize,
    unprocessed: Mutex<BTreeMap<u64, Vec<u32>>>,
}

impl ApnsServer {
    pub(crate) fn new(validator: Validator, recording: Arc<Recording>, max_concurrent_streams: u32) -> ApnsServer {
        ApnsServer {
            validator,
            faults: Faults::default(),
            recording,
            max_concurrent_streams,
            connections: AtomicU64::new(0),
            max_in_flight: AtomicUsize::new(0),
            unprocessed: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn stats(&self) -> ApnsStats {
        ApnsStats {
            connections: self.connections.load(Ordering::SeqCst),
            max_streams_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            unprocessed_streams: self.unprocessed.lock().expect("stats lock is never poisoned").clone(),
        }
    }

    /// Marks `device_token` as no longer valid since `timestamp_ms`.
    pub(crate) fn unregister(&self, device_token: &str, timestamp_ms: u64) {
        self.validator
            .unregistered
            .lock()
            .expect("registry lock is never poisoned")
            .insert(device_token.to_string(), timestamp_ms);
    }
}

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, server: Arc<ApnsServer>) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            if let Err(error) = serve_connection(tcp, acceptor, server).await {
                debug!(%peer, error = %error, "APNs stand-in connection ended with an error");
            }
        });
    }
}

/// Per-connection state shared with its streams.
struct ConnectionContext {
    id: u64,
    server: Arc<ApnsServer>,
    in_flight: AtomicUsize,
    drop_now: Notify,
}

async fn serve_connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    server: Arc<ApnsServer>,
) -> Result<(), Box<dyn std::error::Error>> {
    tcp.set_nodelay(true)?;
    let tls = acceptor.accept(tcp).await?;
    let id = server.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let go_away = server.faults.take_go_away();
    let last_stream_id = go_away.map_or(u32::MAX >> 1, |fault| fault.last_stream_id);
    let dropped = Arc::new(DroppedStreams::default());
    let io = StreamFilter::new(tls, last_stream_id, Arc::clone(&dropped));

    let mut connection = h2::server::Builder::new()
        .max_concurrent_streams(server.max_concurrent_streams)
        .handshake::<_, Bytes>(io)
        .await?;
    info!(connection = id, ?go_away, "APNs stand-in accepted a connection");
    let context = Arc::new(ConnectionContext {
        id,
        server: Arc::clone(&server),
        in_flight: AtomicUsize::new(0),
        drop_now: Notify::new(),
    });

    let mut going_away = false;
    loop {
        tokio::select! {
            next = connection.accept() => match next {
                None => break,
                Some(Err(error)) => return Err(error.into()),
                Some(Ok((request, respond))) => {
                    tokio::spawn(handle_stream(Arc::clone(&context), request, respond));
                }
            },
            () = dropped.arrived.notified(), if !going_away => {
                info!(connection = id, last_stream_id, "APNs stand-in sends GOAWAY");
                connection.graceful_shutdown();
                going_away = true;
            }
            () = context.drop_now.notified() => {
                info!(connection = id, "APNs stand-in drops the connection");
                break;
            }
        }
    }

    let refused = dropped.ids();
    if !refused.is_empty() {
        server
            .unprocessed
            .lock()
            .expect("stats lock is never poisoned")
            .insert(id, refused);
    }
    Ok(())
}

async fn handle_stream(context: Arc<ConnectionContext>, request: Request<RecvStream>, respond: SendResponse<Bytes>) {
    let in_flight = context.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    context.server.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);

    let result = process(&context, request, respond).await;
    if let Err(error) = result {
        debug!(connection = context.id, error = %error, "APNs stand-in stream failed");
    }
    context.in_flight.fetch_sub(1, Ordering::SeqCst);
}

async fn process(
    context: &ConnectionContext,
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) -> Result<(), h2::Error> {
    let stream_id = respond.stream_id().as_u32();
    let received_at_ms = crate::unix_millis((context.server.validator.now)());
    let (parts, mut body_stream) = request.into_parts();
    let mut body = Vec::new();
    while let Some(chunk) = body_stream.data().await {
        let chunk = chunk?;
        let _ = body_stream.flow_control().release_capacity(chunk.len());
        body.extend_from_slice(&chunk);
    }

    let server = &context.server;
    let target = parts
        .uri
        .path()
        .strip_prefix("/3/device/")
        .unwrap_or_default()
        .to_string();
    let planned = server.faults.plan(&target);
    if planned.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(planned.latency_ms)).await;
    }
    if planned.drop_connection {
        context.drop_now.notify_one();
        return Ok(());
    }

    let answer = match planned.response {
        Some(scripted) => Answer::Scripted(scripted),
        None => match server.validator.check(&parts, &body) {
            Err(rejection) => Answer::Rejected(rejection),
            Ok(accepted) => {
                server.recording.push(Recorded {
                    platform: "apns".into(),
                    sequence: 0,
                    target: accepted.device_token,
                    headers: accepted.headers,
                    body: accepted.payload,
                    connection: Some(context.id),
                    stream_id: Some(stream_id),
                    provider_token_iat: accepted.provider_token_iat,
                    access_token: None,
                    id: accepted.apns_id.clone(),
                    received_at_ms,
                });
                Answer::Accepted {
                    apns_id: accepted.apns_id,
                }
            }
        },
    };
    send_answer(&mut respond, answer, &parts)
}

enum Answer {
    Accepted { apns_id: String },
    Rejected(Rejection),
    Scripted(ScriptedResponse),
}

fn send_answer(
    respond: &mut SendResponse<Bytes>,
    answer: Answer,
    parts: &http::request::Parts,
) -> Result<(), h2::Error> {
    let request_id = parts
        .headers
        .get("apns-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
    let (status, apns_id, reason, timestamp_ms, retry_after_secs) = match answer {
        Answer::Accepted { apns_id } => (200, apns_id, None, None, None),
        Answer::Rejected(rejection) => (
            rejection.status,
            request_id,
            Some(rejection.reason.to_string()),
            rejection.timestamp_ms,
            None,
        ),
        Answer::Scripted(scripted) => (
            scripted.status,
            request_id,
            scripted.reason,
            scripted.timestamp_ms,
            scripted.retry_after_secs,
        ),
    };

    let mut builder = Response::builder().status(status).header("apns-id", apns_id);
    if let Some(seconds) = retry_after_secs {
        builder = builder.header(http::header::RETRY_AFTER, seconds.to_string());
    }
    if status == 200 {
        let response = builder.body(()).expect("static headers are valid");
        respond.send_response(response, true)?;
        return Ok(());
    }

    let mut body = serde_json::Map::new();
    if let Some(reason) = reason {
        body.insert("reason".into(), reason.into());
    }
    if let Some(timestamp_ms) = timestamp_ms {
        body.insert("timestamp".into(), timestamp_ms.into());
    }
    let body = Bytes::from(serde_json::to_vec(&body).expect("a JSON map serializes"));
    let response = builder
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(())
        .expect("static headers are valid");
    let mut stream = respond.send_response(response, false)?;
    stream.send_data(body, true)
}
