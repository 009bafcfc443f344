//! The W3C `traceparent` of the current tracing span.
//!
//! Spans carry OpenTelemetry trace ids only when the service installed the
//! `tracing-opentelemetry` layer; without it there is no trace to continue
//! and records get no `traceparent` header.

use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Returns `traceparent` for the current span (W3C Trace Context, version
/// 00: `00-<trace id>-<span id>-<flags>`), or `None` when the span has no
/// valid OpenTelemetry context.
pub(crate) fn current_traceparent() -> Option<String> {
    let span = tracing::Span::current();
    if span.is_none() {
        return None;
    }

    let context = span.context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return None;
    }
    Some(format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        span_context.trace_flags().to_u8()
    ))
}
