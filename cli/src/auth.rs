//! `soar-host auth login|status|logout RESOURCE`: sign a person in for a
//! resource with `auth = "user"` (the authorization code grant with PKCE,
//! the code brought back to a loopback listener), show the sign-in without
//! any token, and revoke it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use soar_host::redact::printable;
use soar_host::user_auth::{self, AuthError};
use soar_host::{HostOptions, Resource, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(clap::Args)]
#[command(
    long_about = "Sign in as a user for a resource whose file says `auth = \"user\"` (its `[oauth]` \
table names the app: client_id, client_secret, authorize_url, token_url, revoke_url, redirect_uri, \
scopes).\n\n`login` opens the system browser on the provider's consent page (or prints the URL with \
--no-browser), waits for the browser to come back to the loopback redirect_uri, checks `state`, \
exchanges the code (PKCE, S256), keeps the tokens sealed in the state directory and prints the \
sign-in (scopes, expiry) as JSON. `status` prints the same without contacting anyone. `logout` \
revokes the tokens at the provider and forgets them.\n\nNo token is ever printed. Exit 0 done; \
1 the provider refused or could not be reached; 2 nothing was sent (a bad resource file, a \
redirect_uri off loopback, a sign-in answer whose `state` is not this login's, consent declined).\n\n\
`refresh` renews the access token when it has less than two minutes left: one process at a time \
(a lease in the store), the rotated refresh token kept before the new access token is used. When \
the provider refuses the refresh token (revoked, expired, the app removed) the sign-in is marked \
`reauth_required` (see `status`), the command says to run `auth login`, exit 1, and nothing \
tries that token again.",
    after_help = "Examples:\n  soar-host auth login zoom-user.toml\n  \
soar-host auth login zoom-user.toml --no-browser\n  soar-host auth status zoom-user.toml\n  \
soar-host auth refresh zoom-user.toml\n  \
soar-host auth logout zoom-user.toml"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Sign in through the browser and keep the tokens
    Login {
        /// The resource file (*.toml) with `auth = "user"`
        resource: PathBuf,
        /// Print the URL instead of opening the browser
        #[arg(long)]
        no_browser: bool,
        /// How long to wait for the browser to come back, e.g. 2m
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Refresh the access token when it is about to expire (or always, with --force); one process refreshes, the others use its token
    Refresh {
        /// The resource file (*.toml) with `auth = "user"`
        resource: PathBuf,
        /// Refresh even when the access token has time left
        #[arg(long)]
        force: bool,
    },
    /// Show whether the resource is signed in: scopes, expiry (no token)
    Status {
        /// The resource file (*.toml) with `auth = "user"`
        resource: PathBuf,
    },
    /// Revoke the tokens at the provider and forget them
    Logout {
        /// The resource file (*.toml) with `auth = "user"`
        resource: PathBuf,
    },
}

fn fail(e: &AuthError) -> i32 {
    eprintln!("error: {}", printable(&e.message));
    if e.sent { 1 } else { 2 }
}

pub async fn run(options: &HostOptions, args: Args) -> i32 {
    let path = match &args.command {
        Command::Login { resource, .. }
        | Command::Refresh { resource, .. }
        | Command::Status { resource }
        | Command::Logout { resource } => resource.clone(),
    };
    let resource = match Resource::load(&path) {
        Ok(r) => r,
        Err(e) => return super::report(&e),
    };
    if let Err(e) = user_auth::app_of(&resource) {
        return fail(&e);
    }
    if options.no_store {
        eprintln!("error: --no-store keeps nothing: a sign-in must be kept in the state directory");
        return 2;
    }
    let Some(state_dir) = options.state_dir.clone().or_else(Store::default_dir) else {
        eprintln!(
            "error: no state directory: set SOAR_HOST_STATE_DIR or HOME, or pass --state-dir"
        );
        return 2;
    };
    let store = match Store::open(&state_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", printable(&e));
            return 2;
        }
    };
    match args.command {
        Command::Login {
            no_browser,
            timeout,
            ..
        } => login(options, &resource, &store, &state_dir, no_browser, timeout).await,
        Command::Refresh { force, .. } => {
            match user_auth::refresh(&resource, &store, &state_dir, force).await {
                Ok((status, refreshed)) => {
                    let mut value = serde_json::to_value(&status).unwrap_or_default();
                    value["refreshed"] = refreshed.into();
                    print_json(&value);
                    0
                }
                Err(e) => fail(&e),
            }
        }
        Command::Status { .. } => match user_auth::status(&resource, &store, &state_dir) {
            Ok(status) => {
                print_json(&status);
                0
            }
            Err(e) => fail(&e),
        },
        Command::Logout { .. } => match user_auth::logout(&resource, &store, &state_dir).await {
            Ok(revoked) => {
                eprintln!(
                    "{}",
                    if revoked {
                        "signed out: the tokens were revoked and forgotten"
                    } else {
                        "not signed in: nothing to revoke"
                    }
                );
                0
            }
            Err(e) => fail(&e),
        },
    }
}

