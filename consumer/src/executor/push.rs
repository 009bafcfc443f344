//! Push outcomes as action results. A delivered push finishes the action. A
//! retryable one fails it as retryable, with the provider's `Retry-After`,
//! and a permanent one fails it for the dead-letter topic. A gone token is
//! published to the feedback topic before the action finishes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use offload_push::apns::ApnsSetupError;
use offload_push::fcm::FcmSetupError;
use offload_push::{ApnsClient, FcmClient, Platform, PushOutcome, Reason};
use offload_schemas::{FeedbackReason, PushFeedback, PushPlatform};
use rdkafka::error::KafkaError;
use tracing::info;
use uuid::Uuid;

use super::apns::ApnsExecutor;
use super::fcm::FcmExecutor;
use crate::config::WorkerConfig;
use crate::feedback::FeedbackProducer;
use crate::telemetry::Telemetry;

/// Failure of a push action.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// A field of the action cannot become a valid notification.
    #[error("field `{field}` of the {} push is invalid: {reason}", name(*.platform))]
    Invalid {
        /// The push service.
        platform: Platform,
        /// The field, as named in the event schema.
        field: &'static str,
        /// The broken rule and the fix.
        reason: String,
    },
    /// The provider rejected the notification for good, or the client found
    /// it invalid before sending it.
    #[error("{} push to {target} was rejected: {reason}", name(*.platform))]
    Rejected {
        /// The push service.
        platform: Platform,
        /// The recipient, with only the last characters of a token.
        target: String,
        /// The provider's or the client's reason.
        reason: Reason,
    },
    /// The send failed and may succeed later.
    #[error("{} push to {target} failed and may succeed later: {reason}", name(*.platform))]
    Transient {
        /// The push service.
        platform: Platform,
        /// The recipient, with only the last characters of a token.
        target: String,
        /// The provider's or the transport's reason.
        reason: Reason,
        /// The minimum wait the provider requested (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The provider reported the token gone, and the feedback record could
    /// not be published, so the action is not done.
    #[error("{} reported {target} gone, and publishing it to feedback topic `{topic}` failed", name(*.platform))]
    Feedback {
        /// The push service.
        platform: Platform,
        /// The recipient, with only the last characters of the token.
        target: String,
        /// The feedback topic.
        topic: String,
        /// The producer's error, boxed to keep the error type small.
        #[source]
        source: Box<KafkaError>,
    },
}

impl PushError {
    /// Returns whether the same action may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            PushError::Transient { .. } | PushError::Feedback { .. } => true,
            PushError::Invalid { .. } | PushError::Rejected { .. } => false,
        }
    }

    /// Returns the minimum wait before the next attempt that the provider
    /// requested.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PushError::Transient { retry_after, .. } => *retry_after,
            PushError::Invalid { .. } | PushError::Rejected { .. } | PushError::Feedback { .. } => None,
        }
    }

    /// Short class of the failure for headers, logs and metric labels.
    pub fn class(&self) -> &'static str {
        match self {
            PushError::Invalid { .. } => "push_invalid",
            PushError::Rejected { .. } => "push_rejected",
            PushError::Transient { .. } => "push_transient",
            PushError::Feedback { .. } => "feedback_publish_failed",
        }
    }
}

/// Returns the provider's name as people write it.
fn name(platform: Platform) -> &'static str {
    match platform {
        Platform::Apns => "APNs",
        Platform::Fcm => "FCM",
    }
}

/// Describes a device token by its last six characters, enough to find it
/// in logs without writing whole tokens there.
pub(crate) fn describe_token(token: &str) -> String {
    let start = token.char_indices().rev().nth(5).map_or(0, |(index, _)| index);
    format!("device token ending in `{}`", &token[start..])
}

