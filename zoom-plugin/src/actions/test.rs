//! The connectivity test: a token (credentials and account id are right) and
//! one cheap authenticated call (`GET /users/me`: network, API URL, scopes).

use serde_json::Value;

use crate::client::Client;
use crate::soar::plugin::types::{ActionError, Check, TestReport};

pub fn run(client: &mut Client) -> Result<TestReport, ActionError> {
    let scopes = client.token()?.scopes.clone();
    let mut checks = vec![Check {
        name: "token".into(),
        detail: "Server-to-Server OAuth token granted for the account".into(),
    }];
    let me = client.call("GET", "users/me", &[], None)?;
    let field = |name: &str| {
        me.get(name)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let identity = format!(
        "{} ({}), account {}",
        field("email"),
        field("id"),
        field("account_id")
    );
    checks.push(Check {
        name: "api".into(),
        detail: format!("GET /users/me answered as {identity}"),
    });
    Ok(TestReport {
        summary: format!("authenticated to Zoom as {identity}"),
        checks,
        scopes,
    })
}
