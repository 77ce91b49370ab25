//! The store contract, run unchanged against a real SQLite file and a real
//! PostgreSQL database.

mod common;

use callscore::auth::Role;
use callscore::store::{self, ApiKeyRecord, RubricVersionRecord, Store, StoreError};
use common::{Backend, TestDatabase};

both_backends!(
    migrations_apply_twice_without_harm,
    tenants_are_created_once,
    api_keys_round_trip,
    rubric_versions_keep_their_order_and_content,
    every_read_is_scoped_by_tenant,
);

fn version(rubric_id: &str, version: &str, document: &str) -> RubricVersionRecord {
    RubricVersionRecord {
        rubric_id: rubric_id.into(),
        version: version.into(),
        content_hash: format!("hash-of-{document}"),
        document: document.into(),
        published_at_ms: 1_700_000_000_000,
    }
}

async fn open(database: &TestDatabase) -> std::sync::Arc<dyn Store> {
    store::open(&database.url, 4).await.expect("store opens")
}

async fn migrations_apply_twice_without_harm(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let first = open(&database).await;
    first.ensure_tenant("t").await.expect("tenant");
    drop(first);
    let second = open(&database).await;
    assert!(!second.ensure_tenant("t").await.expect("tenant"));
}

async fn tenants_are_created_once(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    assert!(store.ensure_tenant("t").await.expect("first"));
    assert!(!store.ensure_tenant("t").await.expect("second"));
    assert_eq!(store.default_rubric_id("t").await.expect("read"), None);
}

async fn api_keys_round_trip(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    let key = ApiKeyRecord {
        key_id: "0123456789abcdef".into(),
        tenant_id: "t".into(),
        role: Role::Reviewer,
        secret_sha256: "ab".repeat(32),
        label: "qa team".into(),
        revoked: false,
        expires_at_ms: None,
        last_used_at_ms: None,
        scope: Default::default(),
    };
    store.insert_api_key(&key).await.expect("insert");
    let found = store
        .find_api_key(&key.key_id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.tenant_id, "t");
    assert_eq!(found.role, Role::Reviewer);
    assert_eq!(found.secret_sha256, key.secret_sha256);
    assert!(!found.revoked);
    assert!(matches!(
        store.insert_api_key(&key).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(
        store
            .find_api_key("ffffffffffffffff")
            .await
            .expect("read")
            .is_none()
    );
}

async fn rubric_versions_keep_their_order_and_content(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    store.ensure_tenant("t").await.expect("tenant");
    store
        .create_rubric("t", "Sales", &version("sales", "1", "one"))
        .await
        .expect("create");
    for (number, document) in [("2", "two"), ("10", "ten")] {
        store
            .publish_rubric_version("t", &version("sales", number, document))
            .await
            .expect("publish");
    }
    let rubric = store.get_rubric("t", "sales").await.expect("get");
    assert_eq!(rubric.versions, vec!["1", "2", "10"]);
    assert_eq!(rubric.name, "Sales");
    let latest = store
        .get_rubric_version("t", "sales", None)
        .await
        .expect("latest");
    assert_eq!(
        (latest.version.as_str(), latest.document.as_str()),
        ("10", "ten")
    );
    let first = store
        .get_rubric_version("t", "sales", Some("1"))
        .await
        .expect("first");
    assert_eq!(first.document, "one");
    assert!(matches!(
        store
            .publish_rubric_version("t", &version("sales", "2", "changed"))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store
            .get_rubric_version("t", "sales", Some("2"))
            .await
            .expect("kept")
            .document,
        "two"
    );
    store
        .set_default_rubric("t", "sales")
        .await
        .expect("default");
    assert_eq!(
        store.default_rubric_id("t").await.expect("read").as_deref(),
        Some("sales")
    );
}

async fn every_read_is_scoped_by_tenant(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let store = open(&database).await;
    for tenant in ["a", "b"] {
        store.ensure_tenant(tenant).await.expect("tenant");
    }
    store
        .create_rubric("a", "A's", &version("shared-id", "1", "a-doc"))
        .await
        .expect("a");
    assert!(matches!(
        store.get_rubric("b", "shared-id").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_rubric_version("b", "shared-id", None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.set_default_rubric("b", "shared-id").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .list_rubrics("b", None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    store
        .create_rubric("b", "B's", &version("shared-id", "1", "b-doc"))
        .await
        .expect("same id in b");
    let a_doc = store
        .get_rubric_version("a", "shared-id", None)
        .await
        .expect("a's");
    assert_eq!(a_doc.document, "a-doc");
}
