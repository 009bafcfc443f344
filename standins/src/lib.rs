//! Stand-in APNs and FCM servers for tests and the demo. They listen on
//! loopback, speak the real protocols (HTTP/2 + TLS + ES256 provider tokens
//! for APNs; OAuth2 JWT bearer grant + HTTP v1 for FCM), answer with the real
//! status codes and error bodies, and record every accepted notification.
//!
//! - [`StandIns::start`]: generates a CA, keys and credentials files, and
//!   starts the APNs, FCM and control servers.
//! - `apns`: the provider API and its checks.
//! - `fcm`: the token endpoint and `messages:send`.
//! - [`faults`]: latency, scripted answers, dropped connections and GOAWAY.
//! - [`record`]: the accepted notifications.
//! - `control`: the plain-HTTP control API.
//! - [`keys`] and [`tls`]: generated keys and certificates.

mod apns;
mod control;
pub mod faults;
mod fcm;
pub mod keys;
pub mod record;
pub mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use jsonwebtoken::DecodingKey;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

pub use apns::ApnsStats;
pub use faults::{Fault, Faults, GoAwayFault, ScriptedResponse};
pub use record::{RecordFilter, Recorded, Recording};

use self::apns::validate::{Auth, Validator};
use self::apns::ApnsServer;
use self::fcm::FcmServer;
use self::tls::{write_file, Authority, TlsSetupError};

/// The stand-ins' time source: tests pass one that follows tokio's paused clock.
pub type Now = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How to start the stand-ins.
#[derive(Clone)]
pub struct StandInsConfig {
    /// Folder for the CA certificate, keys and the service account file.
    pub dir: PathBuf,
    /// Address to listen on; keep it on loopback.
    pub bind: IpAddr,
    /// APNs port; 0 picks a free one.
    pub apns_port: u16,
    /// FCM and OAuth2 port; 0 picks a free one.
    pub fcm_port: u16,
    /// Control API port; 0 picks a free one.
    pub control_port: u16,
    /// APNs authenticates providers by TLS client certificate instead of
    /// provider tokens.
    pub apns_client_certificates: bool,
    /// The app's bundle id; `apns-topic` must be it plus the push type's suffix.
    pub bundle_id: String,
    /// APNs' limit on a provider token's age.
    pub max_provider_token_age: Duration,
    /// SETTINGS_MAX_CONCURRENT_STREAMS of each APNs connection.
    pub apns_max_concurrent_streams: u32,
    /// The Firebase project.
    pub fcm_project_id: String,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime: Duration,
    /// The current time.
    pub now: Now,
}

impl StandInsConfig {
    /// Defaults on 127.0.0.1 with free ports, writing files to `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> StandInsConfig {
        StandInsConfig {
            dir: dir.into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            apns_port: 0,
            fcm_port: 0,
            control_port: 0,
            apns_client_certificates: false,
            bundle_id: "com.example.app".into(),
            max_provider_token_age: Duration::from_secs(3600),
            apns_max_concurrent_streams: 1000,
            fcm_project_id: "offload-demo".into(),
            access_token_lifetime: Duration::from_secs(3600),
            now: Arc::new(SystemTime::now),
        }
    }
}

/// Errors of starting the stand-ins.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The CA, the certificates or a file could not be made.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// A port could not be bound.
    #[error("cannot listen on {address}; pick another port or stop what uses it")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Files clients need.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The CA certificate to trust, PEM.
    pub ca_certificate: PathBuf,
    /// The APNs provider token key, `.p8`.
    pub apns_key: PathBuf,
    /// Its key id.
    pub apns_key_id: String,
    /// The team id.
    pub apns_team_id: String,
    /// A client certificate for APNs' certificate mode, PEM.
    pub apns_client_certificate: PathBuf,
    /// Its private key, PEM.
    pub apns_client_key: PathBuf,
    /// The FCM service account key file, with `token_uri` pointing at the stand-in.
    pub fcm_service_account: PathBuf,
}

