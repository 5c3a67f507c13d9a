//! The native baseline of the per-action measurements: a plain Rust
//! function making the same HTTP calls as the Zoom plugin's `get_user`, with
//! a client built by the same function as the host's (`http::client()`), to
//! the same sandbox. Like the host, it keeps the token until shortly before
//! it expires, so a warm call is one `GET /v2/users/{id}`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

/// The same margin the plugin keeps before a token's expiry.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);
/// The resource's `timeout_secs` in the benchmark.
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct Native {
    client: reqwest::Client,
    base: String,
    basic: String,
    account_id: String,
    token: Mutex<Option<(String, Instant)>>,
}

impl Native {
    pub fn new(base: &str, client_id: &str, secret: &str, account_id: &str) -> Self {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        Self {
            client: soar_host::http_client().expect("the host's HTTP client builds"),
            base: base.to_owned(),
            basic: format!("Basic {basic}"),
            account_id: account_id.to_owned(),
            token: Mutex::new(None),
        }
    }

    /// `GET {base}v2/users/{user_id}` with a Bearer token, the answer parsed.
    pub async fn get_user(&self, user_id: &str) -> Result<Value, String> {
        let token = self.token().await?;
        let response = self
            .client
            .get(format!("{}v2/users/{user_id}", self.base))
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "application/json")
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("GET users/{user_id}: HTTP {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }

    async fn token(&self) -> Result<String, String> {
        if let Some((token, until)) = &*self.token.lock().expect("not poisoned")
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        let response = self
            .client
            .post(format!(
                "{}oauth/token?grant_type=account_credentials&account_id={}",
                self.base, self.account_id
            ))
            .header("authorization", &self.basic)
            .header("accept", "application/json")
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("token request: HTTP {}", response.status()));
        }
        let body: Value =
            serde_json::from_slice(&response.bytes().await.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        let token = body["access_token"]
            .as_str()
            .ok_or("no access_token in the token answer")?
            .to_owned();
        let ttl = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        *self.token.lock().expect("not poisoned") = Some((
            token.clone(),
            Instant::now() + ttl.saturating_sub(TOKEN_MARGIN),
        ));
        Ok(token)
    }
}
