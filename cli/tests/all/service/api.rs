//! The API as a newcomer with curl meets it, and who may do what.

use reqwest::Method;
use serde_json::{Value, json};
use zoom_sandbox::{Fault, Match};

use super::Served;

#[tokio::test]
async fn a_newcomer_runs_actions_reads_them_back_and_replays_one() {
    let s = Served::start(&[]);
    let token = s.token("playbooks", &[]);
    assert!(token.starts_with("soar_"), "{token}");

    let health = s.request(Method::GET, "/v1/health", None, &[], None).await;
    assert_eq!(health.body["status"], "ok", "{health:?}");

    let plugins = s.get("/v1/plugins", &token).await;
    assert_eq!(plugins.status, 200, "{plugins:?}");
    let zoom = &plugins.body.as_array().unwrap()[0];
    assert_eq!(zoom["name"], "zoom");
    assert_eq!(zoom["resources"], json!(["zoom"]));
    let manifest = s.get("/v1/plugins/zoom", &token).await;
    let get_user = manifest.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "get_user")
        .expect("get_user in the manifest");
    assert_eq!(get_user["params_schema"]["type"], "object");

    let test = s.post("/v1/resources/zoom/test", &token, json!({})).await;
    assert_eq!(test.body["ok"], true, "{test:?}");
    assert!(
        test.body["readiness"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "get_user" && r["ready"] == true),
        "{test:?}"
    );

    // Synchronous: the finished execution.
    let run = s
        .post(
            "/v1/resources/zoom/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(run.status, 200, "{run:?}");
    assert_eq!(run.body["status"], "succeeded");
    assert_eq!(run.body["data"]["email"], s.env.sandbox.owner()["email"]);
    assert_eq!(run.body["token"], "playbooks");
    let sync_id = run.body["id"].as_str().unwrap().to_owned();
    assert!(run.body["timings"]["total_ms"].is_i64(), "{run:?}");

    // Asynchronous: 202, its URL, then the result there.
    let accepted = s
        .request(
            Method::POST,
            "/v1/resources/zoom/actions/list_users",
            Some(&token),
            &[("Prefer", "respond-async")],
            Some(json!({"limit": 5}).to_string()),
        )
        .await;
    assert_eq!(accepted.status, 202, "{accepted:?}");
    let async_id = accepted.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        accepted.header("location"),
        Some(format!("/v1/executions/{async_id}").as_str())
    );
    let listed = s
        .until(&async_id, &token, |e| {
            e["status"] != "queued" && e["status"] != "running"
        })
        .await;
    assert_eq!(listed["status"], "succeeded", "{listed:#}");
    assert_eq!(listed["data"]["users"].as_array().unwrap().len(), 5);

    let page = s.get("/v1/executions", &token).await;
    let ids: Vec<&str> = page.body["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [async_id.as_str(), sync_id.as_str()], "newest first");
    let filtered = s
        .get("/v1/executions?action=get_user&status=succeeded", &token)
        .await;
    assert_eq!(filtered.body["executions"].as_array().unwrap().len(), 1);
    let unknown = s.get("/v1/executions?status=done", &token).await;
    assert_eq!(unknown.status, 422, "{unknown:?}");
    assert_eq!(unknown.body["type"], "urn:soar-host:problem:invalid-input");
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap()
            .contains("succeeded"),
        "names the statuses: {unknown:?}"
    );

    // Replay: the same key and request answer the first run; Zoom sees nothing.
    let keyed = |body: Value| {
        s.request(
            Method::POST,
            "/v1/resources/zoom/actions/get_user",
            Some(&token),
            &[("Idempotency-Key", "incident-42-step-1")],
            Some(body.to_string()),
        )
    };
    let first = keyed(json!({"user_id": "me"})).await;
    assert_eq!(first.body["status"], "succeeded");
    s.env.sandbox.clear_requests();
    let again = keyed(json!({"user_id": "me"})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["data"], first.body["data"]);
    let other = keyed(json!({"user_id": "someone@example.com"})).await;
    assert_eq!(other.status, 422, "{other:?}");
    assert_eq!(
        other.body["type"],
        "urn:soar-host:problem:idempotency-mismatch"
    );
    assert!(
        s.env.sandbox.requests().is_empty(),
        "a replay reached Zoom: {:?}",
        s.env.sandbox.requests()
    );
}

