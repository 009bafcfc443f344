use offload_schemas::{
    Action, ApnsAlert, ApnsPriority, ApnsPush, ApnsPushType, CassandraWrite, Consistency, CqlValue, FcmPush,
};

use super::*;

#[test]
fn line_with_every_action_parses() {
    let line = r#"{"actions": [
        {"entity_key": "post-42", "action": {"cassandra_write": {"statement": "add_comment",
            "values": ["null", "unset", {"counter_delta": 1}, {"bigint": 5}, {"text": "hi"},
                       {"uuid": "7f1c3f5e-59b5-4c59-9d8e-0d5a4f0c1b2a"}, {"inet": "127.0.0.1"},
                       {"list": [{"int": 1}]}, {"map": [[{"text": "k"}, {"double": 0.5}]]}],
            "consistency": "LOCAL_QUORUM", "ttl_secs": 60}}},
        {"entity_key": "user-7", "action": {"apns_push": {"device_token": "ab", "topic": "com.example",
            "priority": "CONSIDER_POWER", "alert": {"title": "Hi"}}}},
        {"entity_key": "user-7", "action": {"fcm_push": {"topic": "news", "data": {"k": "v"}}}}
    ]}"#;

    let request = parse_request(1, line).unwrap();

    assert_eq!(request.actions.len(), 3);
    assert_eq!(request.actions[0].entity_key, "post-42");
    let expected_write = CassandraWrite {
        consistency: Some(Consistency::LocalQuorum),
        ttl_secs: Some(60),
        ..CassandraWrite::new(
            "add_comment",
            vec![
                CqlValue::Null,
                CqlValue::Unset,
                CqlValue::CounterDelta(1),
                CqlValue::BigInt(5),
                CqlValue::Text("hi".into()),
                CqlValue::Uuid("7f1c3f5e-59b5-4c59-9d8e-0d5a4f0c1b2a".parse().unwrap()),
                CqlValue::Inet("127.0.0.1".parse().unwrap()),
                CqlValue::List(vec![CqlValue::Int(1)]),
                CqlValue::Map(vec![(CqlValue::Text("k".into()), CqlValue::Double(0.5))]),
            ],
        )
    };
    assert_eq!(request.actions[0].action, Action::CassandraWrite(expected_write));
    let expected_apns = ApnsPush {
        device_token: "ab".into(),
        topic: "com.example".into(),
        push_type: ApnsPushType::Alert,
        priority: Some(ApnsPriority::ConsiderPower),
        alert: Some(ApnsAlert {
            title: Some("Hi".into()),
            ..ApnsAlert::default()
        }),
        ..ApnsPush::default()
    };
    assert_eq!(request.actions[1].action, Action::from(expected_apns));
    let expected_fcm = FcmPush {
        topic: Some("news".into()),
        data: [("k".to_string(), "v".to_string())].into(),
        ..FcmPush::default()
    };
    assert_eq!(request.actions[2].action, Action::from(expected_fcm));
}

#[test]
fn fcm_non_string_data_names_field() {
    let line = r#"{"actions": [{"entity_key": "u", "action": {"fcm_push": {"token": "t", "data": {"badge": 5}}}}]}"#;

    let error = parse_request(7, line).unwrap_err();

    assert_eq!(error.line, 7);
    assert_eq!(error.field, "actions[0].action.fcm_push.data.badge");
    assert!(error.message.contains("expected a string"), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("line 7: field `actions[0].action.fcm_push.data.badge`"),
        "{error}"
    );
}

#[test]
fn unknown_field_names_its_path() {
    let line = r#"{"actions": [{"entity_key": "u", "action": {"apns_push": {"device_token": "a", "topic": "t", "colapse_id": "x"}}}]}"#;

    let error = parse_request(2, line).unwrap_err();

    assert_eq!(error.field, "actions[0].action.apns_push.colapse_id");
    assert!(error.message.contains("unknown field `colapse_id`"), "{error}");
}

#[test]
fn missing_required_field_is_reported() {
    let line = r#"{"actions": [{"entity_key": "u", "action": {"cassandra_write": {"values": []}}}]}"#;

    let error = parse_request(3, line).unwrap_err();

    assert_eq!(error.field, "actions[0].action.cassandra_write");
    assert!(error.message.contains("missing field `statement`"), "{error}");
}

#[test]
fn line_that_is_not_json_has_no_field() {
    let error = parse_request(4, "{not json").unwrap_err();

    assert_eq!(error.field, "");
    assert!(error.to_string().starts_with("line 4: "), "{error}");
}
