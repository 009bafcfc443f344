//! Events that use every action type, every bound-value type and every
//! optional field, for round-trip tests and benchmarks. Compiled for this
//! crate's tests and with the `samples` feature.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use uuid::Uuid;

use crate::model::{
    Action, AndroidPriority, ApnsAlert, ApnsInterruptionLevel, ApnsPriority, ApnsPush, ApnsPushType, CassandraWrite,
    Consistency, CqlValue, DispatchEvent, FcmAndroidConfig, FcmNotification, FcmPush, SerialConsistency,
};

/// One value of every scalar type, in the element union's order.
pub fn every_scalar() -> Vec<CqlValue> {
    vec![
        CqlValue::Boolean(true),
        CqlValue::Int(-7),
        CqlValue::BigInt(i64::MAX),
        CqlValue::Float(1.5),
        CqlValue::Double(-0.25),
        CqlValue::Text("héllo".into()),
        CqlValue::Blob(vec![0, 1, 255]),
        CqlValue::Uuid(Uuid::from_u128(0x7f1c_3f5e_59b5_4c59_9d8e_0d5a_4f0c_1b2a)),
        // A version 1 UUID, as CQL timeuuid columns require.
        CqlValue::TimeUuid(Uuid::parse_str("c3b8e1a0-9a7b-11ef-8a2b-0242ac120002").expect("a valid UUID")),
        CqlValue::Timestamp(1_733_337_600_123),
        CqlValue::Date(-3),
        // 123.45 is 12345 * 10^-2.
        CqlValue::Decimal {
            unscaled: vec![0x30, 0x39],
            scale: 2,
        },
        // -129 in two's complement.
        CqlValue::Varint(vec![0xFF, 0x7F]),
        CqlValue::Inet(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))),
        CqlValue::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ]
}

/// One value of every bound-value type, collections included.
pub fn every_value() -> Vec<CqlValue> {
    let mut values = vec![CqlValue::Null, CqlValue::Unset, CqlValue::CounterDelta(-4)];
    values.extend(every_scalar());
    values.push(CqlValue::List(every_scalar()));
    values.push(CqlValue::Set(vec![
        CqlValue::Text("a".into()),
        CqlValue::Text("b".into()),
    ]));
    values.push(CqlValue::Map(vec![
        (CqlValue::Text("likes".into()), CqlValue::BigInt(3)),
        (
            CqlValue::Uuid(Uuid::from_u128(1)),
            CqlValue::Timestamp(1_700_000_000_000),
        ),
    ]));
    values.push(CqlValue::List(Vec::new()));
    values
}

/// A Cassandra write with every option set.
pub fn full_cassandra_write() -> CassandraWrite {
    CassandraWrite {
        statement: "every_type".into(),
        values: every_value(),
        consistency: Some(Consistency::LocalQuorum),
        ttl_secs: Some(3600),
        timestamp_us: Some(1_733_337_600_000_001),
        serial_consistency: Some(SerialConsistency::LocalSerial),
        cql: None,
    }
}

