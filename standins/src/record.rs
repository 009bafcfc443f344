//! Every notification the stand-ins accepted, in arrival order.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One accepted notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// `apns` or `fcm`.
    pub platform: String,
    /// Position in arrival order, from 1, over both platforms.
    pub sequence: u64,
    /// The device token, or for FCM the topic or condition prefixed with
    /// `topic:` or `condition:`.
    pub target: String,
    /// APNs: the request's `apns-*` headers. FCM: empty.
    pub headers: BTreeMap<String, String>,
    /// APNs: the JSON payload. FCM: the `message` object.
    pub body: Value,
    /// APNs: the connection the request came on, numbered from 1 per server.
    pub connection: Option<u64>,
    /// APNs: the HTTP/2 stream id.
    pub stream_id: Option<u32>,
    /// APNs token mode: the provider token's `iat`, seconds since the epoch.
    pub provider_token_iat: Option<u64>,
    /// FCM: the access token the request carried.
    pub access_token: Option<String>,
    /// The id returned: `apns-id` or the FCM message name.
    pub id: String,
    /// When the request arrived, before any injected latency, in
    /// milliseconds since the epoch on the stand-ins' clock.
    pub received_at_ms: u64,
}

/// Filters of [`Recording::list`], also the query of `GET /recorded`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFilter {
    /// Only this platform.
    pub platform: Option<String>,
    /// Only this target.
    pub target: Option<String>,
    /// Only records after this sequence number.
    pub after_sequence: Option<u64>,
}

/// The shared list of records.
#[derive(Debug, Default)]
pub struct Recording {
    records: Mutex<Vec<Recorded>>,
}

impl Recording {
    /// Appends a record, numbering it.
    pub fn push(&self, mut record: Recorded) {
        let mut records = self.records.lock().expect("recording lock is never poisoned");
        record.sequence = records.len() as u64 + 1;
        records.push(record);
    }

    /// The records matching `filter`.
    pub fn list(&self, filter: &RecordFilter) -> Vec<Recorded> {
        let records = self.records.lock().expect("recording lock is never poisoned");
        records
            .iter()
            .filter(|record| {
                filter
                    .platform
                    .as_ref()
                    .is_none_or(|platform| &record.platform == platform)
            })
            .filter(|record| filter.target.as_ref().is_none_or(|target| &record.target == target))
            .filter(|record| filter.after_sequence.is_none_or(|after| record.sequence > after))
            .cloned()
            .collect()
    }

    /// Forgets every record; numbering continues.
    pub fn clear(&self) {
        self.records.lock().expect("recording lock is never poisoned").clear();
    }
}
