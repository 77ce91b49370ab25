//! The tower layer that authenticates every RPC except health and reflection.
//!
//! A layer rather than a tonic interceptor because looking a key up is async
//! (a database read) and interceptors are synchronous.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::HeaderMap;
use tonic::Status;
use tonic::transport::server::TcpConnectInfo;
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use super::key;
use super::role::{Action, Role};
use super::scope::KeyScope;
use crate::store::{ApiKeyRecord, KeyAction, KeyEvent, Store, now_ms};

/// How long a looked-up key is trusted without reading the store again: a
/// revoked key keeps working this long at most on any replica, and a busy
/// API does one key read per key and second instead of one per RPC.
const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
/// A key's last use is written at most this often.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;
/// Failed authentications from one address are audited at most this often
/// (the rest are counted into the next audited one).
const FAILURE_AUDIT_INTERVAL: Duration = Duration::from_secs(10);
/// Past this many addresses the failure throttle starts over (bounds memory).
const FAILURE_SOURCES_CAPACITY: usize = 10_000;
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

/// Failed authentications per source address, for the throttled audit.
#[derive(Default)]
struct FailureThrottle {
    sources: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

impl FailureThrottle {
    /// `Some(failures since the last audited one, this one included)` when
    /// this failure is to be audited.
    fn admit(&self, source: IpAddr) -> Option<u64> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if sources.len() >= FAILURE_SOURCES_CAPACITY && !sources.contains_key(&source) {
            sources.clear();
        }
        match sources.get_mut(&source) {
            Some((last, suppressed)) if last.elapsed() < FAILURE_AUDIT_INTERVAL => {
                *suppressed += 1;
                None
            }
            Some((last, suppressed)) => {
                let count = *suppressed + 1;
                *last = Instant::now();
                *suppressed = 0;
                Some(count)
            }
            None => {
                sources.insert(source, (Instant::now(), 0));
                Some(1)
            }
        }
    }
}

/// Why a presented key was refused, with what is known of it.
struct AuthFailure {
    status: Status,
    /// The key id, when the token was shaped like a key.
    key_id: Option<String>,
    /// The key's tenant, when the id exists.
    tenant_id: Option<String>,
    /// A short cause for the audit.
    cause: &'static str,
}

impl AuthFailure {
    fn new(status: Status, cause: &'static str) -> Self {
        Self {
            status,
            key_id: None,
            tenant_id: None,
            cause,
        }
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
    /// The agent or team the key is limited to.
    pub scope: KeyScope,
}

impl Principal {
    /// The principal the auth layer attached to a request.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<&Principal, Status> {
        request
            .extensions()
            .get::<Principal>()
            .ok_or_else(|| Status::unauthenticated("missing API key"))
    }

    /// `PERMISSION_DENIED` unless the role allows `action` (and, for a key
    /// scoped to an agent or team, unless the action honours the scope).
    pub fn require(&self, action: Action) -> Result<(), Status> {
        if self.may(action) {
            Ok(())
        } else if !self.role.allows(action) {
            Err(Status::permission_denied(format!(
                "the {} role may not do this",
                self.role
            )))
        } else {
            Err(Status::permission_denied(
                "a key scoped to an agent or a team may not do this; use an unscoped key",
            ))
        }
    }

    /// Whether this key may perform `action` at all (its role allows it and
    /// a scoped key's scope narrows it).
    pub fn may(&self, action: Action) -> bool {
        self.role.allows(action) && (!self.scope.is_scoped() || action.honours_scope())
    }

    /// `PERMISSION_DENIED` unless a scorecard of `agent_id` in `team_id` is
    /// within the key's scope.
    pub fn require_covers(&self, agent_id: &str, team_id: &str) -> Result<(), Status> {
        if self.scope.covers(agent_id, team_id) {
            Ok(())
        } else {
            Err(Status::permission_denied(
                "outside this key's scope (its agent or team)",
            ))
        }
    }

    /// The agent and team filters a list or export uses: the key's scope,
    /// or what the caller asked for within it (`PERMISSION_DENIED` naming
    /// the field when asked for outside it).
    pub fn scoped_filter(
        &self,
        agent_id: Option<String>,
        team_id: Option<String>,
    ) -> Result<(Option<String>, Option<String>), Status> {
        let narrow =
            |field: &str, asked: Option<String>, scope: &str| match (asked, scope.is_empty()) {
                (asked, true) => Ok(asked),
                (Some(asked), false) if asked != scope => Err(Status::permission_denied(format!(
                    "{field}: outside this key's scope"
                ))),
                (_, false) => Ok(Some(scope.to_string())),
            };
        Ok((
            narrow("agent_id", agent_id, &self.scope.agent_id)?,
            narrow("team_id", team_id, &self.scope.team_id)?,
        ))
    }
}

/// Paths that stay open: load balancers and `grpcurl` need them without a key.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.")
        || crate::console::is_console_path(path)
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
    failures: Arc<FailureThrottle>,
    rate_limit: Option<Arc<KeyRateLimit>>,
}

