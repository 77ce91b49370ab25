//! The durable job queue on SQLite and PostgreSQL: fair claiming across
//! tenants, leases that expire, fencing of lost leases, bounded retries.

mod common;

use std::sync::Arc;

use callscore::store::{self, CallStatus, ClaimedJob, NewCall, Store, Submitted};
use common::{Backend, TestDatabase};

both_backends!(
    one_tenants_backlog_does_not_hold_back_another,
    an_expired_lease_hands_the_job_to_another_worker,
    a_worker_that_lost_its_lease_stores_nothing,
    retries_are_bounded_and_keep_the_last_error,
    a_released_job_does_not_count_as_an_attempt,
    concurrent_workers_never_claim_the_same_job,
);

async fn open(database: &TestDatabase) -> Arc<dyn Store> {
    store::open(&database.url, 8).await.expect("store")
}

fn call(tenant: &str, index: usize) -> NewCall {
    NewCall {
        call_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        external_call_id: format!("ext-{index}"),
        agent_id: "rina".into(),
        team_id: "t".into(),
        queue: String::new(),
        call_started_at_ms: 1_700_000_000_000 + index as i64,
        language_hint: "en".into(),
        channel_layout: "mono".into(),
        rubric_id: String::new(),
        idempotency_key: None,
        audio_key: Some(format!("{tenant}/{index}.audio")),
        audio_bytes: 10,
        trace_context: String::new(),
    }
}

async fn submit(store: &dyn Store, tenant: &str, index: usize, max_attempts: i64) -> String {
    match store
        .submit_call(&call(tenant, index), max_attempts, 10_000)
        .await
        .expect("submit")
    {
        Submitted::Created(record) => record.call.call_id,
        Submitted::Duplicate(_) => panic!("no idempotency key, no duplicate"),
    }
}

async fn claim(store: &dyn Store, owner: &str, lease_ms: i64) -> ClaimedJob {
    store
        .claim_job(owner, lease_ms)
        .await
        .expect("claim")
        .expect("a job is waiting")
}

async fn one_tenants_backlog_does_not_hold_back_another(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    for tenant in ["busy", "quiet"] {
        store.ensure_tenant(tenant).await.expect("tenant");
    }
    for index in 0..200 {
        submit(store.as_ref(), "busy", index, 3).await;
    }
    let quiet_call = submit(store.as_ref(), "quiet", 0, 3).await;
    let first = claim(store.as_ref(), "w", 60_000).await;
    let second = claim(store.as_ref(), "w", 60_000).await;
    let tenants = [first.tenant_id.as_str(), second.tenant_id.as_str()];
    assert!(
        tenants.contains(&"quiet"),
        "quiet tenant served within two claims: {tenants:?}"
    );
    let quiet = if first.tenant_id == "quiet" {
        &first
    } else {
        &second
    };
    assert_eq!(quiet.call_id, quiet_call);
    // Within a tenant, oldest first.
    let busy = if first.tenant_id == "busy" {
        &first
    } else {
        &second
    };
    let oldest = store
        .get_call("busy", &busy.call_id)
        .await
        .expect("call")
        .call
        .external_call_id;
    assert_eq!(oldest, "ext-0");
}