/// An APNs push with every field set.
pub fn full_apns_push() -> ApnsPush {
    ApnsPush {
        device_token: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
        topic: "com.example.photos".into(),
        push_type: ApnsPushType::Alert,
        priority: Some(ApnsPriority::ConsiderPower),
        expiration_epoch_secs: Some(1_733_400_000),
        collapse_id: Some("likes-42".into()),
        apns_id: Some(Uuid::from_u128(0xabcdef)),
        alert: Some(ApnsAlert {
            title: Some("New like".into()),
            subtitle: Some("On your photo".into()),
            body: Some("Ada liked your photo".into()),
            launch_image: Some("launch.png".into()),
            title_loc_key: Some("LIKE_TITLE".into()),
            title_loc_args: vec!["Ada".into()],
            subtitle_loc_key: Some("LIKE_SUBTITLE".into()),
            subtitle_loc_args: vec!["photo".into(), "42".into()],
            loc_key: Some("LIKE_BODY".into()),
            loc_args: vec!["Ada".into(), "photo".into()],
        }),
        badge: Some(3),
        sound: Some("default".into()),
        content_available: true,
        mutable_content: true,
        thread_id: Some("post-42".into()),
        category: Some("LIKE".into()),
        interruption_level: Some(ApnsInterruptionLevel::TimeSensitive),
        custom_data_json: Some(r#"{"post_id":"42","liker":"ada"}"#.into()),
    }
}

/// An FCM push to a token with every other field set.
pub fn full_fcm_push() -> FcmPush {
    FcmPush {
        token: Some("fcm-token-1".into()),
        topic: None,
        condition: None,
        notification: Some(FcmNotification {
            title: Some("New comment".into()),
            body: Some("Ada: nice!".into()),
            image: Some("https://img.example/42.png".into()),
        }),
        data: BTreeMap::from([
            ("post_id".to_string(), "42".to_string()),
            ("kind".to_string(), "comment".to_string()),
        ]),
        android: Some(FcmAndroidConfig {
            priority: Some(AndroidPriority::High),
            ttl_secs: Some(86_400),
            collapse_key: Some("comments".into()),
            channel_id: Some("social".into()),
        }),
        apns_override_json: Some(r#"{"headers":{"apns-priority":"5"}}"#.into()),
        webpush_override_json: Some(r#"{"headers":{"TTL":"60"}}"#.into()),
    }
}

/// An event with one action of every type, every field set.
pub fn event_with_every_action() -> DispatchEvent {
    DispatchEvent {
        event_id: Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
        entity_key: "user-42".into(),
        created_at_us: 1_733_337_600_000_000,
        source_service: "photos-api".into(),
        actions: vec![
            Action::CassandraWrite(full_cassandra_write()),
            Action::from(full_apns_push()),
            Action::from(full_fcm_push()),
            // Every optional field left out.
            Action::CassandraWrite(CassandraWrite::new("bare", Vec::new())),
            Action::CassandraWrite(CassandraWrite::raw(
                "raw_insert",
                "INSERT INTO ks.t (id, note) VALUES (?, 'DROP TABLE x')",
                vec![CqlValue::Int(1)],
            )),
            Action::from(ApnsPush {
                device_token: "00".into(),
                topic: "com.example.photos.voip".into(),
                push_type: ApnsPushType::Voip,
                ..ApnsPush::default()
            }),
            Action::from(FcmPush {
                topic: Some("news".into()),
                ..FcmPush::default()
            }),
        ],
    }
}

/// The event of a typical request for one entity: an insert, a counter
/// update and a push.
pub fn typical_event() -> DispatchEvent {
    DispatchEvent {
        event_id: Uuid::from_u128(0x42),
        entity_key: "user-42".into(),
        created_at_us: 1_733_337_600_000_000,
        source_service: "photos-api".into(),
        actions: typical_actions(),
    }
}

/// The actions of [`typical_event`].
pub fn typical_actions() -> Vec<Action> {
    vec![
        Action::CassandraWrite(CassandraWrite::new(
            "insert_comment",
            vec![
                CqlValue::Text("post-42".into()),
                CqlValue::TimeUuid(Uuid::parse_str("c3b8e1a0-9a7b-11ef-8a2b-0242ac120002").expect("a valid UUID")),
                CqlValue::Text("user-7".into()),
                CqlValue::Text("Nice photo!".into()),
            ],
        )),
        Action::CassandraWrite(CassandraWrite::new(
            "count_comment",
            vec![CqlValue::CounterDelta(1), CqlValue::Text("post-42".into())],
        )),
        Action::from(ApnsPush {
            device_token: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
            topic: "com.example.photos".into(),
            alert: Some(ApnsAlert {
                title: Some("New comment".into()),
                body: Some("user-7: Nice photo!".into()),
                ..ApnsAlert::default()
            }),
            badge: Some(1),
            ..ApnsPush::default()
        }),
    ]
}
