//! User-level OAuth for a resource with `auth = "user"`: the authorization
//! code grant with PKCE (S256) and `state`, through the `oauth2` crate, the
//! tokens kept sealed in the store ([`vault`]), revoked at the provider on
//! logout. The token endpoint is called with redirects off, and every
//! provider URL must be https (plain http on loopback only), as for a
//! plugin's egress.
//!
//! The tokens are keyed by the resource's file and the app that granted
//! them (token URL, client id): point the resource at another app and the
//! old tokens are never used.

pub mod vault;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Store;
use crate::capabilities::store::SealedTokens;
use crate::resource::{OAuthApp, Resource};
use vault::Vault;

/// Why a login, status or logout did not happen; `sent` when the provider
/// was asked (exit 1 on the command line) rather than refused before (2).
#[derive(Debug)]
pub struct AuthError {
    pub sent: bool,
    /// The provider refused the refresh token (revoked, expired, the app
    /// removed): only a new `auth login` mends it; nothing retries it.
    pub reauth: bool,
    pub message: String,
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn before(message: impl Into<String>) -> AuthError {
    AuthError {
        sent: false,
        reauth: false,
        message: message.into(),
    }
}

fn after(message: impl Into<String>) -> AuthError {
    AuthError {
        sent: true,
        reauth: false,
        message: message.into(),
    }
}

fn reauth(resource: &Resource, why: &str) -> AuthError {
    AuthError {
        sent: true,
        reauth: true,
        message: format!(
            "the sign-in of {} is no longer valid ({why}): run `soar-host auth login {}`",
            resource.label,
            resource.path.display()
        ),
    }
}

/// Refresh this long before the access token expires: it never dies in flight.
pub const MARGIN_SECS: u64 = 120;
/// How long one process may hold the refresh (its request's deadline and more).
const LEASE_SECS: u64 = 45;
/// How long a caller waits for another process's refresh.
const WAIT_SECS: u64 = 60;

/// What the store keeps for a resource, sealed.
#[derive(Serialize, Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: Option<String>,
    /// Seconds since the epoch; `None` when the provider did not say.
    expires_at: Option<u64>,
    scopes: Vec<String>,
    obtained_at: u64,
    /// Who signed in, as the plugin's test said it after the login.
    #[serde(default)]
    identity: Option<String>,
}

