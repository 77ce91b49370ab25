//! RubricService: validate, create, publish (immutable versions), read, list,
//! and choose the tenant's default.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{optional_id, required_id};
use super::paging::{decode_token, encode_token, page_size};
use super::status::{invalid, shown, text};
use super::timestamp;
use crate::auth::{Action, Principal};
use crate::proto::rubric_service_server::RubricService;
use crate::proto::{self as pb};
use crate::rubric::{Rubric, RubricError, parse_rubric};
use crate::store::{RubricRecord, RubricVersionRecord, Store, now_ms};

/// Documents larger than this are refused before parsing.
pub const MAX_RUBRIC_DOCUMENT_BYTES: usize = 1 << 20;

/// How many validation errors a rejected write lists in its status message.
const ERRORS_IN_MESSAGE: usize = 5;

/// The RubricService over a store.
#[derive(Clone)]
pub struct RubricApi {
    store: Arc<dyn Store>,
}

impl RubricApi {
    /// Serves rubrics from `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// Checks size and emptiness, then parses; `Err(errors)` carries every rubric error.
fn parse_document(document: &str) -> Result<Result<Rubric, Vec<RubricError>>, Status> {
    if document.trim().is_empty() {
        return Err(invalid("document", "is required"));
    }
    text("document", document)?;
    if document.len() > MAX_RUBRIC_DOCUMENT_BYTES {
        return Err(invalid(
            "document",
            format!("is larger than {MAX_RUBRIC_DOCUMENT_BYTES} bytes"),
        ));
    }
    Ok(parse_rubric(document))
}

/// `text` cut to at most `max_bytes` (at a character boundary), marked
/// with "..." when cut.
fn clipped(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Parses a document for storing: any rubric error is `INVALID_ARGUMENT`.
fn parse_for_write(document: &str) -> Result<Rubric, Status> {
    parse_document(document)?.map_err(|errors| {
        let listed: Vec<String> = errors
            .iter()
            .take(ERRORS_IN_MESSAGE)
            .map(|e| {
                // Paths and messages quote the document's own keys and
                // values: cut each short so the status stays small.
                format!(
                    "{}:{} {}: {}",
                    e.line,
                    e.column,
                    clipped(&e.path, 48),
                    clipped(&e.message, 120)
                )
            })
            .collect();
        let more = errors.len().saturating_sub(ERRORS_IN_MESSAGE);
        let suffix = if more > 0 {
            format!("; and {more} more (ValidateRubric lists them all)")
        } else {
            String::new()
        };
        invalid(
            "document",
            format!("{} error(s): {}{suffix}", errors.len(), listed.join("; ")),
        )
    })
}

fn version_record(rubric: &Rubric, document: &str) -> RubricVersionRecord {
    RubricVersionRecord {
        rubric_id: rubric.id().to_string(),
        version: rubric.version().to_string(),
        content_hash: rubric.content_hash(),
        document: document.to_string(),
        published_at_ms: now_ms(),
    }
}

fn rubric_to_proto(record: RubricRecord) -> pb::Rubric {
    pb::Rubric {
        latest_version: record.versions.last().cloned().unwrap_or_default(),
        rubric_id: record.rubric_id,
        name: record.name,
        versions: record.versions,
        is_default: record.is_default,
        created_at: Some(timestamp(record.created_at_ms)),
    }
}

fn version_to_proto(record: RubricVersionRecord) -> pb::RubricVersion {
    pb::RubricVersion {
        rubric_id: record.rubric_id,
        version: record.version,
        content_hash: record.content_hash,
        document: record.document,
        published_at: Some(timestamp(record.published_at_ms)),
    }
}

#[tonic::async_trait]
impl RubricService for RubricApi {
    async fn validate_rubric(
        &self,
        request: Request<pb::ValidateRubricRequest>,
    ) -> Result<Response<pb::ValidateRubricResponse>, Status> {
        Principal::of(&request)?.require(Action::ReadRubrics)?;
        let response = match parse_document(&request.get_ref().document)? {
            Ok(rubric) => pb::ValidateRubricResponse {
                valid: true,
                errors: Vec::new(),
                rubric_id: rubric.id().to_string(),
                version: rubric.version().to_string(),
                content_hash: rubric.content_hash(),
            },
            Err(errors) => pb::ValidateRubricResponse {
                valid: false,
                errors: errors
                    .into_iter()
                    .map(|e| pb::RubricValidationError {
                        line: e.line,
                        column: e.column,
                        path: e.path,
                        message: e.message,
                    })
                    .collect(),
                ..Default::default()
            },
        };
        Ok(Response::new(response))
    }

    async fn create_rubric(
        &self,
        request: Request<pb::CreateRubricRequest>,
    ) -> Result<Response<pb::CreateRubricResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageRubrics)?;
        let document = &request.get_ref().document;
        let rubric = parse_for_write(document)?;
        let version = version_record(&rubric, document);
        let record = self
            .store
            .create_rubric(&principal.tenant_id, &rubric.name, &version)
            .await?;
        Ok(Response::new(pb::CreateRubricResponse {
            rubric: Some(rubric_to_proto(record)),
            version: Some(version_to_proto(version)),
        }))
    }

