//! W3C trace context carried from a request to the job it queues: the
//! SubmitCall handler stores its span's `traceparent` with the job, and the
//! worker that claims it (in any replica) parents the job's spans on it.

use std::collections::HashMap;

use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// The current span's `traceparent`, or empty when nothing is traced (no
/// propagator is installed then, so nothing is injected).
pub fn current_trace_context() -> String {
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut carrier);
    });
    carrier.remove(TRACEPARENT).unwrap_or_default()
}

/// The context a stored `traceparent` names (an empty context when it is
/// empty or malformed: the job's spans then start their own trace).
pub fn parent_context(traceparent: &str) -> opentelemetry::Context {
    let carrier = HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier))
}