#[tokio::test]
async fn tokens_decide_who_sees_and_runs_what() {
    let s = Served::start(&[]);
    // A second resource, which a limited token must not see.
    std::fs::copy(
        s.resources_dir().join("zoom.toml"),
        s.resources_dir().join("zoom-eu.toml"),
    )
    .unwrap();
    let admin = s.token("admin", &[]);
    s.reload(&admin, 2).await;
    let enrich = s.token("enricher", &["--kind", "enrichment", "--resource", "zoom"]);

    let none = s
        .request(Method::GET, "/v1/resources", None, &[], None)
        .await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(none.body["type"], "urn:soar-host:problem:unauthorized");
    let forged = s.get("/v1/resources", &format!("{enrich}x")).await;
    assert_eq!(forged.status, 401);

    let seen = s.get("/v1/resources", &enrich).await;
    assert_eq!(
        seen.body["resources"].as_array().unwrap().len(),
        1,
        "{seen:?}"
    );
    let other = s.get("/v1/resources/zoom-eu", &enrich).await;
    assert_eq!(other.status, 403, "{other:?}");

    s.env.sandbox.clear_requests();
    let meeting = s.env.sandbox.meeting_ids("me")[0];
    let contain = s
        .post(
            "/v1/resources/zoom/actions/delete_meeting",
            &enrich,
            json!({"meeting_id": meeting}),
        )
        .await;
    assert_eq!(contain.status, 403, "{contain:?}");
    // Told it may not, before anything about its params.
    let bad = s
        .post(
            "/v1/resources/zoom/actions/delete_meeting",
            &enrich,
            json!({"meeting_id": "not a number"}),
        )
        .await;
    assert_eq!(bad.status, 403, "{bad:?}");
    assert!(
        contain.body["detail"]
            .as_str()
            .unwrap()
            .contains("containment")
    );
    assert!(s.env.sandbox.requests().is_empty());
    assert!(s.env.sandbox.meeting(meeting).is_some());
    let enriched = s
        .post(
            "/v1/resources/zoom/actions/get_user",
            &enrich,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(enriched.body["status"], "succeeded", "{enriched:?}");

    // The audit trail: who ran what; a limited token sees its resource's only.
    let admin_run = s
        .post(
            "/v1/resources/zoom-eu/actions/get_user",
            &admin,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(admin_run.body["token"], "admin");
    let visible = s.get("/v1/executions", &enrich).await;
    let runs = visible.body["executions"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{visible:?}");
    assert_eq!(runs[0]["token"], "enricher");
    let hidden = s
        .get(
            &format!("/v1/executions/{}", admin_run.body["id"].as_str().unwrap()),
            &enrich,
        )
        .await;
    assert_eq!(hidden.status, 404);

    // Revoked: refused from the next request.
    let out = s.token_cli(&["revoke", "enricher"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(s.get("/v1/resources", &enrich).await.status, 401);
    let listed = s.token_cli(&["list", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[1]["name"], "enricher");
    assert_eq!(listed[1]["revoked"], true);
    assert!(!String::from_utf8_lossy(&s.token_cli(&["list"]).stdout).contains("soar_"));
}

#[tokio::test]
async fn bad_params_are_refused_with_their_path_and_nothing_runs() {
    let s = Served::start(&[]);
    let token = s.token("t", &[]);
    s.env.sandbox.clear_requests();
    for (action, body, slug, status) in [
        (
            "get_user",
            json!({"user_id": "me", "bogus": 1}),
            "invalid-input",
            422,
        ),
        (
            "update_user_settings",
            json!({"user_id": "me", "settings": {"in_meeting": {"chat": "sometimes"}}}),
            "invalid-input",
            422,
        ),
        ("get_user", json!([1, 2]), "invalid-input", 422),
        ("no_such_action", json!({}), "unknown-action", 404),
    ] {
        let answer = s
            .post(
                &format!("/v1/resources/zoom/actions/{action}"),
                &token,
                body,
            )
            .await;
        assert_eq!(answer.status, status, "{answer:?}");
        assert_eq!(answer.body["type"], format!("urn:soar-host:problem:{slug}"));
    }
    let nested = s
        .post(
            "/v1/resources/zoom/actions/update_user_settings",
            &token,
            json!({"user_id": "me", "settings": {"in_meeting": {"chat": "sometimes"}}}),
        )
        .await;
    assert!(
        nested.body["detail"]
            .as_str()
            .unwrap()
            .contains("settings.in_meeting.chat"),
        "{nested:?}"
    );
    let unknown = s
        .post("/v1/resources/nowhere/actions/get_user", &token, json!({}))
        .await;
    assert_eq!(unknown.status, 404);
    assert!(s.env.sandbox.requests().is_empty());
    let page = s.get("/v1/executions", &token).await;
    assert_eq!(
        page.body["executions"],
        json!([]),
        "rejected requests made runs"
    );
}

#[tokio::test]
async fn no_secret_in_resources_answers_or_logs() {
    let s = Served::start(&[]);
    // A resource holding its client secret literally (discouraged, allowed).
    let secret = s.env.secret();
    let text = s
        .env
        .resource_toml(
            "Literal",
            &format!("webhook_secret_token = \"{}\"\n", super::WEBHOOK_SECRET),
        )
        .replace(
            &format!(
                "client_secret = {{ env = \"{}\" }}",
                crate::common::SECRET_VAR
            ),
            &format!("client_secret = \"{secret}\""),
        );
    std::fs::write(s.resources_dir().join("literal.toml"), text).unwrap();
    let token = s.token("t", &[]);
    s.reload(&token, 2).await;
    let shown = s.get("/v1/resources/literal", &token).await;
    assert_eq!(
        shown.body["config"]["client_secret"], "********",
        "{shown:?}"
    );
    assert_eq!(shown.body["config"]["webhook_secret_token"], "********");
    let env_shown = s.get("/v1/resources/zoom", &token).await;
    assert_eq!(
        env_shown.body["config"]["client_secret"],
        json!({"env": crate::common::SECRET_VAR})
    );
    let run = s
        .post(
            "/v1/resources/literal/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(run.body["status"], "succeeded", "{run:?}");
    // A failing run's error, too.
    s.env
        .sandbox
        .inject(Fault::Status(404), Match::path("/v2/users/"), 1);
    let failed = s
        .post(
            "/v1/resources/literal/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(failed.body["status"], "failed", "{failed:?}");
    let everything = format!(
        "{shown:?}{env_shown:?}{run:?}{failed:?}{}{}",
        s.get("/v1/executions", &token).await.body,
        s.log_text()
    );
    for secret in [secret.as_str(), super::WEBHOOK_SECRET, token.as_str()] {
        assert!(!everything.contains(secret), "`{secret}` shown");
    }
    // The JSON log has the request id on every line of a request.
    let line = s
        .log_text()
        .lines()
        .find(|l| l.contains("\"answered\""))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .expect("a request was logged");
    assert!(line["span"]["id"].is_string(), "{line}");
}

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let s = Served::start(&[]);
    let doc = s
        .request(Method::GET, "/v1/openapi.json", None, &[], None)
        .await
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/metrics",
            "/v1/auth/callback",
            "/v1/events",
            "/v1/events/stream",
            "/v1/executions",
            "/v1/executions/{id}",
            "/v1/health",
            "/v1/openapi.json",
            "/v1/playbook-runs",
            "/v1/playbook-runs/{id}",
            "/v1/playbook-runs/{id}/cancel",
            "/v1/playbook-runs/{id}/rerun",
            "/v1/playbooks",
            "/v1/playbooks/{name}/runs",
            "/v1/plugins",
            "/v1/plugins/{name}",
            "/v1/resources",
            "/v1/resources/{name}",
            "/v1/resources/{name}/actions/{action}",
            "/v1/resources/{name}/auth/login",
            "/v1/resources/{name}/test",
            "/v1/webhooks/{resource}",
        ]
    );
    // The wire vocabulary is documented as the host defines it.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ExecutionStatus"]["enum"],
        serde_json::json!(["queued", "running", "succeeded", "failed", "interrupted"]),
        "{schemas}"
    );
    let kinds = schemas["ErrorKind"]["enum"].as_array().expect("ErrorKind");
    assert!(kinds.contains(&"rate-limited".into()) && kinds.contains(&"interrupted".into()));
    assert!(schemas["ErrorReport"]["properties"]["upstream_code"].is_object());
    assert_eq!(
        schemas["RunStatus"]["enum"],
        serde_json::json!(["queued", "running", "succeeded", "failed", "cancelled"]),
        "{schemas}"
    );
    assert!(
        schemas["StepStatus"]["enum"]
            .as_array()
            .unwrap()
            .contains(&"unknown".into())
    );
    assert!(
        schemas["RunRecord"]["properties"]["steps"].is_object(),
        "{schemas}"
    );
    // Every route the document names answers (none is 404 "no such route").
    let token = s.token("t", &[]);
    for path in &paths {
        let concrete = path
            .replace("{id}", "ex_unknown")
            .replace("{name}", "zoom")
            .replace("{action}", "get_user")
            .replace("{resource}", "zoom");
        let method = doc["paths"][path]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .to_uppercase();
        if concrete.ends_with("/stream") {
            continue;
        }
        let answer = s
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                Some(&token),
                &[],
                Some("{}".into()),
            )
            .await;
        assert_ne!(
            answer.body["detail"], "no such route; see /v1/openapi.json",
            "{method} {concrete}"
        );
    }
    assert!(doc["components"]["schemas"]["Execution"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
