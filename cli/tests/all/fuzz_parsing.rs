//! Property-based fuzzing of what users hand the host: resource files and
//! action params. Whatever they contain, the host answers with one clear line
//! (never a panic), never echoes a secret, and bad input never reaches Zoom.
//!
//! `PROPTEST_CASES=5000 cargo test -p soar-host-cli --test all fuzz_parsing` runs longer.

use std::path::Path;
use std::sync::OnceLock;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value};
use soar_host::{Error, ErrorClass, Host, Manifest, Resource, params};

/// The Zoom plugin's manifest, read from the real component once.
fn zoom() -> &'static Manifest {
    static MANIFEST: OnceLock<Manifest> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let host = host();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(host.plugin("zoom", Path::new(".")))
            .unwrap()
            .manifest
            .clone()
    })
}

fn host() -> Host {
    Host::new(crate::common::host_options()).unwrap()
}

/// `cases` cases, or `$PROPTEST_CASES` when set.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A secret no generated text can contain by chance.
const SECRET: &str = "Fz-9q7Kx2-secret-value";

fn toml_value() -> impl Strategy<Value = String> {
    let url = (
        prop_oneof![Just("http"), Just("https"), Just("ftp"), Just("")],
        prop_oneof![
            Just("127.0.0.1:8790"),
            Just("localhost"),
            Just("api.zoom.us"),
            Just("169.254.169.254"),
            Just("[::1]:1"),
            Just(""),
            Just("user:pw@zoom.us"),
        ],
        "[a-z/]{0,6}",
    )
        .prop_map(|(scheme, host, path)| format!("\"{scheme}://{host}/{path}\""));
    prop_oneof![
        url,
        "[a-zA-Z0-9 ._-]{0,16}".prop_map(|s| format!("\"{s}\"")),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("0".to_owned()),
        Just("4097".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just(format!("\"{SECRET}\"")),
        Just("{ env = \"SOAR_FUZZ_NEVER_SET\" }".to_owned()),
        Just("{ file = \"/nonexistent/soar-fuzz-secret\" }".to_owned()),
        Just("{ env = 1 }".to_owned()),
        Just("{ env = \"A\", file = \"B\" }".to_owned()),
        Just("{}".to_owned()),
        Just("[1, \"two\"]".to_owned()),
        Just("\"\"".to_owned()),
        "[^\n]{0,12}",
    ]
}

fn line(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    (prop::sample::select(keys), toml_value()).prop_map(|(k, v)| format!("{k} = {v}"))
}

/// Mostly well-formed resource files, with the mistakes people make.
fn resource_text() -> impl Strategy<Value = String> {
    let top = vec(
        line(&[
            "label",
            "plugin",
            "timeout_secs",
            "memory_mib",
            "timeout",
            "config",
        ]),
        0..5,
    );
    let config = vec(
        line(&[
            "oauth_token_url",
            "api_url",
            "client_id",
            "client_secret",
            "account_id",
            "client_secret",
            "secret",
        ]),
        0..7,
    );
    (
        top,
        prop_oneof![Just("[config]"), Just("[config"), Just("[other]"), Just("")],
        config,
    )
        .prop_map(|(top, section, config)| {
            format!(
                "plugin = \"zoom\"\n{}\n{section}\n{}\n",
                top.join("\n"),
                config.join("\n")
            )
        })
}

fn assert_rejected_cleanly(err: &Error) -> Result<(), TestCaseError> {
    let text = err.to_string();
    prop_assert_eq!(err.class(), ErrorClass::Rejected, "{}", text);
    prop_assert!(!text.contains('\n'), "one line: {}", text);
    prop_assert!(!text.contains(SECRET), "secret echoed: {}", text);
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_text_as_a_resource_file(text in "\\PC*") {
        if let Err(err) = Resource::parse(Path::new("fuzz.toml"), &text) {
            assert_rejected_cleanly(&err)?;
        }
    }

    #[test]
    fn resource_files_are_accepted_only_when_sound(text in resource_text()) {
        let resource = match Resource::parse(Path::new("fuzz.toml"), &text) {
            Ok(resource) => resource,
            Err(err) => return assert_rejected_cleanly(&err),
        };
        prop_assert!((1..=3600).contains(&resource.timeout.as_secs()));
        let resolved = match resource.resolve(zoom()) {
            Ok(resolved) => resolved,
            Err(err) => return assert_rejected_cleanly(&err),
        };
        // Sound: every required field has a value, every URL is reachable, and
        // the egress list holds nothing but the URL fields' destinations.
        let mut url_fields = 0;
        for field in &zoom().config {
            let value = resolved.values.iter().find(|(name, _)| name == &field.name);
            prop_assert!(!field.required || value.is_some(), "{} missing", field.name);
            if let (true, Some((_, Value::String(url)))) = (field.url, value) {
                url_fields += 1;
                prop_assert!(resolved.egress.check(url).is_ok(), "{} not reachable", field.name);
            }
        }
        prop_assert!(resolved.egress.rules.len() <= url_fields);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[a-z0-9 @.]{0,10}".prop_map(Value::from),
        prop_oneof![
            Just("123"),
            Just("-5"),
            Just("1.5"),
            Just("true"),
            Just("false"),
            Just("me")
        ]
        .prop_map(Value::from),
        prop_oneof![
            Just("active"),
            Just("pending"),
            Just("scheduled"),
            Just("upcoming")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An action of the Zoom plugin and params for it: its own param names mostly, some unknown ones,
/// values of any shape; sometimes not an object at all.
fn action_and_params() -> impl Strategy<Value = (String, Value)> {
    let actions: Vec<(String, Vec<String>)> = zoom()
        .actions
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                a.params().into_iter().map(|p| p.name).collect(),
            )
        })
        .collect();
    prop::sample::select(actions).prop_flat_map(|(action, names)| {
        let mut keys = names;
        keys.push("bogus".into());
        let object = btree_map(prop::sample::select(keys), json_value(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()));
        let params = prop_oneof![9 => object, 1 => json_value()];
        (Just(action), params)
    })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn params_are_passed_on_only_when_they_fit_the_manifest((action, params) in action_and_params()) {
        let spec = zoom().action(&action).unwrap();
        let checker = params::Checker::new(spec).unwrap();
        match params::validate(spec, &checker, &params) {
            Ok(checked) => {
                let declared = spec.params();
                for name in checked.keys() {
                    prop_assert!(declared.iter().any(|p| p.name == *name), "undeclared `{}` passed on", name);
                }
                for param in declared.iter().filter(|p| p.required) {
                    prop_assert!(checked.contains_key(&param.name), "required `{}` missing", param.name);
                }
                // What is passed on is valid as it is: checking it again changes nothing.
                let again = params::validate(spec, &checker, &Value::Object(checked.clone()));
                prop_assert_eq!(again.as_ref(), Ok(&checked));
            }
            Err(message) => prop_assert!(!message.is_empty() && !message.contains('\n'), "{}", message),
        }
    }
}

proptest! {
    // Each case is a real invocation of the component against the sandbox.
    #![proptest_config(config(96))]

    #[test]
    fn rejected_params_never_reach_zoom((action, params) in action_and_params()) {
        static ENV: OnceLock<(crate::common::Env, Resource, Host, tokio::runtime::Runtime)> = OnceLock::new();
        let (env, resource, host, runtime) = ENV.get_or_init(|| {
            let env = crate::common::Env::new();
            let from_env = format!("{{ env = \"{}\" }}", crate::common::SECRET_VAR);
            let text = env.resource_toml("Fuzz", "").replace(&from_env, &format!("\"{}\"", env.secret()));
            let resource = Resource::load(&env.write_resource("fuzz.toml", &text)).unwrap();
            (env, resource, host(), tokio::runtime::Runtime::new().unwrap())
        });
        env.sandbox.clear_requests();
        let outcome = runtime.block_on(host.invoke(resource, &action, &params));
        let spec = zoom().action(&action).unwrap();
        let host_refused = params::validate(spec, &params::Checker::new(spec).unwrap(), &params).is_err();
        match outcome {
            Err(err) if err.class() == ErrorClass::Rejected => {
                prop_assert!(env.sandbox.requests().is_empty(), "{} sent requests: {:?}", err, env.sandbox.requests());
            }
            other => prop_assert!(!host_refused, "params the host refuses were run: {:?}", other.map(|i| i.data)),
        }
    }
}
