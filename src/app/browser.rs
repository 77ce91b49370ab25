//! Browser access to the API: gRPC-Web (tonic-web translates it to gRPC in
//! front of every other layer, so authentication, limits and tracing see one
//! protocol) and CORS for pages served from other origins. The console and a
//! platform's own front end call the very RPCs of proto/callscore/v1.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsOrigins;

/// Request headers a gRPC-Web client sends besides the simple ones.
const ALLOWED_HEADERS: [&str; 9] = [
    "content-type",
    "authorization",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "x-api-key",
    "x-request-id",
    "traceparent",
    "tracestate",
];

/// Response headers a page may read: the status of a call rides in them
/// (or in the trailer frame of the body).
const EXPOSED_HEADERS: [&str; 4] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
];

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS policy for `origins`. With none allowed the layer still answers
/// preflight requests, without the headers that would let a page proceed.
pub fn cors(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE);
    match origins {
        CorsOrigins::None => layer.allow_origin(AllowOrigin::list([])),
        CorsOrigins::Any => layer.allow_origin(AllowOrigin::any()),
        CorsOrigins::List(list) => layer.allow_origin(AllowOrigin::list(
            // Validated when the settings were read: every one is a header value.
            list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
        )),
    }
}
