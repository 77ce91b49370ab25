//! Tenant provisioning: a new tenant starts with the built-in bilingual
//! rubric as its default, stored as an ordinary versioned rubric so that
//! scorecards can name its exact version.

use crate::rubric::{default_rubric_source, parse_rubric};
use crate::store::{RubricVersionRecord, Store, StoreError, now_ms};

/// Creates the tenant if missing and gives it the built-in default rubric.
/// Idempotent: an existing tenant keeps its rubrics and default.
pub async fn provision_tenant(store: &dyn Store, tenant_id: &str) -> Result<(), StoreError> {
    store.ensure_tenant(tenant_id).await?;
    if store.default_rubric_id(tenant_id).await?.is_some() {
        return Ok(());
    }
    let source = default_rubric_source();
    let rubric = parse_rubric(source).map_err(|errors| {
        StoreError::Corrupt(format!("the built-in rubric is invalid: {errors:?}"))
    })?;
    let version = RubricVersionRecord {
        rubric_id: rubric.id().to_string(),
        version: rubric.version().to_string(),
        content_hash: rubric.content_hash(),
        document: source.to_string(),
        published_at_ms: now_ms(),
    };
    match store.create_rubric(tenant_id, &rubric.name, &version).await {
        Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
        Err(error) => return Err(error),
    }
    store.set_default_rubric(tenant_id, rubric.id()).await?;
    Ok(())
}
