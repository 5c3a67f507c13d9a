//! The connectivity test: a fresh token (credentials and account id are
//! right, and which scopes they grant) and one cheap authenticated call
//! (`GET /users/me`: network, API URL, a user scope). The fresh token is then
//! stored for the calls that follow.

use serde_json::Value;
use soar_plugin_sdk::{ActionError, Check, Config, TestReport, readiness};

use crate::actions;
use crate::client::Client;
use crate::config::ZoomConfig;
use crate::token;

pub fn run(config: &Config) -> Result<TestReport, ActionError> {
    let mut client = Client::new(ZoomConfig::from_config(config)?);
    if client.as_user() {
        return as_user(&mut client);
    }
    // Always a new token: the test is there to check the credentials.
    let granted = client.fetch_token()?;
    let scopes = granted.token.scopes.clone();
    let mut checks = vec![Check {
        name: "token".into(),
        detail: "Server-to-Server OAuth token granted for the account".into(),
    }];
    let (me, account) = users_me(&mut client)?;
    let identity = format!("{me}, account {account}");
    checks.push(Check {
        name: "api".into(),
        detail: format!("GET /users/me answered as {identity}"),
    });
    checks.push(Check {
        name: "store".into(),
        detail: match token::replace(client.token_key(), &granted) {
            Ok(()) => "token kept in the resource's store for later calls".into(),
            Err(why) => format!("token not kept, each call will ask for one: {why}"),
        },
    });
    // Zoom lists the granted scopes; without them, readiness is unknown.
    let readiness = if scopes.is_empty() {
        Vec::new()
    } else {
        readiness(&actions::all(), &scopes)
    };
    Ok(TestReport {
        summary: format!("authenticated to Zoom as {identity}"),
        checks,
        scopes,
        readiness,
    })
}

/// A user's sign-in: the host holds the token (and its scopes); the test is
/// the authenticated call.
fn as_user(client: &mut Client) -> Result<TestReport, ActionError> {
    let (identity, _) = users_me(client)?;
    Ok(TestReport {
        summary: format!("authenticated to Zoom as the user {identity}"),
        checks: vec![Check {
            name: "api".into(),
            detail: format!(
                "GET /users/me answered as {identity}, with the signed-in user's token"
            ),
        }],
        scopes: Vec::new(),
        readiness: Vec::new(),
    })
}

/// `GET /users/me`: who answered (`email (id)`), and their account id (`?`
/// for what is absent).
fn users_me(client: &mut Client) -> Result<(String, String), ActionError> {
    let me = client.call("GET", "users/me", &[], None)?;
    let field = |name: &str| me.get(name).and_then(Value::as_str).unwrap_or("?");
    Ok((
        format!("{} ({})", field("email"), field("id")),
        field("account_id").to_owned(),
    ))
}
