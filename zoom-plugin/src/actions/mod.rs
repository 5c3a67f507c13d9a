//! The actions, by name. Each maps its params onto one Zoom operation.

mod meetings;
mod paging;
pub mod test;
mod users;

use serde_json::Value;

use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;
use crate::soar::plugin::types::ActionError;

/// The action's result as JSON text.
pub fn run(action: &str, client: &mut Client, params: &Params) -> Result<String, ActionError> {
    let json = |result: Result<Value, ActionError>| result.map(|value| value.to_string());
    match action {
        // Zoom's answer is the result: passed on as it came.
        "get_user" => users::get(client, params),
        "get_user_settings" => users::get_settings(client, params),
        "list_users" => json(users::list(client, params)),
        "update_user" => json(users::update(client, params)),
        "update_user_settings" => json(users::update_settings(client, params)),
        "list_meetings" => json(meetings::list(client, params)),
        "get_meeting_invitation" => json(meetings::invitation(client, params)),
        "update_meeting" => json(meetings::update(client, params)),
        "delete_meeting" => json(meetings::delete(client, params)),
        other => Err(invalid_input(format!("unknown action `{other}`"))),
    }
}
