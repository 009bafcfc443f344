//! Long-lived HTTP/2 connections to APNs.
//!
//! Each of a client's connection slots holds at most one connection, opened on
//! first use and replaced when it closes, after GOAWAY, or after the provider
//! token was rejected as expired. Streams per connection are bounded by a
//! semaphore of `max_concurrent_streams` permits; hyper additionally waits
//! while the server's SETTINGS_MAX_CONCURRENT_STREAMS is reached. Keep-alive
//! PINGs run on idle connections too, so a dead peer is found before a
//! request waits on it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsConnector;
use tracing::{debug, info};

use crate::config::ApnsConfig;

/// One open connection.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Unique per client, for logs and for replacing the right connection.
    pub(crate) id: u64,
    slot: usize,
    sender: SendRequest<Full<Bytes>>,
    streams: Arc<Semaphore>,
}

impl Connection {
    /// Waits for a stream permit and returns a sender to use with it.
    pub(crate) async fn stream(&self) -> (SendRequest<Full<Bytes>>, OwnedSemaphorePermit) {
        let permit = Arc::clone(&self.streams)
            .acquire_owned()
            .await
            .expect("the stream semaphore is never closed");
        (self.sender.clone(), permit)
    }
}

/// Where and how to connect.
struct Target {
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    tls: TlsConnector,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A fixed number of connection slots, used round-robin.
#[derive(Debug)]
pub(crate) struct Pool {
    target: Target,
    slots: Vec<Mutex<Option<Arc<Connection>>>>,
    next_slot: AtomicUsize,
    next_id: AtomicU64,
    max_streams: usize,
    connect_timeout: Duration,
    keep_alive_interval: Option<Duration>,
    keep_alive_timeout: Duration,
}

/// A connection could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to APNs at {host}:{port}: {message}")]
pub(crate) struct ConnectError {
    host: String,
    port: u16,
    message: String,
}

impl Pool {
    pub(crate) fn new(config: &ApnsConfig, endpoint: &Uri, tls: Arc<rustls::ClientConfig>) -> Pool {
        let host = endpoint.host().expect("validated endpoint has a host");
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let server_name = ServerName::try_from(host.clone()).expect("a URI host is a valid server name");
        let keep_alive_interval =
            (config.keep_alive_interval_ms > 0).then(|| Duration::from_millis(config.keep_alive_interval_ms));
        Pool {
            target: Target {
                port: endpoint.port_u16().unwrap_or(443),
                host,
                server_name,
                tls: TlsConnector::from(tls),
            },
            slots: (0..config.connections).map(|_| Mutex::new(None)).collect(),
            next_slot: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            max_streams: config.max_concurrent_streams,
            connect_timeout: config.connect_timeout(),
            keep_alive_interval,
            keep_alive_timeout: Duration::from_millis(config.keep_alive_timeout_ms),
        }
    }

    /// An open connection of the next slot, opening one when the slot is
    /// empty or its connection has closed.
    pub(crate) async fn get(&self) -> Result<Arc<Connection>, ConnectError> {
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut guard = self.slots[slot].lock().await;
        if let Some(connection) = &*guard {
            if !connection.sender.is_closed() {
                return Ok(Arc::clone(connection));
            }
        }

        let connection = Arc::new(self.connect(slot).await?);
        *guard = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Empties the slot of `connection`, unless it already holds a newer one.
    /// Streams in flight on it finish; new requests get a new connection.
    pub(crate) async fn retire(&self, connection: &Connection, why: &'static str) {
        let mut guard = self.slots[connection.slot].lock().await;
        if guard.as_ref().is_some_and(|current| current.id == connection.id) {
            info!(connection = connection.id, reason = why, "retiring APNs connection");
            *guard = None;
        }
    }

    async fn connect(&self, slot: usize) -> Result<Connection, ConnectError> {
        let target = &self.target;
        let error = |message: String| ConnectError {
            host: target.host.clone(),
            port: target.port,
            message,
        };

        let handshake = async {
            let tcp = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|source| error(format!("TCP: {source}")))?;
            tcp.set_nodelay(true)
                .map_err(|source| error(format!("TCP: {source}")))?;
            let tls = target
                .tls
                .connect(target.server_name.clone(), tcp)
                .await
                .map_err(|source| error(format!("TLS: {source}")))?;
            if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                return Err(error("the server did not agree to HTTP/2 (ALPN h2)".into()));
            }

            let mut builder = http2::Builder::new(TokioExecutor::new());
            // One stream until the server's SETTINGS say more: APNs allows one
            // stream on a new token-auth connection, and a stand-in may allow few.
            builder.timer(TokioTimer::new()).initial_max_send_streams(1);
            if let Some(interval) = self.keep_alive_interval {
                builder
                    .keep_alive_interval(interval)
                    .keep_alive_timeout(self.keep_alive_timeout)
                    .keep_alive_while_idle(true);
            }
            builder
                .handshake::<_, Full<Bytes>>(TokioIo::new(tls))
                .await
                .map_err(|source| error(format!("HTTP/2: {source}")))
        };
        let (sender, driver) = tokio::time::timeout(self.connect_timeout, handshake)
            .await
            .map_err(|_| error(format!("timed out after {} ms", self.connect_timeout.as_millis())))??;

        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            match driver.await {
                Ok(()) => debug!(connection = id, "APNs connection closed"),
                Err(error) => info!(connection = id, error = %error, "APNs connection failed"),
            }
        });
        info!(connection = id, host = %target.host, port = target.port, "opened APNs connection");
        Ok(Connection {
            id,
            slot,
            sender,
            streams: Arc::new(Semaphore::new(self.max_streams)),
        })
    }
}
