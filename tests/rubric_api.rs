//! RubricService end to end over gRPC, on SQLite and PostgreSQL: lifecycle,
//! immutability, validation errors, roles and tenant isolation.

mod common;

use callscore::auth::Role;
use callscore::proto::{
    CreateRubricRequest, GetRubricRequest, ListRubricsRequest, PublishRubricVersionRequest,
    SetDefaultRubricRequest, ValidateRubricRequest,
};
use common::{Backend, rubric_document, spawn_app};
use tonic::Code;

both_backends!(
    a_new_tenant_starts_with_the_built_in_default,
    create_publish_and_read_versions,
    published_versions_are_immutable,
    validation_reports_every_error_with_its_position,
    bad_requests_name_the_field_and_store_nothing,
    list_pages_through_every_rubric,
    roles_are_enforced_on_every_rubric_rpc,
    tenants_never_see_each_others_rubrics,
);

async fn a_new_tenant_starts_with_the_built_in_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Coach).await;
    let mut client = app.rubrics(Some(&key)).await;
    let listed = client
        .list_rubrics(ListRubricsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.rubrics.len(), 1);
    let default = &listed.rubrics[0];
    assert_eq!(default.rubric_id, "default");
    assert!(default.is_default);
    assert_eq!(default.versions, vec!["2".to_string()]);
    let fetched = client
        .get_rubric(GetRubricRequest {
            rubric_id: "default".into(),
            version: String::new(),
        })
        .await
        .expect("get")
        .into_inner();
    let version = fetched.version.expect("version");
    assert_eq!(version.document, callscore::rubric::default_rubric_source());
    assert_eq!(version.content_hash.len(), 64);
    app.stop().await;
}

async fn create_publish_and_read_versions(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut client = app.rubrics(Some(&key)).await;
    let created = client
        .create_rubric(CreateRubricRequest {
            document: rubric_document("sales", 1),
        })
        .await
        .expect("create")
        .into_inner();
    let first = created.version.expect("version");
    assert_eq!(
        (first.rubric_id.as_str(), first.version.as_str()),
        ("sales", "1")
    );
    assert!(!created.rubric.expect("rubric").is_default);

    let second_document = rubric_document("sales", 2).replace("weight: 25", "weight: 30");
    let published = client
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "sales".into(),
            document: second_document.clone(),
        })
        .await
        .expect("publish")
        .into_inner();
    let rubric = published.rubric.expect("rubric");
    assert_eq!(rubric.versions, vec!["1".to_string(), "2".to_string()]);
    assert_eq!(rubric.latest_version, "2");

    let latest = client
        .get_rubric(GetRubricRequest {
            rubric_id: "sales".into(),
            version: String::new(),
        })
        .await
        .expect("latest")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(latest.version, "2");
    assert_eq!(latest.document, second_document);

    let default = client
        .set_default_rubric(SetDefaultRubricRequest {
            rubric_id: "sales".into(),
        })
        .await
        .expect("set default")
        .into_inner()
        .rubric
        .expect("rubric");
    assert!(default.is_default);
    let listed = client
        .list_rubrics(ListRubricsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let defaults: Vec<_> = listed
        .rubrics
        .iter()
        .filter(|r| r.is_default)
        .map(|r| r.rubric_id.as_str())
        .collect();
    assert_eq!(defaults, vec!["sales"]);
    app.stop().await;
}

async fn published_versions_are_immutable(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut client = app.rubrics(Some(&key)).await;
    client
        .create_rubric(CreateRubricRequest {
            document: rubric_document("sales", 3),
        })
        .await
        .expect("create");
    let original = client
        .get_rubric(GetRubricRequest {
            rubric_id: "sales".into(),
            version: "3".into(),
        })
        .await
        .expect("get")
        .into_inner()
        .version
        .expect("version");

    let changed_same_version = rubric_document("sales", 3).replace("weight: 25", "weight: 40");
    let status = client
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "sales".into(),
            document: changed_same_version,
        })
        .await
        .expect_err("same version refused");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let status = client
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "sales".into(),
            document: rubric_document("sales", 2),
        })
        .await
        .expect_err("older version refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("document"), "{status:?}");

    let status = client
        .create_rubric(CreateRubricRequest {
            document: rubric_document("sales", 9),
        })
        .await
        .expect_err("duplicate id refused");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let again = client
        .get_rubric(GetRubricRequest {
            rubric_id: "sales".into(),
            version: "3".into(),
        })
        .await
        .expect("get")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(again, original);
    app.stop().await;
}