pub(crate) struct Shared {
    pub(crate) apns: Arc<ApnsServer>,
    pub(crate) fcm: Arc<FcmServer>,
    pub(crate) recording: Arc<Recording>,
}

/// Running stand-ins; dropping the value stops them.
pub struct StandIns {
    /// The address of the APNs stand-in.
    pub apns_address: SocketAddr,
    /// The address of the FCM and OAuth2 stand-in.
    pub fcm_address: SocketAddr,
    /// The address of the control API.
    pub control_address: SocketAddr,
    /// Files for clients.
    pub credentials: Credentials,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for StandIns {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

const APNS_KEY_ID: &str = "STANDIN001";
const APNS_TEAM_ID: &str = "TEAM000001";

impl StandIns {
    /// Generates credentials into `config.dir` and starts the servers.
    pub async fn start(config: StandInsConfig) -> Result<StandIns, StartError> {
        let authority = Authority::generate()?;
        let apns_key = keys::generate_es256();
        let service_account = keys::generate_rsa();

        let apns_listener = bind(config.bind, config.apns_port).await?;
        let fcm_listener = bind(config.bind, config.fcm_port).await?;
        let control_listener = bind(config.bind, config.control_port).await?;
        let apns_address = apns_listener.local_addr().expect("a bound listener has an address");
        let fcm_address = fcm_listener.local_addr().expect("a bound listener has an address");
        let control_address = control_listener.local_addr().expect("a bound listener has an address");

        let token_uri = format!("https://{fcm_address}/token");
        let client_email = format!("offload-push@{}.iam.gserviceaccount.com", config.fcm_project_id);
        let credentials = write_credentials(
            &config,
            &authority,
            &apns_key,
            &service_account,
            &token_uri,
            &client_email,
        )?;

        let recording = Arc::new(Recording::default());
        let auth = if config.apns_client_certificates {
            Auth::Certificate
        } else {
            Auth::Token {
                key: DecodingKey::from_ec_pem(apns_key.public_key_pem.as_bytes()).expect("a generated key parses"),
                key_id: APNS_KEY_ID.into(),
                team_id: APNS_TEAM_ID.into(),
            }
        };
        let validator = Validator::new(
            auth,
            config.bundle_id.clone(),
            config.max_provider_token_age,
            Arc::clone(&config.now),
        );
        let apns = Arc::new(ApnsServer::new(
            validator,
            Arc::clone(&recording),
            config.apns_max_concurrent_streams,
        ));
        let fcm = Arc::new(FcmServer::new(
            config.fcm_project_id.clone(),
            client_email,
            token_uri,
            DecodingKey::from_rsa_pem(service_account.public_key_pem.as_bytes()).expect("a generated key parses"),
            config.access_token_lifetime,
            Arc::clone(&config.now),
            Arc::clone(&recording),
        ));
        let shared = Arc::new(Shared {
            apns: Arc::clone(&apns),
            fcm: Arc::clone(&fcm),
            recording,
        });

        let apns_tls = authority.server_config(&[b"h2"], config.apns_client_certificates)?;
        let fcm_tls = authority.server_config(&[b"h2", b"http/1.1"], false)?;
        let tasks = vec![
            tokio::spawn(apns::serve(apns_listener, TlsAcceptor::from(apns_tls), apns)),
            tokio::spawn(serve_https(fcm_listener, TlsAcceptor::from(fcm_tls), fcm::router(fcm))),
            tokio::spawn(serve_http(control_listener, control::router(Arc::clone(&shared)))),
        ];
        Ok(StandIns {
            apns_address,
            fcm_address,
            control_address,
            credentials,
            shared,
            tasks,
        })
    }

    /// The APNs base URL for clients: `https://127.0.0.1:{port}`.
    pub fn apns_url(&self) -> String {
        format!("https://{}", self.apns_address)
    }

    /// The FCM base URL for clients.
    pub fn fcm_url(&self) -> String {
        format!("https://{}", self.fcm_address)
    }

    /// The control API's base URL.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control_address)
    }

    /// The accepted notifications matching `filter`.
    pub fn recorded(&self, filter: &RecordFilter) -> Vec<Recorded> {
        self.shared.recording.list(filter)
    }

    /// Forgets every accepted notification; sequence numbers continue.
    pub fn clear_recorded(&self) {
        self.shared.recording.clear();
    }

    /// The APNs stand-in's faults.
    pub fn apns_faults(&self) -> &Faults {
        &self.shared.apns.faults
    }

    /// The FCM stand-in's faults.
    pub fn fcm_faults(&self) -> &Faults {
        &self.shared.fcm.faults
    }

    /// The APNs stand-in's counters.
    pub fn apns_stats(&self) -> ApnsStats {
        self.shared.apns.stats()
    }

    /// Number of access tokens the OAuth2 endpoint issued.
    pub fn fcm_token_exchanges(&self) -> u64 {
        self.shared
            .fcm
            .token_exchanges
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Makes APNs respond 410 Unregistered with `timestamp_ms` for `device_token`.
    pub fn unregister_apns(&self, device_token: &str, timestamp_ms: u64) {
        self.shared.apns.unregister(device_token, timestamp_ms);
    }

    /// Makes FCM respond 404 UNREGISTERED for `token`.
    pub fn unregister_fcm(&self, token: &str) {
        self.shared
            .fcm
            .unregistered
            .lock()
            .expect("registry lock is never poisoned")
            .insert(token.to_string());
    }
}

async fn bind(ip: IpAddr, port: u16) -> Result<TcpListener, StartError> {
    let address = SocketAddr::new(ip, port);
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind { address, source })
}

fn write_credentials(
    config: &StandInsConfig,
    authority: &Authority,
    apns_key: &keys::PemKeyPair,
    service_account: &keys::PemKeyPair,
    token_uri: &str,
    client_email: &str,
) -> Result<Credentials, TlsSetupError> {
    let path = |name: &str| -> PathBuf { Path::new(&config.dir).join(name) };
    let credentials = Credentials {
        ca_certificate: path("ca.pem"),
        apns_key: path(&format!("AuthKey_{APNS_KEY_ID}.p8")),
        apns_key_id: APNS_KEY_ID.into(),
        apns_team_id: APNS_TEAM_ID.into(),
        apns_client_certificate: path("apns-client.pem"),
        apns_client_key: path("apns-client-key.pem"),
        fcm_service_account: path("fcm-service-account.json"),
    };
    let service_account_json = serde_json::json!({
        "type": "service_account",
        "project_id": config.fcm_project_id,
        "private_key_id": "stand-in-key-1",
        "private_key": service_account.private_key_pem,
        "client_email": client_email,
        "client_id": "1",
        "token_uri": token_uri,
    });

    write_file(&credentials.ca_certificate, &authority.ca_pem)?;
    write_file(&credentials.apns_key, &apns_key.private_key_pem)?;
    write_file(&credentials.apns_client_certificate, &authority.client_certificate_pem)?;
    write_file(&credentials.apns_client_key, &authority.client_key_pem)?;
    write_file(&credentials.fcm_service_account, &service_account_json.to_string())?;
    Ok(credentials)
}

/// Serves an axum router over TLS, HTTP/1.1 or HTTP/2 as ALPN decides.
async fn serve_https(listener: TcpListener, acceptor: TlsAcceptor, router: axum::Router) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(error) = builder.serve_connection(TokioIo::new(tls), service).await {
                debug!(error = %error, "FCM stand-in connection ended with an error");
            }
        });
    }
}

/// Serves an axum router over plain HTTP.
async fn serve_http(listener: TcpListener, router: axum::Router) {
    if let Err(error) = axum::serve(listener, router).await {
        debug!(error = %error, "control API stopped");
    }
}

/// Milliseconds since the UNIX epoch; zero for times before it.
fn unix_millis(time: SystemTime) -> u64 {
    let millis = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    u64::try_from(millis).unwrap_or(u64::MAX)
}