/// What `auth status` shows: never a token.
#[derive(Debug, Serialize)]
pub struct Status {
    pub resource: String,
    pub signed_in: bool,
    /// Who signed in (the connectivity test's words after the login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// When the access token expires (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Whether a refresh token is kept.
    pub refreshable: bool,
    /// Set when the provider refused the refresh token: sign in again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reauth_required: Option<String>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

/// The resource's app, or why it has none.
pub fn app_of(resource: &Resource) -> Result<&OAuthApp, AuthError> {
    resource.oauth.as_ref().ok_or_else(|| {
        before(format!(
            "{}: `auth` is not \"user\": this resource signs in as its account (Server-to-Server); \
             set `auth = \"user\"` and an `[oauth]` table to sign in as a user",
            resource.path.display()
        ))
    })
}

/// The store key of `app`'s tokens for `resource`.
fn key(resource: &Resource, app: &OAuthApp) -> String {
    let mut hash = Sha256::new();
    for part in [
        resource.id.as_bytes(),
        app.token_url.as_bytes(),
        app.client_id.as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    format!("user-oauth:v1:{}", crate::hex(&hash.finalize()))
}

/// https, or http on loopback only; within the resource's pinned
/// `egress` list when it has one.
fn checked_url(resource: &Resource, what: &str, url: &str) -> Result<url::Url, AuthError> {
    let parsed = url::Url::parse(url).map_err(|e| before(format!("[oauth] {what} {url}: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !(parsed.scheme() == "https" || parsed.scheme() == "http" && loopback) {
        return Err(before(format!(
            "[oauth] {what} {url}: must be https (plain http only on loopback)"
        )));
    }
    // A resource that pins its egress pins its provider's too.
    if let Some(rules) = &resource.pinned_egress {
        let policy = crate::egress::Policy {
            rules: rules.clone(),
        };
        policy.check_url(&parsed).map_err(|e| {
            before(format!(
                "[oauth] {what} {url}: not in the resource's `egress` list ({e})"
            ))
        })?;
    }
    Ok(parsed)
}

/// An HTTP client for the provider: no redirects (a token request that
/// followed one could hand the code to another host).
fn http() -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| before(format!("HTTP client: {e}")))
}

fn secret_of(app: &OAuthApp) -> Result<Option<ClientSecret>, AuthError> {
    match &app.client_secret {
        None => Ok(None),
        Some(source) => match source.read("client_secret") {
            Ok(serde_json::Value::String(s)) => {
                crate::redact::register(std::slice::from_ref(&s));
                Ok(Some(ClientSecret::new(s)))
            }
            Ok(_) => Err(before("[oauth] client_secret must be a string")),
            Err(e) => Err(before(format!("[oauth] {e}"))),
        },
    }
}

/// RFC 7009 revocation: the refresh token (which ends the grant) or else
/// the access token, the client authenticated as for the token endpoint.
/// By hand, not through `oauth2`, which refuses a revocation URL on
/// loopback http (the sandbox's; the rule here is the egress rule).
async fn revoke(app: &OAuthApp, url: url::Url, tokens: &Tokens) -> Result<(), AuthError> {
    let (token, hint) = match &tokens.refresh_token {
        Some(t) => (t.as_str(), "refresh_token"),
        None => (tokens.access_token.as_str(), "access_token"),
    };
    let mut request = http()?
        .post(url)
        .form(&[("token", token), ("token_type_hint", hint)]);
    match secret_of(app)? {
        Some(secret) => request = request.basic_auth(&app.client_id, Some(secret.secret())),
        None => {
            request = request.query(&[("client_id", app.client_id.as_str())]);
        }
    }
    let answer = request.send().await.map_err(|e| {
        after(format!(
            "the provider could not be reached to revoke: {}",
            e.without_url()
        ))
    })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let body: serde_json::Value = answer
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    Err(after(format!(
        "the provider refused to revoke (HTTP {}{}); the tokens are kept: run `auth logout` again",
        status.as_u16(),
        body.get("error")
            .and_then(serde_json::Value::as_str)
            .map(|e| format!(", {}", crate::redact::printable(e)))
            .unwrap_or_default()
    )))
}

/// The provider's answer to a token request, said without the token.
fn refused<RE: std::error::Error + 'static>(
    e: &RequestTokenError<RE, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => after(format!(
            "the provider refused: {}{}",
            r.error(),
            r.error_description()
                .map(|d| format!(" ({})", crate::redact::printable(d)))
                .unwrap_or_default()
        )),
        RequestTokenError::Request(e) => after(format!("the provider could not be reached: {e}")),
        RequestTokenError::Parse(e, _) => after(format!(
            // serde's message may quote a value of the answer: only where.
            "the provider's token answer is not OAuth's (at `{}`)",
            e.path()
        )),
        RequestTokenError::Other(e) => after(format!("the token request failed: {e}")),
    }
}

/// A login under way: the URL for the browser, and what checks its answer.
pub struct Login {
    pub url: String,
    pub redirect_uri: String,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
}

impl Login {
    /// Its `state`: what the answer must carry back (a secret until then).
    pub fn state(&self) -> &str {
        self.state.secret()
    }
}

/// Start a login for `resource` with the code returned to `redirect_uri`.
pub fn begin(resource: &Resource, redirect_uri: &str) -> Result<Login, AuthError> {
    let app = app_of(resource)?;
    let authorize = checked_url(resource, "authorize_url", &app.authorize_url)?;
    checked_url(resource, "token_url", &app.token_url)?;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(authorize))
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned())
                .map_err(|e| before(format!("redirect_uri {redirect_uri}: {e}")))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(app.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Login {
        url: url.to_string(),
        redirect_uri: redirect_uri.to_owned(),
        state,
        verifier,
    })
}