async fn validation_reports_every_error_with_its_position(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Reviewer).await;
    let mut client = app.rubrics(Some(&key)).await;
    let good = client
        .validate_rubric(ValidateRubricRequest {
            document: rubric_document("ok", 4),
        })
        .await
        .expect("validate")
        .into_inner();
    assert!(good.valid, "{:?}", good.errors);
    assert_eq!(
        (good.rubric_id.as_str(), good.version.as_str()),
        ("ok", "4")
    );

    // Two independent mistakes: both must be reported, each where it is.
    let broken = rubric_document("broken", 1)
        .replacen("version: 1", "version: -1", 1)
        .replacen("weight: 25", "weight: heavy", 1);
    let report = client
        .validate_rubric(ValidateRubricRequest {
            document: broken.clone(),
        })
        .await
        .expect("validate")
        .into_inner();
    assert!(!report.valid);
    assert!(report.errors.len() >= 2, "{:?}", report.errors);
    let version_line = broken
        .lines()
        .position(|l| l.starts_with("version:"))
        .expect("version line") as u32
        + 1;
    let version_error = report
        .errors
        .iter()
        .find(|e| e.path == "version")
        .expect("version error");
    assert_eq!(version_error.line, version_line);
    assert!(version_error.column >= 1);
    assert!(
        report.errors.iter().any(|e| e.path.ends_with(".weight")),
        "{:?}",
        report.errors
    );
    app.stop().await;
}

async fn bad_requests_name_the_field_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut client = app.rubrics(Some(&key)).await;
    let cases = [
        (
            client
                .create_rubric(CreateRubricRequest {
                    document: "  ".into(),
                })
                .await,
            "document",
        ),
        (
            client
                .create_rubric(CreateRubricRequest {
                    document: rubric_document("bad", 1).replacen("weight: 25", "weight: 0", 1),
                })
                .await
                .map(|_| tonic::Response::new(Default::default())),
            "document",
        ),
    ];
    for (result, field) in cases {
        let status = result.expect_err("rejected");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }
    let status = client
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: String::new(),
            document: rubric_document("x", 2),
        })
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("rubric_id"), "{status:?}");
    let status = client
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "default".into(),
            document: rubric_document("other", 2),
        })
        .await
        .expect_err("id mismatch rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "ghost".into(),
            document: rubric_document("ghost", 2),
        })
        .await
        .expect_err("unknown rubric");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_rubric(GetRubricRequest {
            rubric_id: "default".into(),
            version: "99".into(),
        })
        .await
        .expect_err("unknown version");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .list_rubrics(ListRubricsRequest {
            page_size: -1,
            page_token: String::new(),
        })
        .await
        .expect_err("negative page size");
    assert!(status.message().starts_with("page_size"), "{status:?}");
    let status = client
        .list_rubrics(ListRubricsRequest {
            page_size: 1,
            page_token: "not-a-token".into(),
        })
        .await
        .expect_err("bad token");
    assert!(status.message().starts_with("page_token"), "{status:?}");
    let status = client
        .set_default_rubric(SetDefaultRubricRequest {
            rubric_id: "ghost".into(),
        })
        .await
        .expect_err("unknown rubric");
    assert_eq!(status.code(), Code::NotFound);

    // Nothing of the rejected requests was stored.
    let listed = client
        .list_rubrics(ListRubricsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = listed
        .rubrics
        .iter()
        .map(|r| r.rubric_id.as_str())
        .collect();
    assert_eq!(ids, vec!["default"]);
    assert_eq!(listed.rubrics[0].versions, vec!["2".to_string()]);
    assert!(listed.rubrics[0].is_default);
    app.stop().await;
}

