//! The actions, one table of declarations per family. The manifest and the
//! dispatch both come from [`all`].

mod call_api;
mod chat;
mod common;
mod dates;
mod meeting_status;
mod meetings;
mod paging;
mod panelists;
mod past_meetings;
mod phone;
mod recording_changes;
mod recording_download;
mod recordings;
mod registrants;
mod reports;
mod user_lifecycle;
mod users;
mod webinars;

use soar_plugin_sdk::Action;

use crate::client::Client;

pub fn all() -> Vec<Action<Client>> {
    let mut actions = users::actions();
    actions.extend(user_lifecycle::actions());
    actions.extend(meetings::actions());
    actions.extend(meeting_status::actions());
    actions.extend(past_meetings::actions());
    actions.extend(registrants::actions());
    actions.extend(webinars::actions());
    actions.extend(recordings::actions());
    actions.extend(recording_changes::actions());
    actions.extend(reports::actions());
    actions.extend(phone::actions());
    actions.extend(chat::actions());
    actions.extend(call_api::actions());
    actions
}
