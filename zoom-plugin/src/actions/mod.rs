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

pub fn run(action: &str, client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    match action {
        "get_user" => users::get(client, params),
        "list_users" => users::list(client, params),
        "update_user" => users::update(client, params),
        "get_user_settings" => users::get_settings(client, params),
        "update_user_settings" => users::update_settings(client, params),
        "list_meetings" => meetings::list(client, params),
        "get_meeting_invitation" => meetings::invitation(client, params),
        "update_meeting" => meetings::update(client, params),
        "delete_meeting" => meetings::delete(client, params),
        other => Err(invalid_input(format!("unknown action `{other}`"))),
    }
}
