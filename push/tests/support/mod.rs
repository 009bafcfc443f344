//! Stand-ins and clients for the integration tests, all on loopback.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::SystemTime;

use offload_push::apns::{ApnsClient, ApnsNotification, PushType};
use offload_push::config::{ApnsAuth, ApnsConfig, FcmConfig};
use offload_push::fcm::FcmClient;
use offload_push::{Clock, TokioClock};
use offload_standins::{StandIns, StandInsConfig};

/// Running stand-ins and the folder of their files.
pub struct Harness {
    pub stand_ins: StandIns,
    pub clock: Arc<TokioClock>,
    _dir: tempfile::TempDir,
}

/// Starts stand-ins whose clock follows tokio's, after `adjust` changes the config.
pub async fn start(adjust: impl FnOnce(&mut StandInsConfig)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    // At a switch of the default provider token schedule (every 3000 s since
    // the epoch), so that token ages in the tests start at zero.
    let now_secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let clock = Arc::new(TokioClock::starting_at(
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(now_secs - now_secs % 3000),
    ));
    let mut config = StandInsConfig::new(dir.path());
    let server_clock = Arc::clone(&clock);
    config.now = Arc::new(move || server_clock.now());
    adjust(&mut config);
    let stand_ins = StandIns::start(config).await.unwrap();
    Harness {
        stand_ins,
        clock,
        _dir: dir,
    }
}

impl Harness {
    /// An APNs client configuration for token auth against the stand-in.
    pub fn apns_config(&self) -> ApnsConfig {
        let credentials = &self.stand_ins.credentials;
        let auth = ApnsAuth::Token {
            key_path: credentials.apns_key.clone(),
            key_id: credentials.apns_key_id.clone(),
            team_id: credentials.apns_team_id.clone(),
        };
        let mut config = ApnsConfig::new(self.stand_ins.apns_url(), auth);
        config.public_roots = false;
        config.extra_root_certificate_paths = vec![credentials.ca_certificate.clone()];
        config
    }

    pub fn apns_client(&self, config: &ApnsConfig) -> ApnsClient {
        ApnsClient::with_clock(config, self.clock.clone()).unwrap()
    }

    pub fn fcm_config(&self) -> FcmConfig {
        let credentials = &self.stand_ins.credentials;
        let mut config = FcmConfig::new(credentials.fcm_service_account.clone());
        config.base_url = self.stand_ins.fcm_url();
        config.public_roots = false;
        config.extra_root_certificate_paths = vec![credentials.ca_certificate.clone()];
        config
    }

    pub fn fcm_client(&self, config: &FcmConfig) -> FcmClient {
        FcmClient::with_clock(config, self.clock.clone()).unwrap()
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

/// A 64-digit device token ending in `n`.
pub fn device_token(n: u32) -> String {
    format!("{:064x}", 0xabc0_0000_u64 + u64::from(n))
}

/// An FCM registration token ending in `n`.
pub fn registration_token(n: u32) -> String {
    format!("stand-in-registration-token-{n:04}")
}

/// An alert notification to the stand-in's bundle.
pub fn alert(n: u32) -> ApnsNotification {
    ApnsNotification {
        device_token: device_token(n),
        topic: "com.example.app".into(),
        push_type: PushType::Alert,
        alert: Some(offload_push::apns::Alert {
            body: Some(format!("notification {n}")),
            ..Default::default()
        }),
        ..ApnsNotification::default()
    }
}

/// Keeps tokio's paused clock from auto-advancing while loopback I/O is in
/// flight, so that only `tokio::time::advance` moves it. Tokio documents that
/// a running `spawn_blocking` task inhibits auto-advance.
pub struct HoldClock(Option<std::sync::mpsc::Sender<()>>);

pub fn hold_clock() -> HoldClock {
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    tokio::task::spawn_blocking(move || {
        let _ = receiver.recv();
    });
    HoldClock(Some(sender))
}

impl Drop for HoldClock {
    fn drop(&mut self) {
        self.0.take();
    }
}
