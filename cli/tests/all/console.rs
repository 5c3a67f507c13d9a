//! The web console in a real browser: Debian's Chromium, headless, driven
//! over WebDriver (chromedriver) by fantoccini, against `soar-host serve` on
//! loopback and the Zoom sandbox behind it. Chromium and chromedriver are
//! installed from Debian's packages when absent (the tests run as root on
//! these machines); a test never skips for want of them.
//!
//! Besides, over plain HTTP: what a forged or cross-site POST gets, and the
//! headers every page carries.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use zoom_sandbox::{Fault, Match};

use crate::service::{Served, webhooks};

/// Chromium's flags on these machines: headless, no sandbox (root), and
/// nothing that reaches for the network on its own.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// Installs Chromium and chromedriver once per test process when absent.
fn ensure_chromium() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if *done {
        return;
    }
    let present = || {
        std::path::Path::new("/usr/bin/chromium").exists()
            && std::path::Path::new("/usr/bin/chromedriver").exists()
    };
    if !present() {
        eprintln!("console tests: installing chromium and chromium-driver (apt-get)");
        let apt = |args: &[&str]| {
            let out = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
                .unwrap_or_else(|e| panic!("apt-get cannot run ({e}): the console's tests need Debian's chromium and chromium-driver; install them as root"));
            assert!(
                out.status.success(),
                "apt-get {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        apt(&["update", "-q"]);
        apt(&["install", "-y", "-q", "chromium", "chromium-driver"]);
        assert!(present(), "chromium and chromedriver are still missing");
    }
    *done = true;
}

/// A chromedriver process and one headless Chromium session through it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        ensure_chromium();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.ok();
                let source = self.client.source().await.unwrap_or_default();
                panic!("no `{css}` on the page ({e}) at {url:?}:\n{source}")
            }
        }
    }

    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Wait until the page's text holds `needle`.
    pub async fn until_text(&self, css: &str, needle: &str) -> String {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < until,
                "`{css}` never showed {needle:?}; it shows: {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page as a PNG in the tests' screenshot folder (and in
    /// docs/screenshots with SOAR_HOST_UPDATE_SCREENSHOTS=1, for the README).
    pub async fn screenshot(&self, name: &str) {
        // The whole page: the window as tall as the document, for the shot.
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(900)
            .clamp(600, 3000) as u32;
        self.client.set_window_size(1280, height).await.unwrap();
        self.client
            .execute("window.scrollTo(0, 0);", vec![])
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        self.client.set_window_size(1280, 900).await.unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        if std::env::var_os("SOAR_HOST_UPDATE_SCREENSHOTS").is_some() {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// What a screen-reader or keyboard user needs of every page: a
    /// language, one `main`, one `h1`, headings that do not skip a level,
    /// a label for every visible field, a name for every button.
    pub async fn assert_accessible(&self) {
        let found = self
            .client
            .execute(
                r#"const problems = [];
                if (!document.documentElement.lang) problems.push("no lang");
                if (document.querySelectorAll("main").length !== 1) problems.push("not one main");
                if (document.querySelectorAll("h1").length !== 1) problems.push("not one h1");
                let last = 0;
                for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
                  const level = Number(h.tagName[1]);
                  if (level > last + 1) problems.push("heading skips to " + h.tagName + ": " + h.textContent.trim());
                  last = level;
                }
                for (const f of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
                  const labelled = (f.id && document.querySelector("label[for='" + f.id + "']")) || f.getAttribute("aria-label") || f.getAttribute("aria-labelledby");
                  if (!labelled) problems.push("unlabelled field " + (f.name || f.id));
                }
                for (const b of document.querySelectorAll("button, a[href]")) {
                  if (!(b.textContent.trim() || b.getAttribute("aria-label"))) problems.push("unnamed " + b.outerHTML);
                }
                return problems;"#,
                vec![],
            )
            .await
            .unwrap();
        let path = self.path().await;
        assert_eq!(found, json!([]), "accessibility of {path}");
    }

    pub async fn sign_in(&self, url: &str, token: &str) {
        self.goto(&format!("{url}/")).await;
        self.fill("#token", token).await;
        self.click("form[action='/sign-in'] button").await;
        self.find("header.top .who").await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Closes the browser session (chromium exits) before the driver goes.
async fn close(browser: Browser) {
    let Browser { client, .. } = &browser;
    let _ = client.clone().close().await;
}

fn api_calls(s: &Served, method: &str, path: &str) -> usize {
    s.env
        .sandbox
        .api_requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

/// A new user's path: sign in (a wrong token first), the resource list,
/// Test with its per-action table, `get_user` from its generated form,
/// the execution appearing in the open list without a reload, a
/// containment action that runs only once confirmed — setting a user's
/// name to markup that then shows as text on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_signs_in_tests_runs_actions_and_watches_executions() {
    let s = Served::start(&[]);
    let token = s.token("alice", &[]);
    let b = Browser::start().await;
    let url = &s.url;

    // Signed out, any page leads to the sign-in page, and back after.
    b.goto(&format!("{url}/executions")).await;
    assert_eq!(b.path().await, "/sign-in");
    b.assert_accessible().await;
    b.fill("#token", "soar_000000000000_not-a-token").await;
    b.click("form[action='/sign-in'] button").await;
    let error = b.text("#sign-in-error").await;
    assert!(error.contains("not valid"), "{error}");
    assert!(!b.has("header.top .who").await, "not signed in");
    b.fill("#token", &token).await;
    b.click("form[action='/sign-in'] button").await;
    b.find("#executions").await;
    assert_eq!(b.path().await, "/executions", "back where it was going");

    // Resources, then Test: the per-action table.
    b.goto(&format!("{url}/resources")).await;
    let list = b.text("main table").await;
    assert!(
        list.contains("zoom") && list.contains("never tested"),
        "{list}"
    );
    b.screenshot("resources").await;
    b.assert_accessible().await;
    b.click("main table a[href='/resources/zoom']").await;
    let settings = b.text("main table").await;
    assert!(settings.contains("client_secret"), "{settings}");
    b.click("form[action='/resources/zoom/test'] button").await;
    let readiness = b.until_text("#readiness", "get_user").await;
    assert!(readiness.contains("ready"), "{readiness}");
    assert!(b.text("#test-report").await.contains("Test passed"));
    b.screenshot("resource-test").await;
    b.assert_accessible().await;
    b.goto(&format!("{url}/resources")).await;
    assert!(b.text("main table").await.contains("passed"));

    // The executions list, open; a run elsewhere appears in it without a
    // reload (a marker set on this page survives).
    b.goto(&format!("{url}/executions")).await;
    b.client
        .execute("window.stillHere = 'yes';", vec![])
        .await
        .unwrap();
    // Give the live stream a moment to connect.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let run = s
        .post("/v1/resources/zoom/actions/list_users", &token, json!({}))
        .await;
    assert_eq!(run.status, 200, "{run:?}");
    let id = run.body["id"].as_str().unwrap().to_owned();
    b.until_text("#execution-rows", &id).await;
    let marker = b
        .client
        .execute("return window.stillHere || 'reloaded';", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("yes"), "the page was not reloaded");

    b.assert_accessible().await;

    // get_user from its generated form, from the keyboard (Enter submits).
    b.goto(&format!("{url}/resources/zoom/actions")).await;
    b.assert_accessible().await;
    b.click("a[href='/resources/zoom/actions/get_user']").await;
    b.assert_accessible().await;
    assert!(
        b.text("label[for='p-user_id']").await.contains("required"),
        "required fields are marked"
    );
    b.fill("#p-user_id", "me").await;
    b.find("#p-user_id")
        .await
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    let result = b.until_text("#result", "succeeded").await;
    let owner = s.env.sandbox.owner();
    let email = owner["email"].as_str().unwrap();
    assert!(result.contains(email), "{result}");
    assert!(b.has("#result button.copy").await, "a copy button");
    b.screenshot("action-result").await;
    b.assert_accessible().await;
    let me = s.get("/v1/executions?action=get_user", &token).await.body["executions"][0].clone();
    assert_eq!(me["token"], "alice", "run as the signed-in token: {me}");
    assert_eq!(me["params"], json!({"user_id": "me"}));

    // A required field left empty: said beside it, nothing sent.
    let before = s.env.sandbox.api_requests().len();
    b.goto(&format!("{url}/resources/zoom/actions/get_user"))
        .await;
    b.click("form.run button[type=submit]").await;
    let said = b.text("#p-user_id-error").await;
    assert!(said.contains("user_id"), "{said}");
    assert_eq!(s.env.sandbox.api_requests().len(), before, "nothing sent");

    // A containment action: refused until confirmed, then run. The name
    // is markup; it stays text.
    let user_id = owner["id"].as_str().unwrap().to_owned();
    let payload = "<img src=x onerror=\"window.owned=1\">";
    b.goto(&format!("{url}/resources/zoom/actions/update_user"))
        .await;
    assert!(b.text("h1").await.contains("containment"));
    b.fill("#p-user_id", &user_id).await;
    b.fill("#p-first_name", payload).await;
    b.click("form.run button[type=submit]").await;
    let refused = b.text("#form-error").await;
    assert!(refused.contains("confirmation"), "{refused}");
    assert_eq!(api_calls(&s, "PATCH", &format!("/v2/users/{user_id}")), 0);
    b.click("#confirm").await;
    b.click("form.run button[type=submit]").await;
    b.until_text("#result", "succeeded").await;
    assert_eq!(api_calls(&s, "PATCH", &format!("/v2/users/{user_id}")), 1);
    assert_eq!(s.env.sandbox.user(&user_id).unwrap()["first_name"], payload);

    // The name shown: as text in the result and the execution's page.
    b.goto(&format!("{url}/resources/zoom/actions/get_user"))
        .await;
    b.fill("#p-user_id", &user_id).await;
    b.click("form.run button[type=submit]").await;
    let shown = b.until_text("#result", "succeeded").await;
    assert!(
        shown.contains(payload),
        "the markup is shown as text: {shown}"
    );
    assert!(!b.has("#result img").await, "no element made of it");
    let link = b.find("#result a[href^='/executions/']").await;
    link.click().await.unwrap();
    b.until_text("main", payload).await;
    assert!(!b.has("main img").await);
    let owned = b
        .client
        .execute("return window.owned || 'no';", vec![])
        .await
        .unwrap();
    assert_eq!(owned, json!("no"), "the payload never ran");
    b.screenshot("execution").await;
    b.assert_accessible().await;
    close(b).await;
}

/// Tokens from the console: created (shown once), a read-only one that
/// sees and cannot run, revoked (its session ends); and an event whose
/// payload is markup, shown as text in the list and the viewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_made_and_revoked_and_read_only_changes_nothing() {
    let s = Served::start(&[]);
    let admin = s.token("admin", &[]);
    let b = Browser::start().await;
    let url = &s.url;
    b.sign_in(url, &admin).await;

    // An event arrives while the list is open.
    b.goto(&format!("{url}/events")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let event = json!({
        "event": "user.updated",
        "event_ts": crate::common::signing::now_secs() * 1000,
        "payload": {"account_id": "acc", "object": {"id": "u1", "first_name": "<script>window.owned=1</script>"}}
    });
    assert_eq!(
        webhooks::deliver(&s, "user.updated", Some(&event))
            .await
            .status,
        200
    );
    b.until_text("#event-rows", "user.updated").await;
    b.click("#event-rows a").await;
    b.until_text("main", "<script>window.owned=1</script>")
        .await;
    assert!(!b.has("main script").await);
    b.screenshot("event").await;
    b.assert_accessible().await;

    // A read-only token, created here; its text shown once.
    b.goto(&format!("{url}/tokens")).await;
    b.fill("#token-name", "auditor").await;
    b.click("#read-only").await;
    b.click("form[action='/tokens'] button[type=submit]").await;
    let auditor = b.text("#new-token").await;
    assert!(auditor.starts_with("soar_"), "{auditor}");
    b.screenshot("tokens").await;
    b.assert_accessible().await;
    b.goto(&format!("{url}/tokens")).await;
    assert!(!b.text("main").await.contains(&auditor), "shown once");
    assert!(b.text("#tokens").await.contains("read-only"));
    // Over the API too: it reads, it runs nothing.
    let calls = s.env.sandbox.api_requests().len();
    let run = s
        .post(
            "/v1/resources/zoom/actions/get_user",
            &auditor,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(run.status, 403, "{run:?}");
    assert!(run.body["detail"].as_str().unwrap().contains("read-only"));
    assert_eq!(s.get("/v1/executions", &auditor).await.status, 200);
    assert_eq!(s.env.sandbox.api_requests().len(), calls, "nothing sent");

    // Signed in as the auditor: sees, cannot run.
    b.click("header.top .who button").await;
    b.find("#token").await;
    b.sign_in(url, &auditor).await;
    b.goto(&format!("{url}/resources/zoom/actions/update_user"))
        .await;
    assert!(!b.has("form.run").await, "no form to run");
    assert!(b.text("main").await.contains("read-only"));
    assert!(!b.has("nav a[href='/tokens']").await, "no token management");
    let before = s.env.sandbox.api_requests().len();
    // The form posted anyway, with the session's own form token: refused.
    let posted = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const csrf = document.querySelector("input[name=csrf]").value;
               fetch("/resources/zoom/actions/get_user", {method: "POST",
                 headers: {"Content-Type": "application/x-www-form-urlencoded"},
                 body: "csrf=" + encodeURIComponent(csrf) + "&user_id=me"})
               .then(r => r.text().then(t => done([r.status, t])));"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(posted[0], 422, "{posted}");
    assert!(
        posted[1].as_str().unwrap().contains("read-only"),
        "{posted}"
    );
    assert_eq!(s.env.sandbox.api_requests().len(), before, "nothing ran");

    // The admin revokes the auditor: the auditor's session ends.
    let other = Browser::start().await;
    other.sign_in(url, &admin).await;
    other.goto(&format!("{url}/tokens")).await;
    other
        .click("form[action='/tokens/auditor/revoke'] button")
        .await;
    other.until_text("#tokens", "revoked").await;
    b.goto(&format!("{url}/executions")).await;
    assert_eq!(
        b.path().await,
        "/sign-in",
        "the revoked token's session ended"
    );
    close(other).await;
    close(b).await;
}

/// A resource added from the console's form, saved (checked first: a bad
/// name or URL is said beside its field and writes nothing), tested, then
/// edited with its secret left empty (kept), the previous file backed up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_is_added_saved_tested_and_edited_without_resending_its_secret() {
    let s = Served::start(&[]);
    let admin = s.token("admin", &[]);
    let b = Browser::start().await;
    let url = &s.url;
    b.sign_in(url, &admin).await;
    let sandbox = s.env.sandbox.url();
    let config = s.env.sandbox.config().clone();
    let secret = s.env.secret();

    b.goto(&format!("{url}/resources")).await;
    b.click("a[href='/resources/new']").await;
    b.fill("#r-name", "bad name!").await;
    b.fill("#r-label", "Zoom two").await;
    b.fill("#c-api_url", "ftp://nowhere").await;
    b.click("form.stack button[type=submit]").await;
    let said = b.text("#r-name-error").await;
    assert!(said.contains("not a resource name"), "{said}");
    assert_eq!(
        b.find("#r-label")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Zoom two"),
        "kept"
    );

    b.fill("#r-name", "zoom-two").await;
    b.click("form.stack button[type=submit]").await;
    let said = b.text("#c-api_url-error").await;
    assert!(said.contains("api_url"), "{said}");
    let file = s.resources_dir().join("zoom-two.toml");
    assert!(!file.exists(), "nothing written");

    b.fill("#c-api_url", &sandbox).await;
    b.fill("#c-oauth_token_url", &sandbox).await;
    b.fill("#c-client_id", &config.client_id).await;
    b.fill("#c-client_secret", &secret).await;
    b.fill("#c-account_id", &config.account_id).await;
    b.screenshot("resource-form").await;
    b.assert_accessible().await;
    b.click("form.stack button[type=submit]").await;
    b.until_text("main", "Saved").await;
    assert_eq!(b.path().await, "/resources/zoom-two");
    assert!(
        !b.client.source().await.unwrap().contains(&secret),
        "never sent back"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "private");
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("label = \"Zoom two\"") && text.contains(&secret),
        "{text}"
    );
    b.click("form[action='/resources/zoom-two/test'] button")
        .await;
    b.until_text("#readiness", "get_user").await;
    assert!(b.text("#test-report").await.contains("Test passed"));

    // Edit: the secret is not in the form; left empty, it stays.
    b.click("a[href='/resources/zoom-two/edit']").await;
    assert_eq!(
        b.find("#c-client_secret")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert!(!b.client.source().await.unwrap().contains(&secret));
    b.fill("#r-label", "Zoom two (edited)").await;
    b.click("form.stack button[type=submit]").await;
    b.until_text("main h1", "Zoom two (edited)").await;
    let edited = std::fs::read_to_string(&file).unwrap();
    assert!(edited.contains(&secret), "the secret kept: {edited}");
    let backup = std::fs::read_to_string(s.resources_dir().join("zoom-two.toml.bak")).unwrap();
    assert_eq!(backup, text, "the previous version backed up");
    b.click("form[action='/resources/zoom-two/test'] button")
        .await;
    b.until_text("#test-report", "Test passed").await;
    // The API sees it too.
    let listed = s.get("/v1/resources/zoom-two", &admin).await;
    assert_eq!(listed.body["label"], "Zoom two (edited)", "{listed:?}");
    close(b).await;
}

/// A playbook from the console: the served list (a broken file shown with
/// its finding's line and column), a run from the inputs form whose steps
/// update live while it runs, a failed step, and a rerun from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_runs_from_its_form_updates_live_and_reruns_from_its_failed_step() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lookup.yaml"),
        "name: lookup\ndescription: Look a user up, then their settings\non:\n  manual:\n    inputs:\n      type: object\n      required: [user_id]\n      properties:\n        user_id: { type: string, description: The user's ID or email }\nsteps:\n  - { id: a, resource: zoom, action: get_user, with: { user_id: \"${{ inputs.user_id }}\" } }\n  - { id: b, resource: zoom, action: get_user_settings, with: { user_id: \"${{ steps.a.result.id }}\" } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "name: broken\non: { manual: }\nsteps:\n  - { id: a, resource: zoom, action: nope }\n",
    )
    .unwrap();
    let s = Served::start(&["--playbooks", dir.path().to_str().unwrap()]);
    let admin = s.token("admin", &[]);
    let b = Browser::start().await;
    let url = &s.url;
    b.sign_in(url, &admin).await;

    b.click("nav a[href='/playbooks']").await;
    let listed = b.text("#playbooks").await;
    assert!(
        listed.contains("lookup") && listed.contains("never run"),
        "{listed}"
    );
    let finding = b.text("ul.findings").await;
    assert!(
        finding.contains("broken.yaml:4:38") && finding.contains("nope"),
        "{finding}"
    );

    let owner = s.env.sandbox.owner()["id"].as_str().unwrap().to_owned();
    let sandbox = &s.env.sandbox;
    sandbox.inject(
        Fault::Delay(Duration::from_millis(1500)),
        Match::method_path("GET", "/v2/users/me"),
        1,
    );
    sandbox.inject(
        Fault::Status(404),
        Match::method_path("GET", format!("/v2/users/{owner}/settings")),
        1,
    );
    b.click("a[href='/playbooks/lookup']").await;
    b.fill("#p-user_id", "me").await;
    b.click("form.run button[type=submit]").await;
    b.find("#run-steps").await;
    assert!(b.path().await.starts_with("/playbook-runs/pr_"));
    b.client
        .execute("window.stillHere = 'yes';", vec![])
        .await
        .unwrap();
    let steps = b.until_text("#run-status", "failed").await;
    assert!(steps.contains("failed"));
    let marker = b
        .client
        .execute("return window.stillHere || 'reloaded';", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("yes"), "the steps updated in place");
    let failed = b.text("#step-b").await;
    assert!(failed.contains("not-found"), "{failed}");
    b.screenshot("playbook-run").await;
    b.assert_accessible().await;

    b.click("#step-b form button").await;
    b.until_text("#run-status", "succeeded").await;
    let rerun = b.text("#run-steps").await;
    assert!(rerun.contains("reused from the earlier run"), "{rerun}");
    let settings = sandbox
        .api_requests()
        .iter()
        .filter(|r| r.path == format!("/v2/users/{owner}/settings"))
        .count();
    assert_eq!(settings, 2, "the failed call, then the rerun's");
    b.goto(&format!("{url}/playbooks")).await;
    assert!(b.text("#playbooks").await.contains("succeeded"));
    close(b).await;
}

/// A recording downloaded by a run is a link on the execution's page, which
/// serves the very bytes; no other file is reachable through it.
#[tokio::test]
async fn a_run_s_downloads_are_links_on_its_page() {
    let s = Served::start(&[]);
    let admin = s.token("admin", &[]);
    let storage = format!("storage_url = \"{}\"\n", s.env.sandbox.storage_url());
    std::fs::write(
        s.resources_dir().join("rec.toml"),
        s.env.resource_toml("Recordings", &storage),
    )
    .unwrap();
    s.reload(&admin, 2).await;
    let meeting = s.env.sandbox.meeting_ids("me")[0];
    let file = s.env.sandbox.add_recording(meeting, 300_000);
    let run = s
        .post(
            "/v1/resources/rec/actions/download_recording",
            &admin,
            json!({"meeting_id": meeting, "file_id": file.id}),
        )
        .await;
    assert_eq!(run.body["status"], "succeeded", "{run:?}");
    let id = run.body["id"].as_str().unwrap().to_owned();

    let (session, _) = session_cookie(&s, &admin).await;
    let client = reqwest::Client::new();
    let get = |path: String| {
        client
            .get(format!("{}{path}", s.url))
            .header("cookie", &session)
            .send()
    };
    let page = get(format!("/executions/{id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("/executions/{id}/files/0");
    assert!(page.contains(&format!("href=\"{link}\"")), "{page}");
    let served = get(link).await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(
        served.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let bytes = served.bytes().await.unwrap();
    use sha2::Digest;
    assert_eq!(
        soar_host::hex(&sha2::Sha256::digest(&bytes)),
        file.sha256_hex
    );
    assert_eq!(
        get(format!("/executions/{id}/files/1"))
            .await
            .unwrap()
            .status(),
        404
    );
    // A token limited to another resource gets nothing.
    let other = s.token("zoom-only", &["--resource", "zoom"]);
    let (other_session, _) = session_cookie(&s, &other).await;
    let refused = client
        .get(format!("{}/executions/{id}/files/0", s.url))
        .header("cookie", &other_session)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
}

/// The session's cookie, signed in over plain HTTP.
async fn session_cookie(s: &Served, token: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("{}/sign-in", s.url))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pre = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let form_token = between(&html, "name=\"form_token\" value=\"", "\"");
    let signed = client
        .post(format!("{}/sign-in", s.url))
        .header("cookie", &pre)
        .form(&[
            ("form_token", form_token.as_str()),
            ("token", token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let session = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("soar_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let session = session.split(';').next().unwrap().to_owned();
    let page = client
        .get(format!("{}/resources", s.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&page, "name=\"csrf\" value=\"", "\"");
    (session, csrf)
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    text[from..][..text[from..].find(end).unwrap()].to_owned()
}

/// A POST without the form token, or from another site, changes nothing;
/// every page carries the policy that forbids inline script.
#[tokio::test]
async fn forged_posts_are_refused_and_pages_forbid_inline_script() {
    let s = Served::start(&[]);
    let admin = s.token("admin", &[]);
    let (session, csrf) = session_cookie(&s, &admin).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |fields: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut request = client
            .post(format!("{}/tokens", s.url))
            .header("cookie", &session)
            .form(&fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let name = || ("name", "forged".to_owned());
    let without = post(vec![name()], None).await.unwrap();
    assert_eq!(without.status(), 403);
    let wrong = post(vec![name(), ("csrf", "x".repeat(32))], None)
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let elsewhere = post(
        vec![name(), ("csrf", csrf.clone())],
        Some("http://evil.example"),
    )
    .await
    .unwrap();
    assert_eq!(elsewhere.status(), 403);
    let tokens = s.token_cli(&["list", "--json"]);
    let listed: Value = serde_json::from_slice(&tokens.stdout).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "no token made: {listed}"
    );
    // With it, from here: made.
    let made = post(vec![name(), ("csrf", csrf)], None).await.unwrap();
    assert_eq!(made.status(), 200);
    assert!(made.text().await.unwrap().contains("id=\"new-token\""));

    let page = client
        .get(format!("{}/resources", s.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    for script in html.split("<script").skip(1) {
        assert!(
            script.trim_start().starts_with("src=\"/assets/"),
            "only scripts from files: <script{script}"
        );
    }
    // Assets: hashed names, cached for long.
    let asset = between(&html, "<link rel=\"stylesheet\" href=\"", "\"");
    let css = client
        .get(format!("{}{asset}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // Signed out, a page is a redirect to sign in; the API is untouched.
    let away = client
        .get(format!("{}/resources", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(away.status(), 303);
    assert!(
        away.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
}