fn print_json(value: &impl serde::Serialize) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

/// The listener for the provider's redirect: `redirect_uri` as configured
/// (it must be `http://` on a loopback address), or
/// `http://127.0.0.1:{free port}/callback`.
async fn listen(resource: &Resource) -> Result<(tokio::net::TcpListener, String, String), String> {
    let configured = resource
        .oauth
        .as_ref()
        .and_then(|a| a.redirect_uri.clone())
        .unwrap_or_else(|| "http://127.0.0.1:0/callback".into());
    let url =
        url::Url::parse(&configured).map_err(|e| format!("redirect_uri {configured}: {e}"))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
    if url.scheme() != "http" || !loopback {
        return Err(format!(
            "redirect_uri {configured}: `auth login` receives the code on this machine: it must be http://127.0.0.1:PORT/PATH (or localhost); the service's callback route takes other redirects"
        ));
    }
    let port = url.port().unwrap_or(80);
    let bind = if host == "[::1]" {
        "[::1]"
    } else {
        "127.0.0.1"
    };
    let listener = tokio::net::TcpListener::bind(format!("{bind}:{port}"))
        .await
        .map_err(|e| format!("redirect_uri {configured}: cannot listen on port {port}: {e}"))?;
    let actual = listener.local_addr().map_err(|e| e.to_string())?.port();
    let path = url.path().to_owned();
    let mut redirect = url;
    let _ = redirect.set_port(Some(actual));
    Ok((listener, redirect.to_string(), path))
}

/// The connectivity test's summary, with the new sign-in.
async fn who(options: &HostOptions, resource: &Resource) -> Result<String, soar_host::Error> {
    let host = soar_host::Host::with_allocation(options.clone(), soar_host::Allocation::OnDemand)?;
    Ok(host.test(resource).await?.summary)
}

async fn login(
    options: &HostOptions,
    resource: &Resource,
    store: &Store,
    state_dir: &Path,
    no_browser: bool,
    timeout: Duration,
) -> i32 {
    let (listener, redirect_uri, path) = match listen(resource).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}", printable(&e));
            return 2;
        }
    };
    let login = match user_auth::begin(resource, &redirect_uri) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    eprintln!(
        "Sign in at this URL (waiting {}):",
        humantime::format_duration(timeout)
    );
    eprintln!("{}", login.url);
    if !no_browser {
        let _ = std::process::Command::new("xdg-open")
            .arg(&login.url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let query = match tokio::time::timeout(timeout, callback(&listener, &path)).await {
        Ok(Ok(query)) => query,
        Ok(Err(e)) => {
            eprintln!("error: {}", printable(&e));
            return 1;
        }
        Err(_) => {
            eprintln!(
                "error: no sign-in came back within {}; run `auth login` again",
                humantime::format_duration(timeout)
            );
            return 1;
        }
    };
    match user_auth::finish(resource, store, state_dir, login, &query).await {
        Ok(mut status) => {
            // Who signed in: the plugin's connectivity test, as that user.
            match who(options, resource).await {
                Ok(identity) => {
                    if let Err(e) =
                        user_auth::remember_identity(resource, store, state_dir, &identity)
                    {
                        eprintln!("warning: {}", printable(&e.message));
                    }
                    status.identity = Some(identity);
                }
                Err(e) => eprintln!(
                    "warning: signed in, but the connectivity test as that user failed: {}",
                    printable(&e.to_string())
                ),
            }
            eprintln!(
                "signed in{}",
                if status.scopes.is_empty() {
                    String::new()
                } else {
                    format!("; scopes: {}", status.scopes.join(" "))
                }
            );
            print_json(&status);
            0
        }
        Err(e) => fail(&e),
    }
}

/// Wait for the browser's `GET {path}?…` on the listener and answer it; its
/// query. Other requests (a favicon) get a 404 and are not the answer.
async fn callback(
    listener: &tokio::net::TcpListener,
    path: &str,
) -> Result<Vec<(String, String)>, String> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| format!("the redirect listener: {e}"))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&head);
        let target = line
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_default()
            .to_owned();
        let (target_path, query) = target.split_once('?').unwrap_or((&target, ""));
        if target_path != path {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let body = if pairs.iter().any(|(k, _)| k == "code") {
            "<!doctype html><title>soar-host</title><p>Signed in. You can close this tab and return to the terminal."
        } else {
            "<!doctype html><title>soar-host</title><p>The sign-in did not complete. See the terminal."
        };
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        return Ok(pairs);
    }
}