async fn an_expired_lease_hands_the_job_to_another_worker(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    let call_id = submit(store.as_ref(), "t", 0, 3).await;
    // Long enough that a busy CI machine cannot let it lapse between the
    // two claims, short enough to wait out.
    let dead = claim(store.as_ref(), "dead-worker", 1_000).await;
    assert_eq!(dead.call_id, call_id);
    assert!(
        store
            .claim_job("other", 60_000)
            .await
            .expect("claim")
            .is_none(),
        "leased"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let taken = claim(store.as_ref(), "other", 60_000).await;
    assert_eq!(taken.call_id, call_id);
    assert_eq!(taken.attempts, 2);
    assert!(
        !store.renew_lease(&dead, 60_000).await.expect("renew"),
        "the dead lease is gone"
    );
    assert!(store.renew_lease(&taken, 60_000).await.expect("renew"));
}

async fn a_worker_that_lost_its_lease_stores_nothing(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    submit(store.as_ref(), "t", 0, 3).await;
    let slow = claim(store.as_ref(), "slow", 50).await;
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    let fast = claim(store.as_ref(), "fast", 60_000).await;
    let scorecard = |actor: &str| common::scored_card(&call("t", 0), &slow.call_id, actor);
    assert!(
        store
            .complete_job(&fast, "{}", &scorecard("fast"), None)
            .await
            .expect("fast completes")
    );
    assert!(
        !store
            .complete_job(&slow, "{}", &scorecard("slow"), None)
            .await
            .expect("slow is fenced")
    );
    let cards = store
        .list_scorecards("t", &Default::default(), None, 10)
        .await
        .expect("list");
    assert_eq!(cards.len(), 1, "exactly one scorecard");
    let record = store.get_call("t", &slow.call_id).await.expect("call");
    assert_eq!(record.status, CallStatus::Scored);
}

async fn retries_are_bounded_and_keep_the_last_error(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    let call_id = submit(store.as_ref(), "t", 0, 2).await;
    let first = claim(store.as_ref(), "w", 60_000).await;
    store
        .fail_attempt(&first, "model busy", false, 0)
        .await
        .expect("fail once");
    let record = store.get_call("t", &call_id).await.expect("call");
    assert_eq!(record.status, CallStatus::Queued);
    assert_eq!(record.failure_reason, "model busy");
    let second = claim(store.as_ref(), "w", 60_000).await;
    assert_eq!(second.attempts, 2);
    store
        .fail_attempt(&second, "model crashed", false, 0)
        .await
        .expect("fail twice");
    let record = store.get_call("t", &call_id).await.expect("call");
    assert_eq!(record.status, CallStatus::Failed);
    assert_eq!(record.failure_reason, "model crashed");
    assert_eq!(record.attempts, 2);
    assert!(store.claim_job("w", 60_000).await.expect("claim").is_none());

    // A job whose worker dies on its last attempt is failed, not retried forever.
    let lost = submit(store.as_ref(), "t", 1, 1).await;
    claim(store.as_ref(), "doomed", 20).await;
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert!(store.claim_job("w", 60_000).await.expect("claim").is_none());
    assert_eq!(store.fail_abandoned_jobs().await.expect("reap"), 1);
    let record = store.get_call("t", &lost).await.expect("call");
    assert_eq!(record.status, CallStatus::Failed);
    assert!(!record.failure_reason.is_empty());

    // A permanent error (bad audio) fails at once.
    let bad = submit(store.as_ref(), "t", 2, 3).await;
    let job = claim(store.as_ref(), "w", 60_000).await;
    store
        .fail_attempt(&job, "not audio", true, 0)
        .await
        .expect("fail");
    assert_eq!(
        store.get_call("t", &bad).await.expect("call").status,
        CallStatus::Failed
    );
}

async fn a_released_job_does_not_count_as_an_attempt(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    submit(store.as_ref(), "t", 0, 3).await;
    let job = claim(store.as_ref(), "stopping", 60_000).await;
    store.release_job(&job).await.expect("release");
    let again = claim(store.as_ref(), "next", 60_000).await;
    assert_eq!(again.attempts, 1);
}

async fn concurrent_workers_never_claim_the_same_job(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    for index in 0..40 {
        submit(store.as_ref(), "t", index, 3).await;
    }
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let store = store.clone();
        workers.spawn(async move {
            let mut claimed = Vec::new();
            while let Some(job) = store
                .claim_job(&format!("w{worker}"), 60_000)
                .await
                .expect("claim")
            {
                claimed.push(job.call_id);
            }
            claimed
        });
    }
    let mut all = Vec::new();
    while let Some(claimed) = workers.join_next().await {
        all.extend(claimed.expect("worker"));
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(count, 40, "every job claimed");
    assert_eq!(all.len(), 40, "none twice");
}
