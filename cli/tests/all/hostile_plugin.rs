//! The sandbox around plugins, proven with a plugin that misbehaves on
//! purpose (fixtures/hostile-plugin). After each attack the same host serves
//! the next call.

use crate::common::Env;
use serde_json::{Value, json};
use soar_host::{Error, Host, Resource};
use zoom_sandbox::{Fault, Match};

const TOKEN: &str = "hunter2-very-secret-token";

struct Hostile {
    env: Env,
    host: Host,
    resource: Resource,
}

impl Hostile {
    fn new(extra: &str) -> Self {
        let env = Env::new();
        let path = Self::write(&env, "hostile.toml", extra);
        Self {
            host: Host::new(crate::common::host_options()).unwrap(),
            resource: Resource::load(&path).unwrap(),
            env,
        }
    }

    fn write(env: &Env, name: &str, extra: &str) -> std::path::PathBuf {
        env.write_resource(
            name,
            &format!(
                "label = \"Hostile\"\nplugin = \"{}\"\ntimeout_secs = 2\nmemory_mib = 32\n{extra}\n[config]\napi_url = \"{}\"\ntoken = \"{TOKEN}\"\n",
                test_plugins::HOSTILE,
                env.sandbox.url()
            ),
        )
    }

    async fn run(&self, action: &str, params: Value) -> Result<Value, Error> {
        self.host
            .invoke(&self.resource, action, &params)
            .await
            .map(|i| i.data)
    }

    /// The host still works after an attack.
    async fn still_serves(&self) {
        assert_eq!(
            self.run("ok", json!({})).await.expect("next call works"),
            json!({"ok": true})
        );
    }
}

