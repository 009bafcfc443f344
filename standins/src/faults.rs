//! Failure injection: per device token or for every request, and per
//! connection for GOAWAY.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Faults of one token, or of every request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    /// Delay before responding, in milliseconds.
    pub latency_ms: u64,
    /// Responses to give instead of processing, one per request, in order.
    /// Requests after the script ran out are processed normally.
    pub responses: VecDeque<ScriptedResponse>,
    /// Number of requests, from now, whose connection is closed without an
    /// answer (APNs only).
    pub drop_connection: u32,
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedResponse {
    /// HTTP status.
    pub status: u16,
    /// APNs: the `reason`. FCM: the FcmError `errorCode`, if any.
    #[serde(default)]
    pub reason: Option<String>,
    /// The `Retry-After` header, in seconds.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// APNs 410: the `timestamp`, in milliseconds since the epoch.
    #[serde(default)]
    pub timestamp_ms: Option<u64>,
}

/// A GOAWAY for one future APNs connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoAwayFault {
    /// The last stream id the connection processes. When the client opens a
    /// stream above it, the server drops that stream's frames unread and
    /// sends GOAWAY with this id, then finishes the streams up to it.
    pub last_stream_id: u32,
}

impl GoAwayFault {
    /// Builds a GOAWAY sent once the client opens more than `streams`
    /// streams. Client streams have the odd ids 1, 3, 5, … (RFC 9113,
    /// section 5.1.1), so the last one processed is `2 * streams - 1`.
    pub fn after_streams(streams: u32) -> GoAwayFault {
        GoAwayFault {
            last_stream_id: streams.saturating_mul(2).saturating_sub(1),
        }
    }
}

/// The faults planned for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planned {
    /// Delay before responding, in milliseconds.
    pub latency_ms: u64,
    /// The answer to give instead of processing.
    pub response: Option<ScriptedResponse>,
    /// Close the connection without answering.
    pub drop_connection: bool,
}

/// The faults of one platform.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<FaultTable>,
}

#[derive(Debug, Default)]
struct FaultTable {
    global: Fault,
    by_target: HashMap<String, Fault>,
    go_aways: VecDeque<GoAwayFault>,
}

impl Faults {
    /// Replaces the faults of every request.
    pub fn set_global(&self, fault: Fault) {
        self.table().global = fault;
    }

    /// Replaces the faults of one device token (FCM: token, `topic:` or
    /// `condition:` target).
    pub fn set_for(&self, target: &str, fault: Fault) {
        self.table().by_target.insert(target.to_string(), fault);
    }

    /// Queues a GOAWAY for the next connection that opens.
    pub fn push_go_away(&self, fault: GoAwayFault) {
        self.table().go_aways.push_back(fault);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        *self.table() = FaultTable::default();
    }

    /// Takes the GOAWAY planned for a new connection, if any.
    pub fn take_go_away(&self) -> Option<GoAwayFault> {
        self.table().go_aways.pop_front()
    }

    /// Consumes what a request to `target` should suffer: the token's fault
    /// first, then the global one. Latencies add up.
    pub fn plan(&self, target: &str) -> Planned {
        let mut table = self.table();
        let mut planned = Planned::default();
        if let Some(fault) = table.by_target.get_mut(target) {
            consume(fault, &mut planned);
        }
        consume(&mut table.global, &mut planned);
        planned
    }

    fn table(&self) -> std::sync::MutexGuard<'_, FaultTable> {
        self.inner.lock().expect("fault lock is never poisoned")
    }
}

fn consume(fault: &mut Fault, planned: &mut Planned) {
    planned.latency_ms += fault.latency_ms;
    if planned.drop_connection || planned.response.is_some() {
        return;
    }
    if fault.drop_connection > 0 {
        fault.drop_connection -= 1;
        planned.drop_connection = true;
        return;
    }
    planned.response = fault.responses.pop_front();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> ScriptedResponse {
        ScriptedResponse {
            status,
            reason: None,
            retry_after_secs: None,
            timestamp_ms: None,
        }
    }

    #[test]
    fn go_away_after_streams_counts_odd_client_ids() {
        assert_eq!(GoAwayFault::after_streams(2).last_stream_id, 3);
        assert_eq!(GoAwayFault::after_streams(1).last_stream_id, 1);
        assert_eq!(GoAwayFault::after_streams(0).last_stream_id, 0);
    }

    #[test]
    fn scripted_responses_are_consumed_in_order_token_first() {
        let faults = Faults::default();
        faults.set_global(Fault {
            latency_ms: 20,
            responses: VecDeque::from([status(503)]),
            drop_connection: 0,
        });
        faults.set_for(
            "t1",
            Fault {
                latency_ms: 5,
                responses: VecDeque::from([status(429)]),
                drop_connection: 0,
            },
        );

        let first = faults.plan("t1");
        let second = faults.plan("t1");
        let third = faults.plan("t1");

        assert_eq!(first.latency_ms, 25);
        assert_eq!(first.response.map(|r| r.status), Some(429));
        assert_eq!(second.response.map(|r| r.status), Some(503));
        assert_eq!(third.response, None);
    }
}