async fn list_pages_through_every_rubric(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut client = app.rubrics(Some(&key)).await;
    for id in ["r1", "r2", "r3", "r4", "r5"] {
        client
            .create_rubric(CreateRubricRequest {
                document: rubric_document(id, 1),
            })
            .await
            .expect("create");
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_rubrics(ListRubricsRequest {
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        assert!(page.rubrics.len() <= 2);
        seen.extend(page.rubrics.into_iter().map(|r| r.rubric_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, vec!["default", "r1", "r2", "r3", "r4", "r5"]);
    app.stop().await;
}

async fn roles_are_enforced_on_every_rubric_rpc(backend: Backend) {
    let app = spawn_app(backend).await;
    for role in Role::ALL {
        let key = app.key("acme", role).await;
        let mut client = app.rubrics(Some(&key)).await;
        let reads = [
            client
                .validate_rubric(ValidateRubricRequest {
                    document: rubric_document("v", 1),
                })
                .await
                .map(|_| ()),
            client
                .get_rubric(GetRubricRequest {
                    rubric_id: "default".into(),
                    version: String::new(),
                })
                .await
                .map(|_| ()),
            client
                .list_rubrics(ListRubricsRequest::default())
                .await
                .map(|_| ()),
        ];
        let writes = [
            client
                .create_rubric(CreateRubricRequest {
                    document: rubric_document(&format!("by-{role}"), 1),
                })
                .await
                .map(|_| ()),
            client
                .publish_rubric_version(PublishRubricVersionRequest {
                    rubric_id: "default".into(),
                    document: rubric_document("default", 3 + role as u32),
                })
                .await
                .map(|_| ()),
            client
                .set_default_rubric(SetDefaultRubricRequest {
                    rubric_id: "default".into(),
                })
                .await
                .map(|_| ()),
        ];
        let may_read = role != Role::Ingest;
        for result in reads {
            match (may_read, result) {
                (true, Ok(())) => {}
                (false, Err(status)) => assert_eq!(status.code(), Code::PermissionDenied),
                (expected, other) => panic!("{role}: read allowed={expected}, got {other:?}"),
            }
        }
        let may_write = role == Role::Admin;
        for result in writes {
            match (may_write, result) {
                (true, Ok(())) => {}
                (false, Err(status)) => assert_eq!(status.code(), Code::PermissionDenied),
                (expected, other) => panic!("{role}: write allowed={expected}, got {other:?}"),
            }
        }
    }
    // Only the admin's writes landed.
    let key = app.key("acme", Role::Admin).await;
    let listed = app
        .rubrics(Some(&key))
        .await
        .list_rubrics(ListRubricsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = listed
        .rubrics
        .iter()
        .map(|r| r.rubric_id.as_str())
        .collect();
    assert_eq!(ids, vec!["by-admin", "default"]);
    app.stop().await;
}

async fn tenants_never_see_each_others_rubrics(backend: Backend) {
    let app = spawn_app(backend).await;
    let key_a = app.key("tenant-a", Role::Admin).await;
    let key_b = app.key("tenant-b", Role::Admin).await;
    let mut a = app.rubrics(Some(&key_a)).await;
    let mut b = app.rubrics(Some(&key_b)).await;
    a.create_rubric(CreateRubricRequest {
        document: rubric_document("secret", 1),
    })
    .await
    .expect("a creates");

    let status = b
        .get_rubric(GetRubricRequest {
            rubric_id: "secret".into(),
            version: String::new(),
        })
        .await
        .expect_err("b cannot read a's rubric");
    assert_eq!(status.code(), Code::NotFound);
    let status = b
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "secret".into(),
            document: rubric_document("secret", 2),
        })
        .await
        .expect_err("b cannot publish to a's rubric");
    assert_eq!(status.code(), Code::NotFound);
    let status = b
        .set_default_rubric(SetDefaultRubricRequest {
            rubric_id: "secret".into(),
        })
        .await
        .expect_err("b cannot default to a's rubric");
    assert_eq!(status.code(), Code::NotFound);
    let b_ids: Vec<String> = b
        .list_rubrics(ListRubricsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .rubrics
        .into_iter()
        .map(|r| r.rubric_id)
        .collect();
    assert_eq!(b_ids, vec!["default"]);

    // The same id in another tenant is another rubric.
    b.create_rubric(CreateRubricRequest {
        document: rubric_document("secret", 7),
    })
    .await
    .expect("b creates its own");
    let a_versions = a
        .get_rubric(GetRubricRequest {
            rubric_id: "secret".into(),
            version: String::new(),
        })
        .await
        .expect("a reads")
        .into_inner()
        .rubric
        .expect("rubric")
        .versions;
    assert_eq!(a_versions, vec!["1".to_string()]);
    app.stop().await;
}