/// Finish `login` with the query its redirect brought (`code` and `state`,
/// or `error`): check `state`, exchange the code, keep the tokens.
pub async fn finish(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
    login: Login,
    query: &[(String, String)],
) -> Result<Status, AuthError> {
    let app = app_of(resource)?;
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("state") != Some(login.state.secret().as_str()) {
        return Err(before(
            "the sign-in answer's `state` is not this login's: it was not started here (or is a replay); nothing was exchanged",
        ));
    }
    if let Some(error) = param("error") {
        return Err(before(format!(
            "sign-in refused at the provider: {}{}",
            crate::redact::printable(error),
            param("error_description")
                .map(|d| format!(" ({})", crate::redact::printable(d)))
                .unwrap_or_default()
        )));
    }
    let Some(code) = param("code") else {
        return Err(before("the sign-in answer has no `code`"));
    };
    let token_url = checked_url(resource, "token_url", &app.token_url)?;
    let mut client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(token_url))
        .set_redirect_uri(
            RedirectUrl::new(login.redirect_uri.clone())
                .map_err(|e| before(format!("redirect_uri: {e}")))?,
        );
    if let Some(secret) = secret_of(app)? {
        client = client.set_client_secret(secret);
    }
    let answer = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(login.verifier)
        .request_async(&http()?)
        .await
        .map_err(|e| refused(&e))?;
    let tokens = tokens_of(&answer, &app.scopes);
    let key = key(resource, app);
    // A new login replaces what was kept, whatever its version.
    let current = store
        .user_tokens(&key)
        .map_err(|e| after(format!("the store: {e:?}")))?
        .map(|t| t.version);
    put(
        store,
        &Vault::open(state_dir).map_err(after)?,
        &key,
        &tokens,
        current,
    )?
    .ok_or_else(|| {
        after("another process signed this resource in at the same moment; run `auth status`")
    })?;
    Ok(status_of(resource, Some(&tokens), None))
}

/// A kept row's tokens, opened with the vault.
fn unseal(vault: &Vault, key: &str, row: &SealedTokens) -> Result<Tokens, AuthError> {
    let text = vault.open_sealed(&row.sealed, key).map_err(before)?;
    serde_json::from_slice(&text).map_err(|_| {
        before("the kept tokens are not in this version's form; run `auth login` again")
    })
}

/// The store failed before anything was sent.
fn store_error(e: crate::bindings::StoreError) -> AuthError {
    before(format!("the store: {e:?}"))
}

/// Seal `tokens` and write them over version `expected`.
fn put(
    store: &Store,
    vault: &Vault,
    key: &str,
    tokens: &Tokens,
    expected: Option<i64>,
) -> Result<Option<i64>, AuthError> {
    let text = serde_json::to_vec(tokens).map_err(|e| after(e.to_string()))?;
    store
        .put_user_tokens(key, &vault.seal(&text, key), expected)
        .map_err(|e| after(format!("the store: {e:?}")))
}

