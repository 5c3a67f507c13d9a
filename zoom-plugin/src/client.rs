//! Zoom's REST API v2 over the host's `http` import, with Server-to-Server
//! OAuth. The token comes from the host's store (see `token`); a 401 (Zoom
//! code 124) forgets it, gets one fresh token and retries once.

use serde_json::Value;
use soar_plugin_sdk::http::{Download, Request, Response, SavedFile};
use soar_plugin_sdk::{ActionError, ErrorKind, Output, log};

use crate::config::ZoomConfig;
use crate::errors::{error, from_api, from_oauth};
use crate::token::{self, Granted, Token};

pub struct Client {
    config: ZoomConfig,
    key: String,
    token: Option<Token>,
}

impl Client {
    pub fn new(config: ZoomConfig) -> Self {
        let key = token::key(&config);
        Self {
            config,
            key,
            token: None,
        }
    }

    /// The methods the resource lets `call_api` send.
    pub fn call_api_methods(&self) -> &[String] {
        &self.config.call_api_methods
    }

    /// The store key of this client's token.
    pub fn token_key(&self) -> &str {
        &self.key
    }

    /// The stored token, or a new one from Zoom (single-flight through the store).
    pub fn token(&mut self) -> Result<&Token, ActionError> {
        if self.token.is_none() {
            let (version, stored) = token::read(&self.key);
            let token = match stored {
                Some(token) => token,
                None => {
                    let granted = self.fetch_token()?;
                    token::publish(&self.key, version, granted)
                }
            };
            self.token = Some(token);
        }
        Ok(self.token.as_ref().expect("token was just set"))
    }

    /// Asks Zoom for a new token (the connectivity test always does) and
    /// uses it from now on.
    pub fn fetch_token(&mut self) -> Result<Granted, ActionError> {
        let url = format!("{}oauth/token", self.config.oauth_token_url);
        log::debug("requesting a Zoom access token");
        let response = Request::post(url)
            .query(&[
                ("grant_type", "account_credentials"),
                ("account_id", self.config.account_id.as_str()),
            ])
            .basic_auth(&self.config.client_id, &self.config.client_secret)
            .header("accept", "application/json")
            // Asking for a token changes nothing: safe to repeat.
            .idempotent(true)
            .send()?;
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
        let token = Token {
            access_token,
            scopes: token::scopes_of(body.get("scope").and_then(Value::as_str).unwrap_or("")),
        };
        self.token = Some(token.clone());
        Ok(Granted {
            token,
            expires_in: body
                .get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(3600),
        })
    }

    fn forget_token(&mut self) {
        self.token = None;
        token::forget(&self.key);
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
        Ok(self.call_with_status(method, path, query, body)?.1)
    }

    /// [`Client::call`] with the answer's HTTP status (Zoom's 201 and 204 say something).
    pub fn call_with_status(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), ActionError> {
        let response = self.exchange(method, path, query, body)?;
        if response.body.is_empty() {
            return Ok((response.status, Value::Null));
        }
        let parsed = serde_json::from_slice(&response.body).map_err(|_| not_json(method, path))?;
        Ok((response.status, parsed))
    }

    /// [`Client::call`] for an action whose result is Zoom's answer as it
    /// came: the body is checked to be JSON but not built into a tree and
    /// written out again (a third of a `get_user`'s time in the component).
    pub fn call_verbatim(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Output, ActionError> {
        let response = self.exchange(method, path, query, None)?;
        if response.body.is_empty() {
            return Ok(Output::RawJson("null".into()));
        }
        let text = String::from_utf8(response.body).map_err(|_| not_json(method, path))?;
        Output::raw(text).map_err(|_| not_json(method, path))
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
        let mut request = Request::new(method, format!("{}v2/{}", self.config.api_url, path))
            .query(query)
            .header("accept", "application/json")
            // Zoom's PATCH updates set fields to given values: repeating one is harmless.
            .idempotent(method != "POST");
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = self.send_api(&request)?;
        if response.status == 401 && !self.config.user {
            // Zoom 124: the token expired or was revoked. One new token, one retry.
            log::info("Zoom rejected the access token; fetching a new one");
            self.forget_token();
            response = self.send_api(&request)?;
            if response.status == 401 {
                self.forget_token();
            }
        }
        if !response.is_success() {
            return Err(from_api(response.status, &response.body, None));
        }
        Ok(response)
    }

    /// Streams `url` (a recording's `download_url`: it takes the API's
    /// bearer token and redirects to Zoom's storage, which the host does not
    /// give the token) to `file_name` in the output directory. A 401 gets
    /// one new token and one retry, as an API call does; another answer that
    /// is not a success becomes the error Zoom's code and message say.
    pub fn download(&mut self, url: &str, file_name: &str) -> Result<SavedFile, ActionError> {
        let request = Request::get(url).idempotent(true);
        let mut outcome = self.download_once(&request, file_name)?;
        if rejects_token(&outcome) && !self.config.user {
            log::info("Zoom rejected the access token; fetching a new one");
            self.forget_token();
            outcome = self.download_once(&request, file_name)?;
            if rejects_token(&outcome) {
                self.forget_token();
            }
        }
        match outcome {
            Download::Saved(file) => Ok(file),
            Download::Answered(response) => Err(from_api(
                response.status,
                &response.body,
                response.retry_after_secs(),
            )),
        }
    }

    fn download_once(
        &mut self,
        request: &Request,
        file_name: &str,
    ) -> Result<Download, ActionError> {
        self.authorized(request)?.download(file_name)
    }

    fn send_api(&mut self, request: &Request) -> Result<Response, ActionError> {
        self.authorized(request)?.send()
    }

    /// `request` with the account's token; as it is for a user's sign-in,
    /// whose token the host adds.
    fn authorized(&mut self, request: &Request) -> Result<Request, ActionError> {
        if self.config.user {
            return Ok(request.clone());
        }
        let bearer = self.token()?.access_token.clone();
        Ok(request.clone().bearer(&bearer))
    }

    /// Whether calls go with a user's sign-in (the host's token).
    pub fn as_user(&self) -> bool {
        self.config.user
    }
}

fn not_json(method: &str, path: &str) -> ActionError {
    error(
        ErrorKind::Upstream,
        format!("Zoom answered {method} {path} with a body that is not JSON"),
    )
}

/// Zoom's answer to an expired or revoked token: 401, or code 124.
fn rejects_token(outcome: &Download) -> bool {
    let Download::Answered(response) = outcome else {
        return false;
    };
    response.status == 401
        || serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|body| body.get("code")?.as_i64())
            == Some(124)
}
