//! `PushFeedback` as an Avro value.

use apache_avro::types::Value;

use super::{enum_symbol, optional, string, symbol, unexpected, unwrap_optional, uuid, Fields};
use crate::codec::DecodeError;
use crate::model::{FeedbackReason, PushFeedback, PushPlatform};

pub(crate) fn feedback_to_value(feedback: &PushFeedback) -> Value {
    Value::Record(vec![
        (
            "platform".into(),
            symbol(feedback.platform.index(), feedback.platform.symbol()),
        ),
        ("token".into(), Value::String(feedback.token.clone())),
        (
            "reason".into(),
            symbol(feedback.reason.index(), feedback.reason.symbol()),
        ),
        (
            "provider_reason".into(),
            Value::String(feedback.provider_reason.clone()),
        ),
        (
            "provider_timestamp_ms".into(),
            optional(feedback.provider_timestamp_ms.map(Value::TimestampMillis)),
        ),
        ("event_id".into(), Value::Uuid(feedback.event_id)),
        ("reported_at_us".into(), Value::TimestampMicros(feedback.reported_at_us)),
    ])
}

pub(crate) fn feedback_from_value(value: Value) -> Result<PushFeedback, DecodeError> {
    let mut fields = Fields::of_record(value, "PushFeedback")?;

    Ok(PushFeedback {
        platform: enum_symbol(
            fields.take("platform")?,
            "platform",
            PushPlatform::from_symbol,
            PushPlatform::Unknown,
        )?,
        token: string(fields.take("token")?, "token")?,
        reason: enum_symbol(
            fields.take("reason")?,
            "reason",
            FeedbackReason::from_symbol,
            FeedbackReason::Unknown,
        )?,
        provider_reason: string(fields.take("provider_reason")?, "provider_reason")?,
        provider_timestamp_ms: match unwrap_optional(fields.take("provider_timestamp_ms")?) {
            None => None,
            Some(Value::TimestampMillis(ms) | Value::Long(ms)) => Some(ms),
            Some(other) => return Err(unexpected("provider_timestamp_ms", &other)),
        },
        event_id: uuid(fields.take("event_id")?, "event_id")?,
        reported_at_us: match fields.take("reported_at_us")? {
            Value::TimestampMicros(us) | Value::Long(us) => us,
            other => return Err(unexpected("reported_at_us", &other)),
        },
    })
}