/// A good access token for `resource`: the kept one while it has more than
/// [`MARGIN_SECS`] to live (and `force` is off), else a refreshed one.
/// Single-flight across processes: one takes the row's lease and refreshes,
/// writing the rotated refresh token before its access token is used; the
/// others wait for that write. A refresh the provider refuses is checked
/// against the store again (another process may have rotated the token
/// meanwhile) before the sign-in is marked as needing a new login. `true`:
/// this call refreshed.
async fn fresh(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
    force: bool,
    refused: Option<&str>,
) -> Result<(Tokens, bool), AuthError> {
    let app = app_of(resource)?;
    let key = key(resource, app);
    let vault = Vault::open(state_dir).map_err(before)?;
    let give_up = now_secs() + WAIT_SECS;
    let mut first_version = None;
    loop {
        let Some(row) = store.user_tokens(&key).map_err(store_error)? else {
            return Err(before(format!(
                "{} is not signed in: run `soar-host auth login {}`",
                resource.label,
                resource.path.display()
            )));
        };
        if let Some(why) = &row.reauth {
            return Err(reauth(resource, why));
        }
        let tokens = unseal(&vault, &key, &row)?;
        // A token another process wrote since this call began will do
        // while it lives (forced or not: one refresh for all who waited);
        // the one found first, while it has the margin to live, unless forced.
        let written_since = first_version.is_some_and(|v| v != row.version);
        let good = if refused == Some(tokens.access_token.as_str()) {
            false
        } else if written_since {
            tokens.expires_at.is_none_or(|at| at > now_secs())
        } else {
            !force
                && tokens
                    .expires_at
                    .is_none_or(|at| at > now_secs() + MARGIN_SECS)
        };
        if good {
            return Ok((tokens, false));
        }
        first_version.get_or_insert(row.version);
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(reauth(
                resource,
                "the access token expired and there is no refresh token",
            ));
        };
        let until = i64::try_from(now_secs() + LEASE_SECS).unwrap_or(i64::MAX);
        let leased = store
            .lease_user_tokens(&key, row.version, until)
            .map_err(store_error)?;
        if !leased {
            if now_secs() > give_up {
                return Err(after(format!(
                    "another process has been refreshing {}'s token for {WAIT_SECS} s; try again",
                    resource.label
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        match exchange_refresh(resource, app, &refresh_token).await {
            Ok(mut renewed) => {
                if renewed.refresh_token.is_none() {
                    renewed.refresh_token = Some(refresh_token);
                }
                if renewed.scopes.is_empty() {
                    renewed.scopes = tokens.scopes.clone();
                }
                renewed.identity = tokens.identity.clone();
                match put(store, &vault, &key, &renewed, Some(row.version))? {
                    Some(_) => return Ok((renewed, true)),
                    // The lease ran out and another process wrote: use its.
                    None => continue,
                }
            }
            Err(Refusal::InvalidGrant(why)) => {
                let moved = store
                    .user_tokens(&key)
                    .map_err(|e| after(format!("the store: {e:?}")))?
                    .is_some_and(|now| now.version != row.version);
                if moved {
                    continue;
                }
                store
                    .refuse_user_tokens(&key, row.version, &why)
                    .map_err(|e| after(format!("the store: {e:?}")))?;
                return Err(reauth(resource, &why));
            }
            Err(Refusal::Other(e)) => {
                let _ = store.release_user_tokens(&key, row.version);
                return Err(e);
            }
        }
    }
}

enum Refusal {
    /// `invalid_grant`: the refresh token is dead.
    InvalidGrant(String),
    Other(AuthError),
}

async fn exchange_refresh(
    resource: &Resource,
    app: &OAuthApp,
    refresh_token: &str,
) -> Result<Tokens, Refusal> {
    let token_url = checked_url(resource, "token_url", &app.token_url).map_err(Refusal::Other)?;
    let mut client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(token_url));
    if let Some(secret) = secret_of(app).map_err(Refusal::Other)? {
        client = client.set_client_secret(secret);
    }
    let http = http().map_err(Refusal::Other)?;
    let answer = client
        .exchange_refresh_token(&oauth2::RefreshToken::new(refresh_token.to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| match &e {
            RequestTokenError::ServerResponse(r)
                if *r.error() == BasicErrorResponseType::InvalidGrant =>
            {
                Refusal::InvalidGrant(format!(
                    "the provider refused the refresh token: invalid_grant{}",
                    r.error_description()
                        .map(|d| format!(", {}", crate::redact::printable(d)))
                        .unwrap_or_default()
                ))
            }
            _ => Refusal::Other(refused(&e)),
        })?;
    Ok(tokens_of(&answer, &[]))
}

/// The kept form of a token answer; `asked` scopes when it names none.
fn tokens_of(answer: &oauth2::basic::BasicTokenResponse, asked: &[String]) -> Tokens {
    let now = now_secs();
    Tokens {
        access_token: answer.access_token().secret().clone(),
        refresh_token: answer.refresh_token().map(|t| t.secret().clone()),
        expires_at: answer.expires_in().map(|d| now + d.as_secs()),
        scopes: match answer.scopes() {
            Some(granted) => granted.iter().map(|s| s.to_string()).collect(),
            None => asked.to_vec(),
        },
        obtained_at: now,
        identity: None,
    }
}

/// The access token for a call (see [`fresh`]): the host's, never shown.
pub(crate) async fn access_token(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
) -> Result<String, AuthError> {
    let (tokens, _) = fresh(resource, store, state_dir, false, None).await?;
    Ok(tokens.access_token)
}

/// Another access token than `refused`, which the upstream turned down:
/// one another process renewed meanwhile, else a refreshed one.
pub(crate) async fn renewed_token(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
    refused: &str,
) -> Result<String, AuthError> {
    let (tokens, _) = fresh(resource, store, state_dir, false, Some(refused)).await?;
    Ok(tokens.access_token)
}

/// [`fresh`], said as a status (no token); `true` when it refreshed.
pub async fn refresh(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
    force: bool,
) -> Result<(Status, bool), AuthError> {
    let (tokens, refreshed) = fresh(resource, store, state_dir, force, None).await?;
    Ok((status_of(resource, Some(&tokens), None), refreshed))
}

fn status_of(resource: &Resource, tokens: Option<&Tokens>, reauth: Option<String>) -> Status {
    Status {
        resource: resource.label.clone(),
        signed_in: tokens.is_some() && reauth.is_none(),
        identity: tokens.and_then(|t| t.identity.clone()),
        scopes: tokens.map(|t| t.scopes.clone()).unwrap_or_default(),
        expires_at: tokens.and_then(|t| t.expires_at).map(rfc3339),
        refreshable: tokens.is_some_and(|t| t.refresh_token.is_some()),
        reauth_required: reauth,
    }
}

fn kept(
    resource: &Resource,
    app: &OAuthApp,
    store: &Store,
    state_dir: &Path,
) -> Result<Option<(Tokens, Option<String>)>, AuthError> {
    let key = key(resource, app);
    let Some(row) = store.user_tokens(&key).map_err(store_error)? else {
        return Ok(None);
    };
    let tokens = unseal(&Vault::open(state_dir).map_err(before)?, &key, &row)?;
    Ok(Some((tokens, row.reauth)))
}

/// Remember who the kept sign-in is (`auth status` shows it).
pub fn remember_identity(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
    identity: &str,
) -> Result<(), AuthError> {
    let app = app_of(resource)?;
    let key = key(resource, app);
    let vault = Vault::open(state_dir).map_err(before)?;
    // Another process may write meanwhile (a refresh): read again and retry.
    for _ in 0..10 {
        let Some(row) = store.user_tokens(&key).map_err(store_error)? else {
            return Ok(());
        };
        let mut tokens = unseal(&vault, &key, &row)?;
        tokens.identity = Some(identity.to_owned());
        if put(store, &vault, &key, &tokens, Some(row.version))?.is_some() {
            return Ok(());
        }
    }
    Err(after(
        "the sign-in kept changing; its identity was not noted",
    ))
}

/// Whether `resource` is signed in, as whom it may act, until when.
pub fn status(resource: &Resource, store: &Store, state_dir: &Path) -> Result<Status, AuthError> {
    let app = app_of(resource)?;
    let kept = kept(resource, app, store, state_dir)?;
    Ok(match kept {
        Some((tokens, reauth)) => status_of(resource, Some(&tokens), reauth),
        None => status_of(resource, None, None),
    })
}

/// Revoke the kept tokens at the provider (when it has a `revoke_url`)
/// and forget them. `Ok(false)`: nothing was kept.
pub async fn logout(
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
) -> Result<bool, AuthError> {
    let app = app_of(resource)?;
    let Some((tokens, _)) = kept(resource, app, store, state_dir)? else {
        return Ok(false);
    };
    if let Some(revoke_url) = &app.revoke_url {
        revoke(
            app,
            checked_url(resource, "revoke_url", revoke_url)?,
            &tokens,
        )
        .await?;
    }
    store
        .delete_user_tokens(&key(resource, app))
        .map_err(|e| after(format!("the store: {e:?}")))?;
    Ok(true)
}
