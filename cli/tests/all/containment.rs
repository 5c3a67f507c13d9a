//! The containment holes a hostile plugin found (secrets that escaped
//! redaction, an allow-list that ignored ports, unbounded log volume, loading
//! that ignored the deadline, unchecked manifests), each tried through the
//! real CLI or library and shown contained. The hostile plugin is a 0.1
//! component, so these also run the 0.1 contract under the 0.2 host.

use crate::common::{Env, Run, run_cli};
use base64::Engine;
use serde_json::json;
use soar_host::{Host, Resource};
use zoom_sandbox::{Fault, Match, Sandbox, SandboxConfig};

/// Percent-encoding turns `/`, `+` and `=` into escapes, Base64 of it is
/// distinct: every form is tried.
const TOKEN: &str = "hunter2/very+secret=token";

fn forms() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        TOKEN.to_owned(),
        "hunter2%2Fvery%2Bsecret%3Dtoken".to_owned(),
        b64.encode(TOKEN),
        // Inside Basic auth's `client-id:TOKEN`, the part that encodes the
        // token's own bytes.
        b64.encode(format!("client-id:{TOKEN}"))[16..36].to_owned(),
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for form in forms() {
        assert!(!text.contains(&form), "{what} leaks `{form}`:\n{text}");
    }
}

fn assert_run_clean(run: &Run) {
    assert_no_secret("stdout", &run.stdout);
    assert_no_secret("stderr", &run.stderr);
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
        "{run:?}"
    );
}

/// A resource for the hostile plugin, talking to `env`'s sandbox. Its
/// deadline, unless `top` sets one, leaves room for compiling the component
/// while other tests compile theirs (loading counts against it).
fn hostile(env: &Env, name: &str, top: &str) -> String {
    let timeout = if top.contains("timeout_secs") {
        ""
    } else {
        "timeout_secs = 10\n"
    };
    let path = env.write_resource(
        name,
        &format!(
            "label = \"Hostile\"\nplugin = \"{}\"\n{timeout}{top}\n[config]\napi_url = \"{}\"\ntoken = \"{TOKEN}\"\n",
            test_plugins::HOSTILE,
            env.sandbox.url()
        ),
    );
    path.display().to_string()
}

fn debug_cli(args: &[&str]) -> Run {
    run_cli(args, &[("RUST_LOG", "trace")])
}

