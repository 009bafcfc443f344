//! Records that can never succeed go to the dead-letter topic with the
//! reason, and the events around them are still applied.

use std::time::Duration;

use offload_e2e::workload::{self, STATEMENTS, TABLES};
use offload_e2e::{
    cassandra_session, create_keyspace, create_topic, end_offsets, group_lags, kafka_bootstrap, read_topic,
    unique_name, wait_for_drain, WorkerConfigBuilder, WorkerProcess,
};
use offload_schemas::{Action, Codec, CqlValue};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

const RANDOM_BYTES: &[u8] = b"\x17\x99 definitely not an offload event";

#[tokio::test(flavor = "multi_thread")]
async fn poison_records_are_dead_lettered() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    let dead_letter_topic = format!("{topic}_dlq");
    let group = unique_name("group");
    let keyspace = unique_name("dlq");
    create_topic(&topic, 1).await?;
    create_topic(&dead_letter_topic, 1).await?;
    let session = cassandra_session().await?;
    create_keyspace(&session, &keyspace, &TABLES).await?;

    let codec = Codec::new();
    let mut unknown_statement = workload::event("entity-0001", 1);
    let Action::CassandraWrite(write) = &mut unknown_statement.actions[0] else {
        unreachable!("workload events start with a Cassandra write")
    };
    write.statement = "drop_everything".into();
    let mut wrong_type = workload::event("entity-0001", 2);
    let Action::CassandraWrite(write) = &mut wrong_type.actions[0] else {
        unreachable!("workload events start with a Cassandra write")
    };
    write.values[1] = CqlValue::Text("not a number".into());
    let records: Vec<Vec<u8>> = vec![
        codec.encode(&workload::event("entity-0001", 0))?,
        RANDOM_BYTES.to_vec(),
        codec.encode(&unknown_statement)?,
        codec.encode(&wrong_type)?,
        codec.encode(&workload::event("entity-0001", 3))?,
    ];
    produce(&topic, &records).await?;

    let mut config = WorkerConfigBuilder::new(&topic, &dead_letter_topic, &group);
    for (name, cql, idempotent) in STATEMENTS {
        config = config.statement(name, &cql.replace("{ks}", &keyspace), idempotent);
    }
    let mut worker = WorkerProcess::spawn(&config)?;
    if let Err(error) = wait_for_drain(&group, &topic, Duration::from_secs(60)).await {
        anyhow::bail!("{error}\nworker log:\n{}", worker.log_text());
    }
    worker.terminate(Duration::from_secs(30))?;

    let rows = workload::read_events(&session, &keyspace).await?;
    let sequences: Vec<i32> = rows.iter().map(|(_, seq, _)| *seq).collect();
    assert_eq!(sequences, vec![0, 3]);
    assert_eq!(group_lags(&group, &topic)?[0].committed, Some(5));
    assert_eq!(end_offsets(&topic)?, vec![5]);

    let letters = read_topic(&dead_letter_topic, 3, Duration::from_secs(30))?;
    assert_eq!(letters.len(), 3, "{letters:?}");
    let expected = [(1, "undecodable"), (2, "unknown_statement"), (3, "wrong_value")];
    for (letter, (offset, class)) in letters.iter().zip(expected) {
        assert_eq!(letter.payload.as_deref(), Some(records[offset as usize].as_slice()));
        assert_eq!(letter.header("offload-dlq-source-topic"), Some(topic.as_str()));
        assert_eq!(letter.header("offload-dlq-source-partition"), Some("0"));
        assert_eq!(
            letter.header("offload-dlq-source-offset"),
            Some(offset.to_string().as_str())
        );
        assert_eq!(letter.header("offload-dlq-group"), Some(group.as_str()));
        assert_eq!(letter.header("offload-dlq-error-class"), Some(class));
        assert_eq!(letter.header("offload-dlq-attempts"), Some("1"));
        assert!(letter
            .header("offload-dlq-first-failure-ms")
            .is_some_and(|ms| ms.parse::<i64>().is_ok()));
    }
    let unknown_message = letters[1].header("offload-dlq-error-message").unwrap_or_default();
    assert!(unknown_message.contains("drop_everything"), "{unknown_message}");
    let type_message = letters[2].header("offload-dlq-error-message").unwrap_or_default();
    assert!(type_message.contains("column `seq`"), "{type_message}");
    Ok(())
}

async fn produce(topic: &str, payloads: &[Vec<u8>]) -> anyhow::Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()?;
    for payload in payloads {
        let record = FutureRecord::to(topic).key("entity-0001").payload(payload);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)?;
    }
    Ok(())
}
