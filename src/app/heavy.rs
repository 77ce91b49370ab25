//! A bound on requests whose cost grows with their size (SubmitTranscript:
//! a 4 MiB message becomes many times that while decoded, scored, redacted
//! and stored). The permit is taken before the body is read, so waiting
//! requests hold no decoded message: HTTP/2 flow control holds their bytes
//! back at the client, and peak memory is bounded by the permits.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// The RPCs the limit applies to.
const HEAVY_PATHS: [&str; 1] = ["/callscore.v1.CallService/SubmitTranscript"];

/// At most `permits` heavy requests are handled at once; more wait.
#[derive(Clone)]
pub struct HeavyRequestLimit {
    permits: Arc<Semaphore>,
    total: usize,
}

impl HeavyRequestLimit {
    /// A limit of `permits` (at least one).
    pub fn new(permits: usize) -> Self {
        let total = permits.max(1);
        Self {
            permits: Arc::new(Semaphore::new(total)),
            total,
        }
    }
}

impl<S> Layer<S> for HeavyRequestLimit {
    type Service = HeavyRequestService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HeavyRequestService {
            inner,
            permits: self.permits.clone(),
            total: self.total,
        }
    }
}

/// The service [`HeavyRequestLimit`] makes.
#[derive(Clone)]
pub struct HeavyRequestService<S> {
    inner: S,
    permits: Arc<Semaphore>,
    total: usize,
}

impl<S, B> Service<http::Request<B>> for HeavyRequestService<S>
where
    S: Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !HEAVY_PATHS.contains(&request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // The clone is not ready; keep the ready one for this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let permits = self.permits.clone();
        let total = self.total;
        Box::pin(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let permit = permits.clone().acquire_owned().await.ok();
            let result = inner.call(request).await;
            drop(permit);
            // The last of a burst gives the freed heap back to the system;
            // under steady load memory stays bounded by the permits anyway.
            if permits.available_permits() == total {
                tokio::task::spawn_blocking(super::memory::release_freed_memory);
            }
            result
        })
    }
}
