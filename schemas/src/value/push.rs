//! `ApnsPush` and `FcmPush` as Avro values.

use apache_avro::types::Value;

use super::{
    enum_symbol, optional, optional_string, optional_string_from, string, string_array, string_array_from, symbol,
    unexpected, unwrap_optional, uuid, Fields,
};
use crate::codec::DecodeError;
use crate::model::{
    AndroidPriority, ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, FcmAndroidConfig,
    FcmNotification, FcmPush,
};

pub(super) fn apns_to_value(push: &ApnsPush) -> Value {
    Value::Record(vec![
        ("device_token".into(), Value::String(push.device_token.clone())),
        ("topic".into(), Value::String(push.topic.clone())),
        (
            "push_type".into(),
            symbol(push.push_type.index(), push.push_type.symbol()),
        ),
        (
            "priority".into(),
            optional(push.priority.map(|level| symbol(level.index(), level.symbol()))),
        ),
        (
            "expiration_epoch_secs".into(),
            optional(push.expiration_epoch_secs.map(Value::Long)),
        ),
        ("collapse_id".into(), optional_string(&push.collapse_id)),
        ("apns_id".into(), optional(push.apns_id.map(Value::Uuid))),
        ("alert".into(), optional(push.alert.as_ref().map(alert_to_value))),
        ("badge".into(), optional(push.badge.map(Value::Int))),
        ("sound".into(), optional_string(&push.sound)),
        ("content_available".into(), Value::Boolean(push.content_available)),
        ("mutable_content".into(), Value::Boolean(push.mutable_content)),
        ("thread_id".into(), optional_string(&push.thread_id)),
        ("category".into(), optional_string(&push.category)),
        (
            "interruption_level".into(),
            optional(
                push.interruption_level
                    .map(|level| symbol(level.index(), level.symbol())),
            ),
        ),
        ("custom_data_json".into(), optional_string(&push.custom_data_json)),
    ])
}

fn alert_to_value(alert: &ApnsAlert) -> Value {
    Value::Record(vec![
        ("title".into(), optional_string(&alert.title)),
        ("subtitle".into(), optional_string(&alert.subtitle)),
        ("body".into(), optional_string(&alert.body)),
        ("launch_image".into(), optional_string(&alert.launch_image)),
        ("title_loc_key".into(), optional_string(&alert.title_loc_key)),
        ("title_loc_args".into(), string_array(&alert.title_loc_args)),
        ("subtitle_loc_key".into(), optional_string(&alert.subtitle_loc_key)),
        ("subtitle_loc_args".into(), string_array(&alert.subtitle_loc_args)),
        ("loc_key".into(), optional_string(&alert.loc_key)),
        ("loc_args".into(), string_array(&alert.loc_args)),
    ])
}

pub(super) fn fcm_to_value(push: &FcmPush) -> Value {
    let data = push
        .data
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();

    Value::Record(vec![
        ("token".into(), optional_string(&push.token)),
        ("topic".into(), optional_string(&push.topic)),
        ("condition".into(), optional_string(&push.condition)),
        (
            "notification".into(),
            optional(push.notification.as_ref().map(|notification| {
                Value::Record(vec![
                    ("title".into(), optional_string(&notification.title)),
                    ("body".into(), optional_string(&notification.body)),
                    ("image".into(), optional_string(&notification.image)),
                ])
            })),
        ),
        ("data".into(), Value::Map(data)),
        ("android".into(), optional(push.android.as_ref().map(android_to_value))),
        ("apns_override_json".into(), optional_string(&push.apns_override_json)),
        (
            "webpush_override_json".into(),
            optional_string(&push.webpush_override_json),
        ),
    ])
}

fn android_to_value(android: &FcmAndroidConfig) -> Value {
    Value::Record(vec![
        (
            "priority".into(),
            optional(android.priority.map(|level| symbol(level.index(), level.symbol()))),
        ),
        ("ttl_secs".into(), optional(android.ttl_secs.map(Value::Long))),
        ("collapse_key".into(), optional_string(&android.collapse_key)),
        ("channel_id".into(), optional_string(&android.channel_id)),
    ])
}

