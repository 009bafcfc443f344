//! Avro encoding and decoding of a typical event (an insert, a counter
//! update and an APNs push for one entity).
//!
//! `encode/typical_event` is the codec's encoder, which writes the datum
//! straight from the model. `encode/typical_event_via_value` builds
//! apache-avro's generic `Value` tree and encodes it with schema
//! validation, the way the codec encoded before. It is the baseline that the
//! direct encoder is compared with in the same run.
//!
//! Run: `cargo bench -p offload-schemas --bench codec`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use offload_schemas::samples::typical_event;
use offload_schemas::Codec;

fn codec_benchmark(c: &mut Criterion) {
    let codec = Codec::new();
    let event = typical_event();
    let record = codec.encode(&event).expect("the sample encodes");
    let mut buffer = Vec::with_capacity(1024);

    c.bench_function("encode/typical_event", |b| {
        b.iter(|| {
            buffer.clear();
            codec
                .encode_into(std::hint::black_box(&event), &mut buffer)
                .expect("the sample encodes");
            std::hint::black_box(buffer.len())
        })
    });
    c.bench_function("encode/typical_event_via_value", |b| {
        b.iter(|| offload_schemas::reference::encode_datum_via_value(codec.schema(), std::hint::black_box(&event)))
    });
    c.bench_function("decode/typical_event", |b| {
        b.iter(|| codec.decode(std::hint::black_box(&record)).expect("the sample decodes"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = codec_benchmark
}
criterion_main!(benches);