/// Errors of building the push executors at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushStartError {
    /// The APNs client cannot be built from the `[apns]` table.
    #[error("the [apns] configuration cannot be used")]
    Apns(#[source] ApnsSetupError),
    /// The FCM client cannot be built from the `[fcm]` table.
    #[error("the [fcm] configuration cannot be used")]
    Fcm(#[source] FcmSetupError),
    /// The feedback producer cannot be created.
    #[error("invalid settings for the push feedback producer")]
    Feedback(#[source] KafkaError),
}

/// The push executors of the configured platforms; `None` where the worker
/// has no configuration table for the platform.
pub struct PushExecutors {
    /// The APNs executor, when `[apns]` is configured.
    pub apns: Option<ApnsExecutor>,
    /// The FCM executor, when `[fcm]` is configured.
    pub fcm: Option<FcmExecutor>,
}

impl PushExecutors {
    /// Builds the clients of the configured platforms and, when there is
    /// one, the feedback producer. No connection is opened yet.
    pub fn start(config: &WorkerConfig, telemetry: &Telemetry) -> Result<PushExecutors, PushStartError> {
        if config.apns.is_none() && config.fcm.is_none() {
            return Ok(PushExecutors { apns: None, fcm: None });
        }
        let feedback =
            FeedbackProducer::new(&config.kafka, &config.topics.push_feedback).map_err(PushStartError::Feedback)?;
        let outcomes = Arc::new(Outcomes {
            feedback,
            telemetry: telemetry.clone(),
        });

        let apns = match &config.apns {
            Some(apns) => {
                let client = ApnsClient::new(apns).map_err(PushStartError::Apns)?;
                Some(ApnsExecutor::new(client, Arc::clone(&outcomes)))
            }
            None => None,
        };
        let fcm = match &config.fcm {
            Some(fcm) => {
                let client = FcmClient::new(fcm).map_err(PushStartError::Fcm)?;
                Some(FcmExecutor::new(client, Arc::clone(&outcomes)))
            }
            None => None,
        };
        info!(
            apns = config.apns.as_ref().map(|apns| apns.endpoint.as_str()),
            fcm = config.fcm.as_ref().map(|fcm| fcm.base_url.as_str()),
            feedback_topic = %config.topics.push_feedback,
            "push executors configured"
        );
        Ok(PushExecutors { apns, fcm })
    }
}

/// Turns push outcomes into the action's result; shared by both executors.
pub(crate) struct Outcomes {
    feedback: FeedbackProducer,
    telemetry: Telemetry,
}

/// The recipient of a sent push.
pub(crate) struct Recipient<'a> {
    /// The device or registration token, when the push went to one device.
    pub(crate) token: Option<&'a str>,
    /// The recipient as errors and logs name it.
    pub(crate) target: String,
}

impl Outcomes {
    /// Counts `outcome` and returns the action's result. A gone token
    /// finishes the action only after Kafka acknowledged its feedback record.
    pub(crate) async fn settle(
        &self,
        outcome: PushOutcome,
        event_id: Uuid,
        recipient: Recipient<'_>,
    ) -> Result<(), PushError> {
        self.telemetry.push_outcome(&outcome);
        let target = recipient.target;

        match outcome {
            PushOutcome::Delivered { .. } => Ok(()),
            PushOutcome::Retryable {
                platform,
                reason,
                retry_after,
            } => Err(PushError::Transient {
                platform,
                target,
                reason,
                retry_after,
            }),
            PushOutcome::Permanent { platform, reason } => Err(PushError::Rejected {
                platform,
                target,
                reason,
            }),
            PushOutcome::TokenGone {
                platform,
                reason,
                timestamp,
            } => {
                // A topic or condition has no token to delete, so a
                // token-gone response for one can only be a provider error.
                let Some(token) = recipient.token else {
                    return Err(PushError::Rejected {
                        platform,
                        target,
                        reason,
                    });
                };
                let feedback = feedback_record(platform, token, &reason, timestamp, event_id);
                match self.feedback.publish(&feedback).await {
                    Ok(()) => {
                        self.telemetry.token_gone(
                            platform.as_str(),
                            &target,
                            &reason.to_string(),
                            self.feedback.topic(),
                        );
                        Ok(())
                    }
                    Err(source) => Err(PushError::Feedback {
                        platform,
                        target,
                        topic: self.feedback.topic().to_string(),
                        source: Box::new(source),
                    }),
                }
            }
        }
    }
}

/// Builds the feedback record of a token the provider reported gone.
fn feedback_record(
    platform: Platform,
    token: &str,
    reason: &Reason,
    timestamp: Option<SystemTime>,
    event_id: Uuid,
) -> PushFeedback {
    let platform = match platform {
        Platform::Apns => PushPlatform::Apns,
        Platform::Fcm => PushPlatform::Fcm,
    };
    let provider_reason = match reason {
        Reason::Apns { reason, .. } => reason.as_str().to_string(),
        Reason::Fcm { code, .. } => code.as_str().to_string(),
        other => other.label().into_owned(),
    };
    PushFeedback {
        platform,
        token: token.to_string(),
        // APNs' 410 (Unregistered, ExpiredToken) and FCM's UNREGISTERED all
        // mean the token no longer reaches an app instance.
        reason: FeedbackReason::Unregistered,
        provider_reason,
        provider_timestamp_ms: timestamp.map(|time| unix_duration(time).as_millis() as i64),
        event_id,
        reported_at_us: unix_duration(SystemTime::now()).as_micros() as i64,
    }
}

fn unix_duration(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use offload_push::apns::ApnsReason;
    use offload_push::fcm::FcmErrorCode;

    use super::*;

    #[test]
    fn apns_feedback_keeps_the_timestamp_and_reason_text() {
        let timestamp = UNIX_EPOCH + Duration::from_millis(1_733_400_000_123);
        let reason = Reason::Apns {
            status: 410,
            reason: ApnsReason::from_text("ExpiredToken"),
        };
        let event_id = Uuid::from_u128(7);

        let record = feedback_record(Platform::Apns, "00ff", &reason, Some(timestamp), event_id);

        assert_eq!(record.platform, PushPlatform::Apns);
        assert_eq!(record.token, "00ff");
        assert_eq!(record.reason, FeedbackReason::Unregistered);
        assert_eq!(record.provider_reason, "ExpiredToken");
        assert_eq!(record.provider_timestamp_ms, Some(1_733_400_000_123));
        assert_eq!(record.event_id, event_id);
        assert!(
            record.reported_at_us > 1_700_000_000_000_000,
            "{}",
            record.reported_at_us
        );
    }

    #[test]
    fn fcm_feedback_has_no_timestamp() {
        let reason = Reason::Fcm {
            status: 404,
            code: FcmErrorCode::Unregistered,
            message: "Requested entity was not found.".into(),
        };

        let record = feedback_record(Platform::Fcm, "token-1", &reason, None, Uuid::nil());

        assert_eq!(record.platform, PushPlatform::Fcm);
        assert_eq!(record.provider_reason, "UNREGISTERED");
        assert_eq!(record.provider_timestamp_ms, None);
    }

    #[test]
    fn only_transient_errors_carry_retry_after() {
        let reason = Reason::Fcm {
            status: 429,
            code: FcmErrorCode::from_text("RESOURCE_EXHAUSTED"),
            message: String::new(),
        };
        let transient = PushError::Transient {
            platform: Platform::Fcm,
            target: describe_token("registration-token-123456"),
            reason: reason.clone(),
            retry_after: Some(Duration::from_secs(3)),
        };
        let rejected = PushError::Rejected {
            platform: Platform::Fcm,
            target: describe_token("registration-token-123456"),
            reason,
        };

        assert!(transient.is_retryable());
        assert_eq!(transient.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(transient.class(), "push_transient");
        assert!(!rejected.is_retryable());
        assert_eq!(rejected.retry_after(), None);
        assert_eq!(rejected.class(), "push_rejected");
        assert_eq!(
            rejected.to_string(),
            "FCM push to device token ending in `123456` was rejected: FCM returned 429 RESOURCE_EXHAUSTED: "
        );
    }
}