fn internal(err: Error) -> String {
    match err {
        Error::Internal { message, .. } => message,
        other => panic!("expected an internal error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plugin_that_spins_forever_is_stopped_at_the_deadline() {
    let h = Hostile::new("");
    let started = std::time::Instant::now();
    let err = h.run("spin", json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { secs: 2, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("while plugin `hostile` was running"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    h.still_serves().await;
}

#[tokio::test]
async fn a_plugin_that_allocates_without_bound_hits_the_memory_cap() {
    let h = Hostile::new("");
    let message = internal(h.run("allocate", json!({})).await.unwrap_err());
    assert!(
        message.contains("memory") || message.contains("alloc"),
        "{message}"
    );
    h.still_serves().await;
}

#[tokio::test]
async fn a_panic_becomes_an_internal_error_with_its_message() {
    let h = Hostile::new("");
    let message = internal(h.run("panic", json!({})).await.unwrap_err());
    assert!(
        message.contains("the hostile plugin panics on purpose"),
        "{message}"
    );
    h.still_serves().await;
}

#[tokio::test]
async fn malformed_and_oversized_results_are_rejected() {
    let h = Hostile::new("");
    let message = internal(h.run("malformed_json", json!({})).await.unwrap_err());
    assert!(message.contains("not JSON"), "{message}");
    let message = internal(h.run("oversized", json!({"mib": 9})).await.unwrap_err());
    assert!(message.contains("over the 8 MiB limit"), "{message}");
    h.still_serves().await;
}

#[tokio::test]
async fn no_files_and_no_environment() {
    let h = Hostile::new("");
    let out = h
        .run("read_file", json!({"path": "/etc/passwd"}))
        .await
        .unwrap();
    assert!(out.get("read").is_none(), "{out}");
    assert!(out["error"].is_string(), "{out}");
    // SAFETY: only this test reads this variable.
    unsafe { std::env::set_var("SOAR_TEST_PROBE", "visible-to-host-only") };
    let out = h.run("read_env", json!({})).await.unwrap();
    assert_eq!(out["vars"], json!([]), "{out}");
}

#[tokio::test]
async fn egress_only_to_the_allow_list() {
    let h = Hostile::new("");
    for url in [
        "https://example.com/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:9/",
    ] {
        let err = h.run("egress", json!({"url": url})).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Denied"), "{url}: {text}");
    }
    assert!(h.env.sandbox.requests().is_empty());
    // The allowed host is reachable.
    let out = h
        .run(
            "egress",
            json!({"url": format!("{}v2/users/me", h.env.sandbox.url())}),
        )
        .await
        .unwrap();
    assert_eq!(out["status"], 401, "no token, but it got there");
    assert_eq!(h.env.sandbox.requests().len(), 1);
}

#[tokio::test]
async fn a_plugin_sees_only_its_own_resources_cache() {
    let h = Hostile::new("");
    h.run("cache_put", json!({"key": "token", "value": "mine"}))
        .await
        .unwrap();
    let other = Resource::load(&Hostile::write(&h.env, "other.toml", "")).unwrap();
    let out = h
        .host
        .invoke(&other, "cache_get", &json!({"key": "token"}))
        .await
        .unwrap()
        .data;
    assert_eq!(out["value"], Value::Null);
    let out = h.run("cache_get", json!({"key": "token"})).await.unwrap();
    assert_eq!(out["value"], "mine");
}

#[tokio::test]
async fn secrets_are_redacted_from_plugin_errors() {
    let h = Hostile::new("");
    let err = h.run("leak_secret", json!({})).await.unwrap_err();
    let text = err.to_string();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[tokio::test]
async fn secrets_are_redacted_from_plugin_results() {
    let h = Hostile::new("");
    let out = h
        .run("leak_secret", json!({"in_result": true}))
        .await
        .unwrap();
    let text = out.to_string();
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(out["token"], "[REDACTED]");
    assert_eq!(out["note"], "Bearer [REDACTED]");
}

#[test]
fn secrets_are_redacted_from_plugin_logs_and_output() {
    let env = Env::new();
    let path = Hostile::write(&env, "hostile.toml", "");
    let run = crate::common::run_cli(
        &["invoke", path.to_str().unwrap(), "leak_secret"],
        &[("RUST_LOG", "debug")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        !run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN),
        "{run:?}"
    );
    assert!(run.stderr.contains("the token is [REDACTED]"), "{run:?}");
    assert!(run.stderr.contains("token=[REDACTED]"), "{run:?}");
}

#[tokio::test]
async fn creates_are_never_retried_reads_are() {
    let h = Hostile::new("");
    let url = format!("{}v2/users/me/meetings", h.env.sandbox.url());
    h.env
        .sandbox
        .inject(Fault::Status(503), Match::path("/v2/users/me/meetings"), 3);
    let statuses = || -> Vec<u16> { h.env.sandbox.requests().iter().map(|r| r.status).collect() };
    // A POST create, as the plugin marks it: one attempt, its 503 handed back.
    let out = h
        .run(
            "egress",
            json!({"url": url, "method": "POST", "idempotent": false}),
        )
        .await
        .unwrap();
    assert_eq!(out["status"], 503);
    assert_eq!(statuses(), [503]);
    // A GET is retried: the two 503s left, then the sandbox's 401 (no token, but it got through).
    let out = h.run("egress", json!({"url": url})).await.unwrap();
    assert_eq!(out["status"], 401);
    assert_eq!(statuses(), [503, 503, 503, 401]);
}

#[tokio::test]
async fn redirects_are_handed_back_not_followed() {
    // An allowed destination (loopback, granted by the resource's egress
    // list) that redirects to the cloud metadata address.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = Hostile::new(&format!("egress = [\"http://127.0.0.1:{port}\"]"));
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        let _ = socket.read(&mut [0u8; 4096]);
        let _ = socket.write_all(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
    let out = h
        .run(
            "egress",
            json!({"url": format!("http://127.0.0.1:{port}/start")}),
        )
        .await
        .unwrap();
    // The plugin sees the 3xx itself: had the host followed it, the call would have failed to connect.
    assert_eq!(out["status"], 302, "{out}");
    assert_eq!(out["location"], "http://169.254.169.254/latest/meta-data/");
    server.join().unwrap();
    // Following it by hand is refused like any other host off the allow-list.
    let err = h
        .run(
            "egress",
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Denied"), "{err}");
}

/// A plugin file is read and hashed once while it stays the same; replaced
/// on disk, the next call loads what is there now.
#[tokio::test]
async fn a_plugin_file_replaced_on_disk_is_loaded_afresh() {
    let env = Env::new();
    let plugin = env.dir.path().join("plugin.wasm");
    std::fs::copy(test_plugins::HOSTILE, &plugin).unwrap();
    let text = format!(
        "label = \"Replaced\"\nplugin = \"./plugin.wasm\"\ntimeout_secs = 2\n\n[config]\napi_url = \"{}\"\ntoken = \"{TOKEN}\"\n",
        env.sandbox.url()
    );
    let resource = Resource::load(&env.write_resource("replaced.toml", &text)).unwrap();
    let host = Host::new(crate::common::host_options()).unwrap();
    let ok = || async {
        host.invoke(&resource, "ok", &json!({}))
            .await
            .map(|i| i.data)
    };
    assert_eq!(ok().await.unwrap(), json!({"ok": true}));
    assert_eq!(ok().await.unwrap(), json!({"ok": true}));

    std::fs::write(&plugin, "not a component any more").unwrap();
    let err = ok().await.unwrap_err();
    assert!(err.to_string().contains("not a WebAssembly file"), "{err}");

    std::fs::remove_file(&plugin).unwrap();
    let err = ok().await.unwrap_err();
    assert!(err.to_string().contains("cannot read plugin"), "{err}");

    std::fs::copy(test_plugins::HOSTILE, &plugin).unwrap();
    assert_eq!(ok().await.unwrap(), json!({"ok": true}));
}

/// A plugin that imports what the host does not provide is refused when it
/// loads, with the import named; nothing is sent and the host serves on.
/// (The host links only the WASI interfaces a component imports.)
#[tokio::test]
async fn a_plugin_importing_what_the_host_lacks_is_refused_by_name() {
    let h = Hostile::new("");
    for (file, interface, function) in [
        ("http.wasm", "wasi:http/outgoing-handler@0.2.0", "handle"),
        // An interface the host links, with a function WASI does not have.
        ("env.wasm", "wasi:cli/environment@0.2.0", "get-host-secrets"),
    ] {
        std::fs::write(
            h.env.dir.path().join(file),
            component_importing(interface, function),
        )
        .unwrap();
        let text = format!(
            "label = \"Importer\"\nplugin = \"./{file}\"\n\n[config]\napi_url = \"{}\"\ntoken = \"{TOKEN}\"\n",
            h.env.sandbox.url()
        );
        let resource = Resource::load(&h.env.write_resource("importer.toml", &text)).unwrap();
        let err = h
            .host
            .invoke(&resource, "ok", &json!({}))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("it imports what the host does not provide")
                && message.contains(interface),
            "{message}"
        );
        assert_eq!(err.class().exit_code(), 2, "{err:?}");
    }
    assert!(h.env.sandbox.requests().is_empty());
    h.still_serves().await;
}

/// A component whose only content is an import of `interface` exporting one
/// function `function: func()`.
fn component_importing(interface: &str, function: &str) -> Vec<u8> {
    use wasm_encoder::{
        Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection, InstanceType,
    };
    let mut instance = InstanceType::new();
    instance
        .ty()
        .function()
        .params(std::iter::empty::<(&str, wasm_encoder::ComponentValType)>())
        .result(None);
    instance.export(function, ComponentTypeRef::Func(0));
    let mut types = ComponentTypeSection::new();
    types.instance(&instance);
    let mut imports = ComponentImportSection::new();
    imports.import(interface, ComponentTypeRef::Instance(0));
    let mut component = Component::new();
    component.section(&types).section(&imports);
    component.finish()
}

/// A component that names one WASI interface at two 0.2 versions gets it
/// linked once (the linker matches both by semver): it loads past its
/// imports, and is refused only for what it lacks, the plugin exports.
#[tokio::test]
async fn a_plugin_naming_two_versions_of_a_wasi_interface_links_it_once() {
    use wasm_encoder::{
        Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection,
        ComponentValType, InstanceType, PrimitiveValType,
    };
    // wasi:cli/environment's `get-environment: func() -> list<tuple<string, string>>`.
    let mut environment = InstanceType::new();
    let string = ComponentValType::Primitive(PrimitiveValType::String);
    environment.ty().defined_type().tuple([string, string]);
    environment
        .ty()
        .defined_type()
        .list(ComponentValType::Type(0));
    environment
        .ty()
        .function()
        .params(std::iter::empty::<(&str, ComponentValType)>())
        .result(Some(ComponentValType::Type(1)));
    environment.export("get-environment", ComponentTypeRef::Func(2));
    let mut types = ComponentTypeSection::new();
    types.instance(&environment);
    let mut imports = ComponentImportSection::new();
    imports.import("wasi:cli/environment@0.2.0", ComponentTypeRef::Instance(0));
    imports.import("wasi:cli/environment@0.2.3", ComponentTypeRef::Instance(0));
    let mut component = Component::new();
    component.section(&types).section(&imports);

    let h = Hostile::new("");
    std::fs::write(h.env.dir.path().join("twice.wasm"), component.finish()).unwrap();
    let text = format!(
        "label = \"Twice\"\nplugin = \"./twice.wasm\"\n\n[config]\napi_url = \"{}\"\ntoken = \"{TOKEN}\"\n",
        h.env.sandbox.url()
    );
    let resource = Resource::load(&h.env.write_resource("twice.toml", &text)).unwrap();
    let err = h
        .host
        .invoke(&resource, "ok", &json!({}))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not export the soar:plugin `integration` world of any version"),
        "{err}"
    );
    h.still_serves().await;
}
