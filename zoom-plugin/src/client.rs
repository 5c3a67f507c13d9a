//! Zoom's REST API v2 over the host's `http` import, with Server-to-Server
//! OAuth. The token is kept in the host's per-resource cache until shortly
//! before it expires; a 401 (Zoom code 124) gets one fresh token and one retry.

use serde_json::Value;

use crate::config::ZoomConfig;
use crate::encode;
use crate::errors::{error, from_api, from_oauth, from_transport};
use crate::soar::plugin::http::{self, Request, Response};
use crate::soar::plugin::types::{ActionError, ErrorKind};
use crate::soar::plugin::{cache, log};

/// Refresh this long before Zoom says the token expires, so a token never
/// dies in flight.
const TOKEN_MARGIN_SECS: u64 = 120;

pub struct Token {
    pub access_token: String,
    pub scopes: Vec<String>,
}

pub struct Client {
    config: ZoomConfig,
    token: Option<Token>,
}

impl Client {
    pub fn new(config: ZoomConfig) -> Self {
        Self {
            config,
            token: None,
        }
    }

    fn cache_key(&self) -> String {
        format!(
            "zoom-token:{}:{}",
            self.config.account_id, self.config.client_id
        )
    }

    /// The cached token, or a new one from Zoom.
    pub fn token(&mut self) -> Result<&Token, ActionError> {
        if self.token.is_none() {
            let cached = cache::get(&self.cache_key()).and_then(|text| {
                let v: Value = serde_json::from_str(&text).ok()?;
                Some(Token {
                    access_token: v.get("access_token")?.as_str()?.to_owned(),
                    scopes: scopes_of(v.get("scope")),
                })
            });
            self.token = Some(match cached {
                Some(token) => token,
                None => self.fetch_token()?,
            });
        }
        Ok(self.token.as_ref().expect("token was just set"))
    }

    fn fetch_token(&mut self) -> Result<Token, ActionError> {
        let url = format!(
            "{}oauth/token?{}",
            self.config.oauth_token_url,
            encode::query(&[
                ("grant_type".into(), "account_credentials".into()),
                ("account_id".into(), self.config.account_id.clone()),
            ])
        );
        log::log(log::Level::Debug, "requesting a Zoom access token");
        let response = http::send(&Request {
            method: "POST".into(),
            url,
            headers: vec![
                (
                    "authorization".into(),
                    encode::basic_auth(&self.config.client_id, &self.config.client_secret),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: None,
            // Asking for a token changes nothing: safe to repeat.
            idempotent: true,
        })
        .map_err(from_transport)?;
        if response.status != 200 {
            return Err(from_oauth(response.status, &response.body));
        }
        let body: Value = serde_json::from_slice(&response.body).map_err(|_| {
            error(
                ErrorKind::Upstream,
                "Zoom's token endpoint answered with something that is not JSON",
            )
        })?;
        let access_token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                error(
                    ErrorKind::Upstream,
                    "Zoom's token answer has no access_token",
                )
            })?
            .to_owned();
        let expires_in = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(3600);
        let ttl = expires_in.saturating_sub(TOKEN_MARGIN_SECS);
        if ttl > 0 {
            let cached = serde_json::json!({
                "access_token": access_token,
                "scope": body.get("scope").cloned().unwrap_or(Value::Null),
            });
            cache::set(
                &self.cache_key(),
                &cached.to_string(),
                u32::try_from(ttl).unwrap_or(u32::MAX),
            );
        }
        Ok(Token {
            access_token,
            scopes: scopes_of(body.get("scope")),
        })
    }

    fn forget_token(&mut self) {
        self.token = None;
        cache::delete(&self.cache_key());
    }

    /// Call `{api_url}v2/{path}`; its answer parsed (`null` for an empty
    /// one). `path` segments must already be encoded.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, ActionError> {
        let response = self.exchange(method, path, query, body)?;
        if response.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&response.body).map_err(|_| not_json(method, path))
    }

    /// [`Client::call`] for an action whose result is Zoom's answer as it
    /// came: the body is checked to be JSON but not built into a tree and
    /// written out again (a third of a `get_user`'s time in the component).
    pub fn call_verbatim(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<String, ActionError> {
        let response = self.exchange(method, path, query, None)?;
        if response.body.is_empty() {
            return Ok("null".into());
        }
        let text = String::from_utf8(response.body).map_err(|_| not_json(method, path))?;
        serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|_| not_json(method, path))?;
        Ok(text)
    }

    /// Send the request (a 401 gets one new token and one retry); a status
    /// outside 2xx becomes the error Zoom's code and message say.
    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Response, ActionError> {
        let mut url = format!("{}v2/{}", self.config.api_url, path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&encode::query(query));
        }
        let body = body.map(|b| b.to_string().into_bytes());
        let mut response = self.send_api(method, &url, body.clone())?;
        if response.status == 401 {
            // Zoom 124: the token expired or was revoked. One new token, one retry.
            log::log(
                log::Level::Info,
                "Zoom rejected the access token; fetching a new one",
            );
            self.forget_token();
            response = self.send_api(method, &url, body)?;
            if response.status == 401 {
                self.forget_token();
            }
        }
        if !(200..300).contains(&response.status) {
            return Err(from_api(response.status, &response.body, None));
        }
        Ok(response)
    }

    fn send_api(
        &mut self,
        method: &str,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, ActionError> {
        let bearer = format!("Bearer {}", self.token()?.access_token);
        let mut headers = vec![
            ("authorization".into(), bearer),
            ("accept".into(), "application/json".into()),
        ];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        http::send(&Request {
            method: method.into(),
            url: url.into(),
            headers,
            body,
            // Zoom's PATCH updates set fields to given values: repeating one is harmless.
            idempotent: method != "POST",
        })
        .map_err(from_transport)
    }
}

fn not_json(method: &str, path: &str) -> ActionError {
    error(
        ErrorKind::Upstream,
        format!("Zoom answered {method} {path} with a body that is not JSON"),
    )
}

fn scopes_of(scope: Option<&Value>) -> Vec<String> {
    scope
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}
