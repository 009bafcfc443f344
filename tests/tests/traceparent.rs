//! Records carry the W3C traceparent of the span that dispatched them.

use std::time::Duration;

use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name};
use offload_producer::{Dispatcher, Publisher, PublisherConfig};
use offload_schemas::{Action, CassandraWrite, CqlValue};
use opentelemetry::trace::{TraceContextExt, TracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn traceparent_continues_the_dispatching_span() -> anyhow::Result<()> {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    // The current-thread runtime polls this test on this thread, so a
    // thread-local default subscriber records every span.
    let _default = tracing::subscriber::set_default(subscriber);
    let topic = unique_name("trace");
    create_topic(&topic, 1).await?;
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), &topic, "photos-api"))?;

    let span = tracing::info_span!("handle_request");
    let context = span.context();
    let expected = format!(
        "00-{}-{}-01",
        context.span().span_context().trace_id(),
        context.span().span_context().span_id()
    );
    let deliveries = async {
        let mut dispatcher = Dispatcher::new(&publisher);
        dispatcher.add(
            "user-1",
            Action::CassandraWrite(CassandraWrite::new("first", vec![CqlValue::Int(1)])),
        );
        dispatcher.dispatch().await
    }
    .instrument(span)
    .await?;
    for delivery in deliveries {
        delivery.wait().await?;
    }

    let records = read_topic(&topic, 1, Duration::from_secs(30))?;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].header("traceparent"), Some(expected.as_str()));
    assert_ne!(
        context.span().span_context().trace_id(),
        opentelemetry::trace::TraceId::INVALID
    );
    Ok(())
}
