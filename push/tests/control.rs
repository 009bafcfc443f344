//! The stand-ins' control API over plain HTTP, as other processes use it.

mod support;

use offload_push::tls::client_config;
use offload_standins::Recorded;
use serde_json::json;
use support::{alert, device_token, start};

fn http_client(ca: &std::path::Path) -> reqwest::Client {
    let tls = client_config(false, &[ca.to_path_buf()], None, &[b"http/1.1"]).unwrap();
    reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn control_api_sets_faults_and_lists_records() {
    let harness = start(|_| {}).await;
    let client = harness.apns_client(&harness.apns_config());
    let http = http_client(&harness.stand_ins.credentials.ca_certificate);
    let base = harness.stand_ins.control_url();

    let fault = json!({"responses": [{"status": 500, "reason": "InternalServerError"}]});
    let set = http
        .put(format!("{base}/faults/apns/targets/{}", device_token(1)))
        .json(&fault)
        .send()
        .await
        .unwrap();
    let failed = client.send(&alert(1)).await;
    let delivered = client.send(&alert(1)).await;
    let gone = json!({"device_token": device_token(2), "timestamp_ms": 1_700_000_000_000_u64});
    let unregistered = http
        .post(format!("{base}/apns/unregistered"))
        .json(&gone)
        .send()
        .await
        .unwrap();
    let token_gone = client.send(&alert(2)).await;
    let records: Vec<Recorded> = http
        .get(format!("{base}/recorded?platform=apns&target={}", device_token(1)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unknown_platform = http
        .put(format!("{base}/faults/sms/global"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    assert_eq!(set.status(), 204);
    assert_eq!(failed.labels()[2], "InternalServerError");
    assert_eq!(delivered.class(), "delivered");
    assert_eq!(unregistered.status(), 204);
    assert_eq!(token_gone.class(), "token_gone");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].target, device_token(1));
    assert_eq!(unknown_platform.status(), 404);
}
