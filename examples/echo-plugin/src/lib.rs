//! A complete soar-host plugin, as short as one can be: an httpbin-like
//! service with one enrichment and one containment action.
//!
//! Build it with `cargo build --target wasm32-wasip2 -p echo-plugin` and
//! point a resource file at the `.wasm`:
//!
//! ```toml
//! plugin = "target/wasm32-wasip2/debug/echo_plugin.wasm"
//! [config]
//! api_key = { env = "ECHO_API_KEY" }
//! ```

use soar_plugin_sdk::encode;
use soar_plugin_sdk::prelude::*;

/// The plugin itself holds nothing: each call gets a fresh instance.
pub struct Echo;

/// What every action receives: built from the resource's config by
/// `connect`, once per call.
pub struct Client {
    base_url: String,
    api_key: String,
}

impl Client {
    /// A request to `{base_url}{path}` carrying the API key.
    fn request(&self, method: &str, path: &str) -> http::Request {
        http::Request::new(method, format!("{}{path}", self.base_url)).bearer(&self.api_key)
    }
}

/// Typed params: the host has already checked them against the schema
/// below, so deserializing is a formality that cannot surprise.
#[derive(Deserialize)]
struct LookupParams {
    name: String,
    #[serde(default)]
    verbose: bool,
}

/// `GET /anything/{name}`: reads only, so it is an enrichment.
fn lookup(client: &mut Client, params: LookupParams) -> Result<Value, ActionError> {
    // Percent-encode anything that goes into a path: a name like `a/b`
    // must stay one segment.
    let path = format!("anything/{}", encode::segment(&params.name));
    let verbose = if params.verbose { "true" } else { "false" };
    let response = client
        .request("GET", &path)
        .query(&[("verbose", verbose)])
        .send()?;
    if !response.is_success() {
        return Err(upstream_error(&response));
    }
    response.json()
}

/// `POST /post`: changes something upstream, so containment; a POST twice
/// is two posts, so not idempotent (the default for containment).
fn block(client: &mut Client, params: Map<String, Value>) -> Result<Value, ActionError> {
    // Raw params: the object as given, passed on as the body.
    let response = client
        .request("POST", "post")
        .json(&Value::Object(params))
        .send()?;
    if !response.is_success() {
        return Err(upstream_error(&response));
    }
    Ok(json!({"blocked": true, "echo": response.json::<Value>()?}))
}

/// Classify an upstream failure so a playbook can react to its kind.
fn upstream_error(response: &http::Response) -> ActionError {
    let message = format!("the service answered HTTP {}", response.status);
    let error = match response.status {
        401 => ActionError::auth(message),
        403 => ActionError::forbidden(message),
        404 => ActionError::not_found(message),
        429 => ActionError::rate_limited(message),
        400..=499 => ActionError::invalid_input(message),
        _ => ActionError::upstream(message),
    };
    match response.retry_after_secs() {
        Some(secs) => error.with_status(response.status).with_retry_after(secs),
        None => error.with_status(response.status),
    }
}

impl Plugin for Echo {
    const NAME: &'static str = "echo";
    const TITLE: &'static str = "Echo";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "An httpbin-like service: the SDK's example plugin";

    type Context = Client;

    fn config() -> Vec<Field> {
        vec![
            // A `url` field joins the resource's egress allow-list.
            Field::url("base_url", "Base URL of the service")
                .default(json!("https://httpbin.org/")),
            // A `secret` field is never printed or logged by the host.
            Field::string("api_key", "API key, sent as a Bearer token").secret(),
        ]
    }

    /// Each action declared once: the manifest and the dispatch both come
    /// from this list.
    fn actions() -> Vec<Action<Client>> {
        vec![
            Action::enrichment("lookup", "Look up a name")
                .description("Asks the service about a name and returns what it echoes")
                .operation("GET /anything/{name}")
                .params(schema::params(
                    json!({
                        "name": {"type": "string", "minLength": 1, "description": "What to look up"},
                        "verbose": {"type": "boolean", "default": false, "description": "Ask for details"},
                    }),
                    &["name"],
                ))
                .run(lookup),
            Action::containment("block", "Block an address")
                .description("Posts a block request; the service echoes it back")
                .operation("POST /post")
                .scopes(&["echo:write"])
                .params(schema::params(
                    json!({
                        "address": {"type": "string", "minLength": 1, "description": "IP or email to block"},
                        "reason": {"type": "string", "maxLength": 200},
                    }),
                    &["address"],
                ))
                .run(block),
        ]
    }

    fn connect(config: &Config) -> Result<Client, ActionError> {
        // Config getters answer `config` errors: the operator fixes the file.
        Ok(Client {
            base_url: config.url("base_url")?,
            api_key: config.string("api_key")?,
        })
    }

    /// One cheap authenticated call; the report says what was verified.
    fn test(config: &Config) -> Result<TestReport, ActionError> {
        let client = Self::connect(config)?;
        let response = client.request("GET", "bearer").send()?;
        if !response.is_success() {
            return Err(upstream_error(&response));
        }
        Ok(TestReport {
            summary: format!("{} answered as expected", client.base_url),
            checks: vec![Check {
                name: "api".into(),
                detail: "GET /bearer accepted the API key".into(),
            }],
            // This service does not say which scopes a key has, so readiness
            // stays unknown (empty). A service that does would answer
            // `readiness(&Self::actions(), &granted)`: per action, ready if
            // any one of its scopes was granted.
            scopes: Vec::new(),
            readiness: Vec::new(),
        })
    }
}

// Makes `Echo` the component's plugin.
register_plugin!(Echo);