impl AuthLayer {
    /// Authenticates against keys in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Arc::default(),
            failures: Arc::default(),
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
            failures: self.failures.clone(),
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
    failures: Arc<FailureThrottle>,
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
        let failures = self.failures.clone();
        Box::pin(async move {
            let authenticated = match authenticate(&store, &cache, request.headers()).await {
                Ok(principal) => Ok(principal),
                Err(failure) => {
                    let source = request
                        .extensions()
                        .get::<TcpConnectInfo>()
                        .and_then(TcpConnectInfo::remote_addr);
                    audit_failure(&store, &failures, source, &failure);
                    Err(failure.status)
                }
            };
            let authenticated = authenticated.and_then(|principal| match &rate_limit {
                Some(limit) => limit.check(&principal.key_id).map(|()| principal),
                None => Ok(principal),
            });
            match authenticated {
                Ok(principal) => {
                    // The RPC's span (app::request_span) is the current one here.
                    let span = tracing::Span::current();
                    span.record("tenant", principal.tenant_id.as_str());
                    span.record("key_id", principal.key_id.as_str());
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// Audits a refused key (throttled per source address) without holding up
/// the answer.
fn audit_failure(
    store: &Arc<dyn Store>,
    throttle: &FailureThrottle,
    source: Option<SocketAddr>,
    failure: &AuthFailure,
) {
    let source_ip = source.map_or(IpAddr::from([0, 0, 0, 0]), |address| address.ip());
    let Some(count) = throttle.admit(source_ip) else {
        return;
    };
    tracing::warn!(
        source = %source_ip,
        key_id = failure.key_id.as_deref().unwrap_or(""),
        cause = failure.cause,
        failures = count,
        "API key refused"
    );
    let mut event = KeyEvent::now(
        failure.tenant_id.as_deref(),
        failure.key_id.as_deref().unwrap_or(""),
        KeyAction::AuthFailed,
        "",
    );
    event.source = source
        .map(|address| address.ip().to_string())
        .unwrap_or_default();
    event.detail = if count > 1 {
        format!(
            "{}; {count} failures from this address since the last audited one",
            failure.cause
        )
    } else {
        failure.cause.to_string()
    };
    let store = store.clone();
    tokio::spawn(async move {
        if let Err(error) = store.record_key_event(&event).await {
            tracing::warn!(%error, "auditing a failed authentication failed");
        }
    });
}

/// Reads the key from `authorization: Bearer …` or `x-api-key`, and checks it.
async fn authenticate(
    store: &Arc<dyn Store>,
    cache: &KeyCache,
    headers: &HeaderMap,
) -> Result<Principal, AuthFailure> {
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
            AuthFailure::new(
                Status::unauthenticated("missing API key: send `authorization: Bearer <key>`"),
                "no key",
            )
        })?;
    let presented = key::parse(token.trim()).ok_or_else(|| {
        AuthFailure::new(
            Status::unauthenticated("malformed API key"),
            "malformed key",
        )
    })?;
    let record = match cache.get(&presented.key_id) {
        Some(record) => Some(record),
        None => {
            let found = store
                .find_api_key(&presented.key_id)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "API key lookup failed");
                    AuthFailure::new(
                        Status::unavailable("cannot check the API key right now"),
                        "store unavailable",
                    )
                })?;
            if let Some(record) = &found {
                cache.put(record.clone());
                touch_if_stale(store, record);
            }
            found
        }
    };
    let refused =
        |record: Option<&ApiKeyRecord>, message: &'static str, cause: &'static str| AuthFailure {
            status: Status::unauthenticated(message),
            key_id: Some(presented.key_id.clone()),
            tenant_id: record.map(|record| record.tenant_id.clone()),
            cause,
        };
    let Some(record) = record else {
        return Err(refused(
            None,
            "unknown or revoked API key",
            "unknown key id",
        ));
    };
    // The secret is checked on every call, cached record or not.
    if !presented.matches(&record.secret_sha256) {
        return Err(refused(
            Some(&record),
            "unknown or revoked API key",
            "wrong secret",
        ));
    }
    if record.revoked {
        return Err(refused(
            Some(&record),
            "unknown or revoked API key",
            "revoked key",
        ));
    }
    if record
        .expires_at_ms
        .is_some_and(|expiry| expiry <= now_ms())
    {
        return Err(refused(Some(&record), "expired API key", "expired key"));
    }
    Ok(Principal {
        tenant_id: record.tenant_id,
        role: record.role,
        key_id: record.key_id,
        scope: record.scope,
    })
}

/// Records the key's use when the stored time is over a minute old; the
/// write happens beside the request, never in its way.
fn touch_if_stale(store: &Arc<dyn Store>, record: &ApiKeyRecord) {
    let now = now_ms();
    if record
        .last_used_at_ms
        .is_some_and(|at| now - at < LAST_USED_RESOLUTION_MS)
    {
        return;
    }
    let store = store.clone();
    let key_id = record.key_id.clone();
    tokio::spawn(async move {
        if let Err(error) = store.touch_api_key(&key_id, now).await {
            tracing::warn!(%error, "recording a key's last use failed");
        }
    });
}
