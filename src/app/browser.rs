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

/// gRPC-Web for RPCs, and the console's pages past it: tonic-web answers 400
/// to any HTTP/1.1 request that is not gRPC-Web, so GETs of the console's
/// files go straight to the routes behind it (when the console is served).
#[derive(Clone, Copy)]
pub struct GrpcWebAndPages {
    /// Whether the console's pages are served.
    pub console: bool,
}

impl<S: Clone> tower::Layer<S> for GrpcWebAndPages {
    type Service = GrpcWebAndPagesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcWebAndPagesService {
            console: self.console,
            pages: inner.clone(),
            web: tower::Layer::layer(&tonic_web::GrpcWebLayer::new(), inner),
        }
    }
}

/// See [`GrpcWebAndPages`].
#[derive(Clone)]
pub struct GrpcWebAndPagesService<S> {
    console: bool,
    pages: S,
    web: tonic_web::GrpcWebService<S>,
}

type BoxedResponse<E> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<tonic::body::Body>, E>> + Send>,
>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for GrpcWebAndPagesService<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ReqBody::Error: Into<tower::BoxError> + std::fmt::Display,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tower::BoxError> + std::fmt::Display,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxedResponse<S::Error>;

    fn poll_ready(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        match self.pages.poll_ready(context) {
            std::task::Poll::Ready(Ok(())) => {
                tower::Service::<http::Request<ReqBody>>::poll_ready(&mut self.web, context)
            }
            other => other,
        }
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let is_page = self.console
            && matches!(*request.method(), Method::GET | Method::HEAD)
            && crate::console::is_console_path(request.uri().path());
        if is_page {
            let response = self.pages.call(request.map(tonic::body::Body::new));
            Box::pin(async move { Ok(response.await?.map(tonic::body::Body::new)) })
        } else {
            Box::pin(tower::Service::<http::Request<ReqBody>>::call(
                &mut self.web,
                request,
            ))
        }
    }
}
