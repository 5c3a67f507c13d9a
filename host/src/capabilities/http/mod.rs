//! Outbound HTTP, the plugin's only way out. Every request is checked against
//! the resource's allow-list before any connection is made; the host applies
//! the action's deadline and the retry policy, and terminates TLS.

use std::time::Duration;

use crate::deadline::Deadline;
use crate::resource::check_url;
use crate::runtime::bindings::{HttpError, HttpRequest, HttpResponse};

mod resolve;
pub mod retry;

/// Bodies larger than these are refused, so a plugin or an upstream cannot
/// exhaust the host's memory.
const MAX_REQUEST_BODY: usize = 16 << 20;
const MAX_RESPONSE_BODY: usize = 32 << 20;

/// Headers a plugin may not set: the host derives them from the URL and body.
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

/// One invocation's grant: where it may go and until when.
pub struct HttpGrant {
    client: reqwest::Client,
    allowed_hosts: Vec<String>,
    deadline: Deadline,
    /// Requests that left the host, retries included.
    pub sent: u32,
    /// Seconds until the upstream's rate limit resets, from the last 429.
    pub last_retry_after: Option<u64>,
    /// What the plugin was last waiting for, for timeout messages.
    pub waiting_on: Option<String>,
}

impl HttpGrant {
    pub fn new(client: reqwest::Client, allowed_hosts: Vec<String>, deadline: Deadline) -> Self {
        Self {
            client,
            allowed_hosts,
            deadline,
            sent: 0,
            last_retry_after: None,
            waiting_on: None,
        }
    }

    /// Refuse what the policy does not allow; return the URL and its host.
    fn check(&self, request: &HttpRequest) -> Result<(reqwest::Url, String), HttpError> {
        let host = check_url(&request.url).map_err(HttpError::Denied)?;
        if !self.allowed_hosts.contains(&host) {
            return Err(HttpError::Denied(format!(
                "{host} is not among the hosts this resource allows ({})",
                self.allowed_hosts.join(", ")
            )));
        }
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| HttpError::Invalid(format!("bad URL: {e}")))?;
        if request
            .body
            .as_ref()
            .is_some_and(|b| b.len() > MAX_REQUEST_BODY)
        {
            return Err(HttpError::Invalid(format!(
                "request body over {} MiB",
                MAX_REQUEST_BODY >> 20
            )));
        }
        Ok((url, host))
    }

    pub async fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (url, host) = self.check(&request)?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::Invalid(format!("bad method `{}`", request.method)))?;
        let idempotent = request.idempotent
            || matches!(
                method,
                reqwest::Method::GET
                    | reqwest::Method::HEAD
                    | reqwest::Method::PUT
                    | reqwest::Method::DELETE
                    | reqwest::Method::OPTIONS
            );
        let what = format!("{method} {}{}", host, url.path());
        self.waiting_on = Some(what.clone());
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let remaining = self.deadline.remaining();
            if remaining.is_zero() {
                return Err(HttpError::Timeout(format!(
                    "the action's deadline passed before {what}"
                )));
            }
            let mut builder = self
                .client
                .request(method.clone(), url.clone())
                .timeout(remaining);
            for (name, value) in &request.headers {
                if !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                    builder = builder.header(name, value);
                }
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            self.sent += 1;
            tracing::debug!(target: "http", attempt, "{what}");
            // An answer too large to take is final: asking again would get
            // the same.
            let (outcome, final_answer) = match builder.send().await {
                Ok(response) => match read(response, &host).await {
                    Ok(answer) => (Ok(answer), false),
                    Err(ReadError::Transport(e)) => (Err(e), false),
                    Err(ReadError::TooLarge(e)) => (Err(e), true),
                },
                Err(e) => (Err(transport_error(&e, &host, &what)), false),
            };
            let wait = match final_answer {
                true => None,
                false => retry::decide(&outcome, idempotent, attempt, &self.deadline),
            };
            if let Ok(response) = &outcome
                && response.status == 429
            {
                self.last_retry_after = retry::retry_after_secs(&response.headers);
            }
            match wait {
                Some(wait) => {
                    tracing::info!(
                        target: "http",
                        "{what}: {}; retrying in {} ms",
                        retry::describe(&outcome),
                        wait.as_millis()
                    );
                    tokio::time::sleep(wait).await;
                }
                None => {
                    if outcome.is_ok() {
                        self.waiting_on = None;
                    }
                    return outcome;
                }
            }
        }
    }
}

/// Why an answer could not be read.
enum ReadError {
    /// The connection failed on the way (worth another attempt when the
    /// request is idempotent).
    Transport(HttpError),
    /// The body is over [`MAX_RESPONSE_BODY`].
    TooLarge(HttpError),
}

async fn read(mut response: reqwest::Response, host: &str) -> Result<HttpResponse, ReadError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                    return Err(ReadError::TooLarge(HttpError::Connect(format!(
                        "{host} answered with a body over {} MiB",
                        MAX_RESPONSE_BODY >> 20
                    ))));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(ReadError::Transport(transport_error(
                    &e,
                    host,
                    "reading the answer",
                )));
            }
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// reqwest's top-level message is vague ("error sending request"); the
/// causes say what happened (refused, DNS, certificate).
fn transport_error(error: &reqwest::Error, host: &str, what: &str) -> HttpError {
    if error.is_timeout() {
        return HttpError::Timeout(format!("no answer from {host} in time ({what})"));
    }
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let detail = causes.last().cloned().unwrap_or_else(|| error.to_string());
    // rustls's own messages; say plainly that it is TLS (a wrong port, a proxy, a bad certificate).
    const TLS: [&str; 6] = [
        "received corrupt message",
        "invalid peer certificate",
        "received fatal alert",
        "peer is incompatible",
        "peer misbehaved",
        "unexpected message",
    ];
    if TLS.iter().any(|m| detail.contains(m)) {
        return HttpError::Connect(format!(
            "cannot reach {host}: TLS handshake failed: {detail}"
        ));
    }
    HttpError::Connect(format!("cannot reach {host}: {detail}"))
}

/// The client all invocations share: connection reuse, rustls, no redirects
/// (a redirect could lead off the allow-list; the plugin sees the 3xx).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("soar-host/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(std::sync::Arc::new(resolve::GuardedResolver))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