pub(super) fn apns_from_value(value: Value) -> Result<ApnsPush, DecodeError> {
    let mut fields = Fields::of_record(value, "ApnsPush")?;

    Ok(ApnsPush {
        device_token: string(fields.take("device_token")?, "device_token")?,
        topic: string(fields.take("topic")?, "topic")?,
        push_type: enum_symbol(
            fields.take("push_type")?,
            "push_type",
            ApnsPushType::from_symbol,
            ApnsPushType::Unknown,
        )?,
        priority: unwrap_optional(fields.take("priority")?)
            .map(|value| enum_symbol(value, "priority", ApnsPriority::from_symbol, ApnsPriority::Unknown))
            .transpose()?,
        expiration_epoch_secs: optional_long(fields.take("expiration_epoch_secs")?, "expiration_epoch_secs")?,
        collapse_id: optional_string_from(fields.take("collapse_id")?, "collapse_id")?,
        apns_id: unwrap_optional(fields.take("apns_id")?)
            .map(|value| uuid(value, "apns_id"))
            .transpose()?,
        alert: unwrap_optional(fields.take("alert")?)
            .map(alert_from_value)
            .transpose()?,
        badge: match unwrap_optional(fields.take("badge")?) {
            None => None,
            Some(Value::Int(badge)) => Some(badge),
            Some(other) => return Err(unexpected("badge", &other)),
        },
        sound: optional_string_from(fields.take("sound")?, "sound")?,
        content_available: boolean(fields.take("content_available")?, "content_available")?,
        mutable_content: boolean(fields.take("mutable_content")?, "mutable_content")?,
        thread_id: optional_string_from(fields.take("thread_id")?, "thread_id")?,
        category: optional_string_from(fields.take("category")?, "category")?,
        interruption_level: unwrap_optional(fields.take("interruption_level")?)
            .map(|value| {
                enum_symbol(
                    value,
                    "interruption_level",
                    ApnsInterruptionLevel::from_symbol,
                    ApnsInterruptionLevel::Unknown,
                )
            })
            .transpose()?,
        custom_data_json: optional_string_from(fields.take("custom_data_json")?, "custom_data_json")?,
    })
}

fn alert_from_value(value: Value) -> Result<ApnsAlert, DecodeError> {
    let mut fields = Fields::of_record(value, "ApnsAlert")?;

    Ok(ApnsAlert {
        title: optional_string_from(fields.take("title")?, "alert.title")?,
        subtitle: optional_string_from(fields.take("subtitle")?, "alert.subtitle")?,
        body: optional_string_from(fields.take("body")?, "alert.body")?,
        launch_image: optional_string_from(fields.take("launch_image")?, "alert.launch_image")?,
        title_loc_key: optional_string_from(fields.take("title_loc_key")?, "alert.title_loc_key")?,
        title_loc_args: string_array_from(fields.take("title_loc_args")?, "alert.title_loc_args")?,
        subtitle_loc_key: optional_string_from(fields.take("subtitle_loc_key")?, "alert.subtitle_loc_key")?,
        subtitle_loc_args: string_array_from(fields.take("subtitle_loc_args")?, "alert.subtitle_loc_args")?,
        loc_key: optional_string_from(fields.take("loc_key")?, "alert.loc_key")?,
        loc_args: string_array_from(fields.take("loc_args")?, "alert.loc_args")?,
    })
}

pub(super) fn fcm_from_value(value: Value) -> Result<FcmPush, DecodeError> {
    let mut fields = Fields::of_record(value, "FcmPush")?;

    let data = match fields.take("data")? {
        Value::Map(entries) => entries
            .into_iter()
            .map(|(key, value)| Ok((key, string(value, "data")?)))
            .collect::<Result<_, DecodeError>>()?,
        other => return Err(unexpected("data", &other)),
    };

    Ok(FcmPush {
        token: optional_string_from(fields.take("token")?, "token")?,
        topic: optional_string_from(fields.take("topic")?, "topic")?,
        condition: optional_string_from(fields.take("condition")?, "condition")?,
        notification: unwrap_optional(fields.take("notification")?)
            .map(notification_from_value)
            .transpose()?,
        data,
        android: unwrap_optional(fields.take("android")?)
            .map(android_from_value)
            .transpose()?,
        apns_override_json: optional_string_from(fields.take("apns_override_json")?, "apns_override_json")?,
        webpush_override_json: optional_string_from(fields.take("webpush_override_json")?, "webpush_override_json")?,
    })
}

fn notification_from_value(value: Value) -> Result<FcmNotification, DecodeError> {
    let mut fields = Fields::of_record(value, "FcmNotification")?;

    Ok(FcmNotification {
        title: optional_string_from(fields.take("title")?, "notification.title")?,
        body: optional_string_from(fields.take("body")?, "notification.body")?,
        image: optional_string_from(fields.take("image")?, "notification.image")?,
    })
}

fn android_from_value(value: Value) -> Result<FcmAndroidConfig, DecodeError> {
    let mut fields = Fields::of_record(value, "FcmAndroidConfig")?;

    Ok(FcmAndroidConfig {
        priority: unwrap_optional(fields.take("priority")?)
            .map(|value| {
                enum_symbol(
                    value,
                    "android.priority",
                    AndroidPriority::from_symbol,
                    AndroidPriority::Unknown,
                )
            })
            .transpose()?,
        ttl_secs: optional_long(fields.take("ttl_secs")?, "android.ttl_secs")?,
        collapse_key: optional_string_from(fields.take("collapse_key")?, "android.collapse_key")?,
        channel_id: optional_string_from(fields.take("channel_id")?, "android.channel_id")?,
    })
}

fn optional_long(value: Value, field: &'static str) -> Result<Option<i64>, DecodeError> {
    match unwrap_optional(value) {
        None => Ok(None),
        Some(Value::Long(value)) => Ok(Some(value)),
        Some(other) => Err(unexpected(field, &other)),
    }
}

fn boolean(value: Value, field: &'static str) -> Result<bool, DecodeError> {
    match value {
        Value::Boolean(value) => Ok(value),
        other => Err(unexpected(field, &other)),
    }
}