#[test]
fn a_secret_as_a_result_key_is_masked() {
    let env = Env::new();
    let resource = hostile(&env, "h.toml", "");
    let run = debug_cli(&["invoke", &resource, "secret_as_key", "--envelope"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_run_clean(&run);
    let data = &run.json()["data"];
    assert_eq!(data.as_object().map(|o| o.len()), Some(2), "{run:?}");
    assert!(data.to_string().contains("[REDACTED]"), "{run:?}");
}

#[test]
fn a_secret_in_a_request_url_is_masked_in_timeouts_and_logs() {
    let env = Env::new();
    env.sandbox.inject(Fault::Hang, Match::path("/v2/hang"), 10);
    let resource = hostile(&env, "h.toml", "timeout_secs = 2");
    let base = format!("{}/v2/hang/", env.sandbox.url().trim_end_matches('/'));
    for encoding in ["plain", "percent", "base64"] {
        let params = json!({"base": base, "encoding": encoding}).to_string();
        let run = debug_cli(&[
            "invoke",
            &resource,
            "secret_in_url",
            "--params",
            &params,
            "--envelope",
        ]);
        // Whichever gives up first (the request's timeout, as the plugin
        // reports it, or the action's deadline), the request is named.
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("/v2/hang/[REDACTED]"), "{run:?}");
        assert!(run.stdout.contains("/v2/hang/[REDACTED]"), "{run:?}");
        assert_run_clean(&run);
    }
}

#[test]
fn the_test_report_is_masked_in_text_and_json() {
    let env = Env::new();
    let resource = hostile(&env, "h.toml", "");
    for json in [false, true] {
        let mut args = vec!["test", resource.as_str()];
        if json {
            args.push("--json");
        }
        let run = debug_cli(&args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("[REDACTED]"), "{run:?}");
        assert_run_clean(&run);
    }
}

#[tokio::test]
async fn the_library_masks_what_it_returns() {
    let env = Env::new();
    let path = hostile(&env, "h.toml", "");
    let host = Host::new(crate::common::host_options()).unwrap();
    let resource = Resource::load(std::path::Path::new(&path)).unwrap();
    let report = host.test(&resource).await.unwrap();
    assert_no_secret("report", &format!("{report:?}"));
    let result = host
        .invoke(&resource, "secret_as_key", &json!({}))
        .await
        .unwrap();
    assert_no_secret("result", &result.data.to_string());
    let err = host
        .invoke(&resource, "leak_secret", &json!({}))
        .await
        .unwrap_err();
    assert_no_secret("error", &err.to_string());
}

#[test]
fn the_grant_is_scheme_host_and_port() {
    let env = Env::new();
    // Another service on the same host, another port: not granted.
    let other = Sandbox::start(SandboxConfig::default()).unwrap();
    let resource = hostile(&env, "h.toml", "");
    let params = json!({"url": format!("{}v2/users", other.url())}).to_string();
    let run = run_cli(&["invoke", &resource, "egress", "--params", &params], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("is not among the destinations this resource allows"),
        "{run:?}"
    );
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    // The granted port still works.
    let params = json!({"url": format!("{}v2/users", env.sandbox.url())}).to_string();
    let run = run_cli(&["invoke", &resource, "egress", "--params", &params], &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn egress_is_shown_with_its_origin_and_can_be_pinned() {
    let env = Env::new();
    // The Zoom plugin's defaults are visible: the sandbox resource sets both
    // URL fields, so both come from the resource.
    let zoom = env.resource.display().to_string();
    let run = env.cli(&["actions", &zoom]);
    assert_eq!(run.code, 0, "{run:?}");
    let port = env
        .sandbox
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    assert!(
        run.stdout.contains(&format!(
            "http://127.0.0.1:{port}  (from the resource's `oauth_token_url`)"
        )),
        "{run:?}"
    );
    let run = env.cli(&["actions", &zoom, "--json"]);
    assert_eq!(run.json()["egress"][0]["origin"], "resource", "{run:?}");

    // A URL field left out: the plugin's default shows as such.
    let text = env.resource_toml("Defaults", "").replace(
        &format!("oauth_token_url = \"{}\"\n", env.sandbox.url()),
        "",
    );
    let defaults = env.write_resource("defaults.toml", &text);
    let run = env.cli(&["actions", defaults.to_str().unwrap()]);
    assert!(
        run.stdout
            .contains("https://zoom.us:443  (the plugin's default for `oauth_token_url`)"),
        "{run:?}"
    );

    // Pinned elsewhere: the sandbox the URL fields name is out of reach.
    let resource = hostile(&env, "pinned.toml", "egress = [\"https://*.zoom.us\"]");
    let params = json!({"url": format!("{}v2/users", env.sandbox.url())}).to_string();
    let run = run_cli(&["invoke", &resource, "egress", "--params", &params], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("https://*.zoom.us:443"), "{run:?}");
    assert!(env.sandbox.requests().is_empty());
    let run = run_cli(&["test", &resource], &[]);
    assert!(
        run.stdout
            .contains("https://*.zoom.us:443  (pinned by the resource's `egress`)"),
        "{run:?}"
    );
}

#[test]
fn log_volume_and_output_are_bounded() {
    let env = Env::new();
    let resource = hostile(&env, "h.toml", "timeout_secs = 30");
    let run = run_cli(
        &["invoke", &resource, "log_flood", "-p", "mib=10"],
        &[("RUST_LOG", "warn")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.len() < 1 << 20,
        "{} bytes on stderr",
        run.stderr.len()
    );
    assert_eq!(run.stderr.matches("dropping the rest").count(), 1);
    // Printing past the capture bound is dropped, not a failure.
    let run = run_cli(
        &["invoke", &resource, "print_flood", "-p", "kib=1024"],
        &[("RUST_LOG", "debug")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("bytes dropped over the 256 KiB bound"),
        "{run:?}"
    );
}

#[test]
fn loading_counts_against_the_deadline_and_a_stuck_component_is_remembered() {
    let env = Env::new();
    let cache = tempfile::tempdir().unwrap();
    let resource = env.write_resource(
        "stuck.toml",
        &format!(
            "plugin = \"{}\"\ntimeout_secs = 1\n",
            test_plugins::STUCK_DESCRIBE
        ),
    );
    let args = [
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "invoke",
        resource.to_str().unwrap(),
        "anything",
    ];
    let run = run_cli(&args, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("describe() did not return within 1s"),
        "{run:?}"
    );
    let again = run_cli(&args, &[]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("remembered as broken"), "{again:?}");
}

#[test]
fn a_malformed_manifest_is_refused_and_never_printed_raw() {
    let run = run_cli(&["actions", test_plugins::BAD_MANIFEST], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("its manifest is refused"), "{run:?}");
    assert!(run.stderr.contains("control characters"), "{run:?}");
    assert_run_clean(&run);
}

#[test]
fn a_0_1_component_is_described_tested_and_invoked() {
    let env = Env::new();
    let run = run_cli(&["actions", test_plugins::HOSTILE, "--json"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let manifest = run.json();
    assert_eq!(manifest["contract"], "0.1.0");
    let egress = manifest["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "egress")
        .unwrap();
    // Its flat param list, as a JSON Schema.
    assert_eq!(
        egress["params_schema"]["properties"]["idempotent"]["type"],
        "boolean"
    );
    assert_eq!(egress["params_schema"]["additionalProperties"], false);

    let resource = hostile(&env, "h.toml", "");
    let run = run_cli(&["test", &resource, "--json"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = run_cli(
        &[
            "invoke",
            &resource,
            "cache_put",
            "-p",
            "key=k",
            "-p",
            "value=v",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // Its `cache` is the persistent store: the next process sees the value.
    let run = run_cli(&["invoke", &resource, "cache_get", "-p", "key=k"], &[]);
    assert_eq!(run.json(), json!({"value": "v"}), "{run:?}");
    // Params are checked against the derived schema.
    let run = run_cli(
        &["invoke", &resource, "egress", "-p", "idempotent=maybe"],
        &[],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("param `idempotent` must be a boolean"),
        "{run:?}"
    );
}

#[test]
fn a_secret_across_a_bound_is_not_half_printed() {
    let env = Env::new();
    let resource = hostile(&env, "h.toml", "");
    let run = debug_cli(&["invoke", &resource, "secret_at_the_cut"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_run_clean(&run);
    // Not even its beginning, where each bound would have cut it.
    assert!(
        !run.stderr.contains("xhunte") && !run.stderr.contains("yhunte"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(300)..]
    );
}

// --- Round 2: the hostile plugin of contract 0.2 (examples/hostile02) ---

mod round2 {
    use std::path::PathBuf;

    use serde_json::{Value, json};
    use soar_host::{Error, Host, InvokeOptions, Resource};

    use crate::common::upstream::Upstream;

    const TOKEN: &str = "hostile02-very-secret-token";

    struct Setup {
        upstream: Upstream,
        _dir: tempfile::TempDir,
        output: PathBuf,
        host: Host,
        resource: Resource,
    }

    impl Setup {
        /// The hostile 0.2 plugin against a plain upstream on loopback;
        /// `top` adds top-level keys to its resource file.
        fn new(top: &str) -> Self {
            let upstream = Upstream::start();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("hostile.toml");
            std::fs::write(
                &path,
                format!(
                    "plugin = \"{}\"\ntimeout_secs = 10\n{top}\n[config]\napi_url = \"{}\"\ntoken = \"{TOKEN}\"\n",
                    test_plugins::HOSTILE02,
                    upstream.url
                ),
            )
            .unwrap();
            let output = dir.path().join("out");
            std::fs::create_dir(&output).unwrap();
            Setup {
                resource: Resource::load(&path).unwrap(),
                host: Host::new(crate::common::host_options()).unwrap(),
                upstream,
                _dir: dir,
                output,
            }
        }

        async fn invoke(&self, action: &str, params: Value) -> Result<Value, Error> {
            let options = InvokeOptions {
                output_dir: Some(self.output.clone()),
                progress: None,
            };
            self.host
                .invoke_with(&self.resource, action, &params, &options)
                .await
                .map(|i| i.data)
        }

        fn files(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.output)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }

        fn url(&self, path: &str) -> String {
            format!("{}{path}", self.upstream.url)
        }
    }

    #[tokio::test]
    async fn download_names_a_person_would_misread_are_refused_saying_which_character() {
        let s = Setup::new("");
        let names = [
            "report\u{202e}fdp.exe",
            "soft\u{ad}hyphen.txt",
            "line\u{2028}break.txt",
            "tag\u{e0041}.txt",
            "arabic\u{61c}mark.txt",
            "private\u{e000}.txt",
            "hangul\u{3164}.txt",
            "a\u{301}.txt",
            "plain report.txt",
        ];
        let data = s
            .invoke(
                "download",
                json!({"url": s.url("bytes/10"), "names": names}),
            )
            .await
            .unwrap();
        let outcomes = data["downloads"].as_array().unwrap();
        for (name, outcome) in names.iter().zip(outcomes) {
            if *name == "plain report.txt" {
                assert_eq!(outcome["saved"], "plain report.txt", "{outcome}");
                continue;
            }
            let error = outcome["error"].as_str().unwrap_or_default();
            let bad = name
                .chars()
                .find(|c| !c.is_ascii())
                .map(|c| format!("U+{:04X}", c as u32))
                .unwrap();
            assert!(error.contains(&bad), "{name:?}: {outcome}");
        }
        assert_eq!(s.files(), ["plain report.txt"]);
    }

    #[tokio::test]
    async fn one_call_s_downloads_are_bounded_in_files_and_bytes() {
        let s = Setup::new("download_max_files = 3\n");
        let data = s
            .invoke("download", json!({"url": s.url("bytes/100"), "count": 5}))
            .await
            .unwrap();
        let outcomes = data["downloads"].as_array().unwrap();
        assert_eq!(
            outcomes.iter().filter(|o| o["saved"].is_string()).count(),
            3,
            "{data}"
        );
        for refused in &outcomes[3..] {
            assert!(
                refused["error"]
                    .as_str()
                    .unwrap()
                    .contains("download_max_files"),
                "{refused}"
            );
        }
        // Only three requests left the host.
        assert_eq!(s.upstream.requests().len(), 3);

        // 1 MiB in all: the second file of 700 KiB does not fit.
        let s = Setup::new("download_total_max_mib = 1\n");
        let data = s
            .invoke(
                "download",
                json!({"url": s.url("bytes/716800"), "count": 3}),
            )
            .await
            .unwrap();
        let outcomes = data["downloads"].as_array().unwrap();
        assert_eq!(outcomes[0]["size"], 716800, "{data}");
        for refused in &outcomes[1..] {
            assert!(
                refused["error"]
                    .as_str()
                    .unwrap()
                    .contains("download_total_max_mib"),
                "{refused}"
            );
        }
        assert_eq!(s.files(), ["file-0.bin"]);
    }

    #[tokio::test]
    async fn what_a_failed_call_downloaded_is_removed() {
        let s = Setup::new("");
        let err = s
            .invoke(
                "download_then_fail",
                json!({"url": s.url("bytes/1000"), "count": 4}),
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("failed after 4 downloads"),
            "{err}"
        );
        assert_eq!(s.upstream.requests().len(), 4);
        assert!(s.files().is_empty(), "{:?}", s.files());
    }

    #[tokio::test]
    async fn a_request_that_may_have_taken_effect_is_repeated_only_when_safe() {
        let s = Setup::new("");
        let sent = |method: &str| {
            s.upstream
                .requests()
                .iter()
                .filter(|(m, _)| m == method)
                .count()
        };
        // In an action not declared idempotent, a 503 is final whatever the
        // method and whatever the plugin says of the request.
        for method in ["POST", "DELETE", "PUT", "PATCH"] {
            let data = s
                .invoke(
                    "send",
                    json!({"url": s.url("status/503"), "method": method}),
                )
                .await
                .unwrap();
            assert_eq!(data["status"], 503);
            assert_eq!(sent(method), 1, "{method}: {:?}", s.upstream.requests());
        }
        // GET is safe: retried.
        s.invoke("send", json!({"url": s.url("status/503"), "method": "GET"}))
            .await
            .unwrap();
        assert!(sent("GET") > 1, "{:?}", s.upstream.requests());
        // In an action declared idempotent, a request the plugin marks
        // idempotent is retried.
        s.invoke(
            "send_idempotent",
            json!({"url": s.url("status/503"), "method": "DELETE"}),
        )
        .await
        .unwrap();
        assert!(sent("DELETE") > 2, "{:?}", s.upstream.requests());
        // A 429 was not processed: retried for any method.
        s.invoke(
            "send",
            json!({"url": s.url("status/429"), "method": "POST"}),
        )
        .await
        .unwrap();
        let posts_429 = s
            .upstream
            .requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p == "/status/429")
            .count();
        assert!(posts_429 > 1, "{:?}", s.upstream.requests());
    }

    #[tokio::test]
    async fn a_plugin_s_error_message_is_bounded_and_masked() {
        let s = Setup::new("");
        let err = s.invoke("long_error", json!({})).await.unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 8 << 10, "{} bytes", text.len());
        assert!(!text.contains(TOKEN));
    }
}
