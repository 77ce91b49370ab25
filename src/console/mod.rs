//! The QA console: a browser front end served by `callscore serve` itself at
//! `/`, its assets embedded in the binary. It calls the public API over
//! gRPC-Web with the user's own API key; it has no other way into the store.
//! See docs/console.md.

mod assets;
mod schema;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Scripts, styles, media and connections from this origin only; audio and
/// waveforms from Blob URLs the page makes itself; no inline script or style,
/// no frames, no forms posted anywhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes: `/` and `/console/…`. The authentication layer lets
/// them through without a key (they hold no data); every RPC the page makes
/// carries the signed-in user's key.
pub fn router() -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/console/schema.json", get(schema_json))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>| async move { asset(&path) }),
        )
}

/// Whether `path` is one of the console's (served without an API key).
pub fn is_console_path(path: &str) -> bool {
    path == "/" || path.starts_with("/console/")
}

fn asset(path: &str) -> Response {
    match assets::find(path) {
        Some(found) => secured(
            StatusCode::OK,
            found.content_type,
            found.bytes.to_vec(),
            // Every file may change with the binary; the page revalidates.
            "no-cache",
        ),
        None => secured(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            b"not found\n".to_vec(),
            "no-store",
        ),
    }
}

async fn schema_json() -> Response {
    match schema::json() {
        Ok(text) => secured(
            StatusCode::OK,
            "application/json",
            text.as_bytes().to_vec(),
            "no-cache",
        ),
        Err(error) => {
            tracing::error!(%error, "the console's schema could not be built");
            secured(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                b"schema unavailable\n".to_vec(),
                "no-store",
            )
        }
    }
}

fn secured(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    cache: &'static str,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