    async fn publish_rubric_version(
        &self,
        request: Request<pb::PublishRubricVersionRequest>,
    ) -> Result<Response<pb::PublishRubricVersionResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageRubrics)?;
        let message = request.get_ref();
        let rubric_id = &required_id("rubric_id", &message.rubric_id)?;
        let rubric = parse_for_write(&message.document)?;
        if rubric.id() != rubric_id {
            return Err(invalid(
                "document",
                format!(
                    "its id {} differs from rubric_id {rubric_id:?}",
                    shown(rubric.id())
                ),
            ));
        }
        let tenant = &principal.tenant_id;
        let latest = self
            .store
            .get_rubric_version(tenant, rubric_id, None)
            .await?;
        let latest_number: u32 = latest.version.parse().unwrap_or(0);
        if latest.version == rubric.version().to_string() {
            return Err(Status::already_exists(format!(
                "rubric {rubric_id:?} version {} already exists; published versions never change",
                latest.version
            )));
        }
        if rubric.version() < latest_number {
            return Err(invalid(
                "document",
                format!(
                    "version {} is older than the latest published version {latest_number}",
                    rubric.version()
                ),
            ));
        }
        let version = version_record(&rubric, &message.document);
        let record = self.store.publish_rubric_version(tenant, &version).await?;
        Ok(Response::new(pb::PublishRubricVersionResponse {
            rubric: Some(rubric_to_proto(record)),
            version: Some(version_to_proto(version)),
        }))
    }

    async fn get_rubric(
        &self,
        request: Request<pb::GetRubricRequest>,
    ) -> Result<Response<pb::GetRubricResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadRubrics)?;
        let message = request.get_ref();
        let rubric_id = &required_id("rubric_id", &message.rubric_id)?;
        let version = optional_id("version", &message.version)?;
        let version = Some(version.as_str()).filter(|v| !v.is_empty());
        let tenant = &principal.tenant_id;
        let record = self.store.get_rubric(tenant, rubric_id).await?;
        let version = self
            .store
            .get_rubric_version(tenant, rubric_id, version)
            .await?;
        Ok(Response::new(pb::GetRubricResponse {
            rubric: Some(rubric_to_proto(record)),
            version: Some(version_to_proto(version)),
        }))
    }

    async fn list_rubrics(
        &self,
        request: Request<pb::ListRubricsRequest>,
    ) -> Result<Response<pb::ListRubricsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadRubrics)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let after = decode_token(&message.page_token)?;
        // One extra row tells whether another page exists.
        let mut rubrics = self
            .store
            .list_rubrics(&principal.tenant_id, after.as_deref(), limit + 1)
            .await?;
        let next_page_token = if rubrics.len() > limit as usize {
            rubrics.truncate(limit as usize);
            rubrics
                .last()
                .map(|last| encode_token(&last.rubric_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListRubricsResponse {
            rubrics: rubrics.into_iter().map(rubric_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn set_default_rubric(
        &self,
        request: Request<pb::SetDefaultRubricRequest>,
    ) -> Result<Response<pb::SetDefaultRubricResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageRubrics)?;
        let rubric_id = &required_id("rubric_id", &request.get_ref().rubric_id)?;
        let record = self
            .store
            .set_default_rubric(&principal.tenant_id, rubric_id)
            .await?;
        Ok(Response::new(pb::SetDefaultRubricResponse {
            rubric: Some(rubric_to_proto(record)),
        }))
    }
}
