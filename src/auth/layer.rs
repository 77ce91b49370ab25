//! The tower layer that authenticates every RPC except health and reflection.
//!
//! A layer rather than a tonic interceptor because looking a key up is async
//! (a database read) and interceptors are synchronous.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::HeaderMap;
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use super::key;
use super::role::{Action, Role};
use crate::store::{ApiKeyRecord, Store};

/// How long a looked-up key is trusted without reading the store again: a
/// revoked key keeps working this long at most, and a busy API does one key
/// read per key and interval instead of one per RPC.
const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// Past this many cached keys the cache starts over (bounds memory).
const KEY_CACHE_CAPACITY: usize = 10_000;

/// Key records by key id, with when they were read.
#[derive(Default)]
struct KeyCache {
    entries: Mutex<HashMap<String, (ApiKeyRecord, Instant)>>,
}

impl KeyCache {
    fn get(&self, key_id: &str) -> Option<ApiKeyRecord> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key_id)
            .filter(|(_, read_at)| read_at.elapsed() < KEY_CACHE_TTL)
            .map(|(record, _)| record.clone())
    }

    fn put(&self, record: ApiKeyRecord) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= KEY_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(record.key_id.clone(), (record, Instant::now()));
    }
}

/// Who is calling: learned from the API key, attached to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant whose data the caller may see.
    pub tenant_id: String,
    /// What the caller may do.
    pub role: Role,
    /// The key's public id, recorded as the actor in audit events.
    pub key_id: String,
}

impl Principal {
    /// The principal the auth layer attached to a request.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<&Principal, Status> {
        request
            .extensions()
            .get::<Principal>()
            .ok_or_else(|| Status::unauthenticated("missing API key"))
    }

    /// `PERMISSION_DENIED` unless the role allows `action`.
    pub fn require(&self, action: Action) -> Result<(), Status> {
        if self.role.allows(action) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

/// Paths that stay open: load balancers and `grpcurl` need them without a key.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// A token bucket per API key (GCRA, the `governor` crate): a key may
/// spend `burst` RPCs at once and earns `per_second` back each second.
pub struct KeyRateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    checks: std::sync::atomic::AtomicU64,
}

impl KeyRateLimit {
    /// `None` when either number is zero (no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let per_second = std::num::NonZeroU32::new(per_second)?;
        let burst = std::num::NonZeroU32::new(burst)?;
        Some(Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
            clock: DefaultClock::default(),
            checks: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// `RESOURCE_EXHAUSTED` with the wait (RetryInfo detail and the message)
    /// when the key has spent its bucket.
    fn check(&self, key_id: &str) -> Result<(), Status> {
        // Buckets of keys quiet long enough to be full again are dropped now and then.
        let checks = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if checks % 10_000 == 9_999 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&key_id.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(Status::with_error_details(
                    tonic::Code::ResourceExhausted,
                    format!(
                        "rate limit of this API key reached; retry in {} ms",
                        wait.as_millis().max(1)
                    ),
                    ErrorDetails::with_retry_info(Some(wait)),
                ))
            }
        }
    }
}

/// Wraps the gRPC services with API-key authentication.
#[derive(Clone)]
pub struct AuthLayer {
    store: Arc<dyn Store>,
    cache: Arc<KeyCache>,
    rate_limit: Option<Arc<KeyRateLimit>>,
}

impl AuthLayer {
    /// Authenticates against keys in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Arc::default(),
            rate_limit: None,
        }
    }

    /// Limits each key's request rate.
    pub fn with_rate_limit(mut self, limit: Option<KeyRateLimit>) -> Self {
        self.rate_limit = limit.map(Arc::new);
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            store: self.store.clone(),
            cache: self.cache.clone(),
            rate_limit: self.rate_limit.clone(),
        }
    }
}

/// The service [`AuthLayer`] makes.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    store: Arc<dyn Store>,
    cache: Arc<KeyCache>,
    rate_limit: Option<Arc<KeyRateLimit>>,
}

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is not ready; keep the ready one for this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if is_public(request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        let store = self.store.clone();
        let cache = self.cache.clone();
        let rate_limit = self.rate_limit.clone();
        Box::pin(async move {
            let authenticated = authenticate(store.as_ref(), &cache, request.headers())
                .await
                .and_then(|principal| match &rate_limit {
                    Some(limit) => limit.check(&principal.key_id).map(|()| principal),
                    None => Ok(principal),
                });
            match authenticated {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// Reads the key from `authorization: Bearer …` or `x-api-key`, and checks it.
async fn authenticate(
    store: &dyn Store,
    cache: &KeyCache,
    headers: &HeaderMap,
) -> Result<Principal, Status> {
    let token = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            headers
                .get(http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
        })
        .ok_or_else(|| {
            Status::unauthenticated("missing API key: send `authorization: Bearer <key>`")
        })?;
    let presented =
        key::parse(token.trim()).ok_or_else(|| Status::unauthenticated("malformed API key"))?;
    let record = match cache.get(&presented.key_id) {
        Some(record) => Some(record),
        None => {
            let found = store
                .find_api_key(&presented.key_id)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "API key lookup failed");
                    Status::unavailable("cannot check the API key right now")
                })?;
            if let Some(record) = &found {
                cache.put(record.clone());
            }
            found
        }
    };
    // The secret is checked on every call, cached record or not.
    let record = record
        .filter(|record| !record.revoked && presented.matches(&record.secret_sha256))
        .ok_or_else(|| Status::unauthenticated("unknown or revoked API key"))?;
    Ok(Principal {
        tenant_id: record.tenant_id,
        role: record.role,
        key_id: record.key_id,
    })
}
