//! soar-host's integration tests, one binary (linking wasmtime, axum and
//! Temporal once, not once per file), the way wasmtime's `tests/all` does.
//! Every test drives the real thing: the `soar-host` binary or the host
//! library, the built plugins in wasmtime, the Zoom sandbox on loopback,
//! `soar-host serve` over HTTP, Temporal's dev server.

mod common;

mod cli_errors;
mod console;
mod containment;
mod downloads;
mod echo_plugin;
mod fuzz_parsing;
mod hostile_plugin;
mod layout;
mod library;
mod playbooks;
mod readme;
mod service;
mod store;
mod temporal;
mod temporal_worker;
mod user_auth;
mod webhooks;
mod zoom_actions;
mod zoom_call_api;
mod zoom_containment;
mod zoom_every_action;
mod zoom_manifest;
mod zoom_meetings;
mod zoom_phone_chat;
mod zoom_recordings;
mod zoom_registrants;
mod zoom_reports;
mod zoom_webhook_events;
mod zoom_webinars;
