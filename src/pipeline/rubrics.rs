//! Compiled rubrics, resolved per tenant and cached: a rubric version is
//! immutable, so it is parsed and compiled once per process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::rubric::{Rubric, parse_rubric};
use crate::scoring::CompiledRubric;
use crate::semantic::Encoder;
use crate::store::{Store, StoreError};

/// A rubric version ready to score with.
pub struct ResolvedRubric {
    /// The validated document.
    pub rubric: Rubric,
    /// Its compiled matchers.
    pub compiled: CompiledRubric,
}

/// Why a rubric could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RubricLookupError {
    /// The tenant has no default rubric and none was named.
    #[error("the tenant has no default rubric")]
    NoDefault,
    /// Storage failed or the rubric does not exist.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document no longer parses or compiles (should not happen).
    #[error("stored rubric {0} is unusable: {1}")]
    Unusable(String, String),
}

type CacheKey = (String, String, String);

/// Resolves and caches rubrics.
pub struct RubricCache {
    store: Arc<dyn Store>,
    encoder: Option<Arc<Encoder>>,
    compiled: Mutex<HashMap<CacheKey, Arc<ResolvedRubric>>>,
}

impl RubricCache {
    /// An empty cache over `store`; rubrics compile with `encoder` when given.
    pub fn new(store: Arc<dyn Store>, encoder: Option<Arc<Encoder>>) -> Self {
        Self {
            store,
            encoder,
            compiled: Mutex::new(HashMap::new()),
        }
    }

    /// The rubric to score with: `rubric_id` (empty: the tenant's default) at
    /// `version` (`None`: its latest).
    pub async fn resolve(
        &self,
        tenant_id: &str,
        rubric_id: &str,
        version: Option<&str>,
    ) -> Result<Arc<ResolvedRubric>, RubricLookupError> {
        let rubric_id = if rubric_id.is_empty() {
            self.store
                .default_rubric_id(tenant_id)
                .await?
                .ok_or(RubricLookupError::NoDefault)?
        } else {
            rubric_id.to_string()
        };
        let record = self
            .store
            .get_rubric_version(tenant_id, &rubric_id, version)
            .await?;
        let key = (tenant_id.to_string(), rubric_id, record.version.clone());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let name = format!("{} version {}", key.1, key.2);
        let rubric = parse_rubric(&record.document)
            .map_err(|errors| RubricLookupError::Unusable(name.clone(), format!("{errors:?}")))?;
        // Embedding a semantic check's exemplars takes a while: off the runtime.
        let encoder = self.encoder.clone();
        let (rubric, compiled) = tokio::task::spawn_blocking(move || {
            let compiled = CompiledRubric::compile_with(&rubric, encoder);
            (rubric, compiled)
        })
        .await
        .map_err(|error| RubricLookupError::Unusable(name.clone(), error.to_string()))?;
        let compiled =
            compiled.map_err(|error| RubricLookupError::Unusable(name, error.to_string()))?;
        let resolved = Arc::new(ResolvedRubric { rubric, compiled });
        self.lock().insert(key, resolved.clone());
        Ok(resolved)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<ResolvedRubric>>> {
        // A poisoned map still holds valid entries: each is inserted whole.
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
