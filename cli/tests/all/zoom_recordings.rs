//! Cloud recordings end to end: a user's recordings by date, one meeting's
//! files, every file of a meeting downloaded, trashing and recovering (by a
//! UUID Zoom wants encoded twice), deleting one file for good, and taking a
//! recording off public sharing. Each test checks what reached the sandbox,
//! the output, and what the sandbox holds afterwards.

use std::path::PathBuf;

use crate::common::{
    Env, Run, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query,
};
use serde_json::{Value, json};
use zoom_sandbox::RecordingFile;
use zoom_sandbox::catalog::percent_encode;

/// A meeting's recording of two files; the owner's first meeting, whose UUID begins with `/`.
fn recorded(env: &Env) -> (u64, RecordingFile, RecordingFile) {
    let id = env.sandbox.meeting_ids("me")[0];
    (
        id,
        env.sandbox.add_recording(id, 1000),
        env.sandbox.add_recording(id, 2000),
    )
}

fn uuid(env: &Env, id: u64) -> String {
    let meeting = env.sandbox.meeting(id).unwrap();
    meeting["uuid"].as_str().unwrap().to_owned()
}

fn day(env: &Env, id: u64) -> String {
    env.sandbox.meeting(id).unwrap()["start_time"]
        .as_str()
        .unwrap()[..10]
        .to_owned()
}

fn file_ids(listing: &Value) -> Vec<&str> {
    let files = listing["recording_files"].as_array().unwrap();
    files.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

#[test]
fn list_recordings_of_a_user_by_date_range_follows_pages() {
    let env = Env::new();
    let ids = env.sandbox.meeting_ids("me");
    env.sandbox.add_recording(ids[0], 10);
    env.sandbox.add_recording(ids[1], 10);
    let (from, to) = (day(&env, ids[0]), day(&env, ids[1]));
    let params = json!({"user_id": "me", "from": from, "to": to, "page_size": 1, "limit": 5});
    let run = env.invoke("list_recordings", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let meetings: Vec<&Value> = out["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(meetings, [&json!(ids[1]), &json!(ids[0])]);
    assert_eq!((&out["from"], &out["to"]), (&json!(from), &json!(to)));
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/v2/users/me/recordings")
    );
    assert_eq!(
        query(&requests[0]),
        vec![
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("page_size", "1")
        ]
    );
    assert!(requests[1].query_value("next_page_token").is_some());

    env.sandbox.clear_requests();
    let run = env.invoke(
        "list_recordings",
        json!({"user_id": "nobody@example.org", "trash": true}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 1001): User does not exist: nobody@example.org.",
    );
    assert_eq!(query(&env.only_api_request()), vec![("trash", "true")]);
    assert_follows_zooms_specs(&env);
}

#[test]
fn download_recording_without_a_file_saves_every_file_of_the_meeting() {
    let env = Env::new();
    let (id, a, b) = recorded(&env);
    let extra = format!("storage_url = \"{}\"\n", env.sandbox.storage_url());
    let resource = env.write_resource("storage.toml", &env.resource_toml("Storage", &extra));
    let output: PathBuf = env.dir.path().join("out");
    std::fs::create_dir(&output).unwrap();
    let run: Run = env.cli(&[
        "invoke",
        resource.to_str().unwrap(),
        "download_recording",
        "-p",
        &format!("meeting_id={id}"),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(
        (&out["meeting_id"], &out["count"], &out["total_size"]),
        (&json!(id), &json!(2), &json!(3000))
    );
    assert_eq!(out["skipped"], json!([]));
    for (saved, file) in out["files"].as_array().unwrap().iter().zip([&a, &b]) {
        assert_eq!(saved["file_id"], file.id.as_str());
        assert_eq!(saved["sha256"], file.sha256_hex.as_str());
        let name = format!("zoom-{id}-{}.mp4", file.id);
        assert_eq!(saved["file"], name.as_str());
        assert_eq!(
            std::fs::metadata(output.join(&name)).unwrap().len(),
            file.size
        );
    }
    let listing = &env.api_requests()[0];
    assert_eq!(listing.path, format!("/v2/meetings/{id}/recordings"));
    assert_eq!(env.sandbox.storage_requests().len(), 2);
}

#[test]
fn trashed_recordings_come_back_by_a_uuid_encoded_twice() {
    let env = Env::new();
    let (id, a, b) = recorded(&env);
    let run = env.invoke("delete_meeting_recordings", json!({"meeting_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"meeting_id": id, "action": "trash", "deleted": true,
               "message": format!("Recordings of meeting {id} moved to the trash")})
    );
    let r = env.only_api_request_to("DELETE", &format!("/v2/meetings/{id}/recordings"));
    assert_eq!(query(&r), vec![("action", "trash")]);
    let run = env.invoke("get_meeting_recordings", json!({"meeting_id": id}));
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3301): There is no recording for this meeting.",
    );

    env.sandbox.clear_requests();
    let uuid = uuid(&env, id);
    assert!(uuid.starts_with('/'), "{uuid}");
    let run = env.invoke("recover_meeting_recordings", json!({"meeting_id": uuid}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["recovered"], true);
    let r = env.only_api_request();
    let twice = percent_encode(&percent_encode(&uuid));
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        ("PUT", format!("/v2/meetings/{twice}/recordings/status"))
    );
    assert_eq!(r.json, Some(json!({"action": "recover"})));
    let listing = env
        .invoke("get_meeting_recordings", json!({"meeting_id": id}))
        .json();
    assert_eq!(file_ids(&listing), [a.id.as_str(), b.id.as_str()]);
    assert_follows_zooms_specs(&env);
}

#[test]
fn one_file_deleted_for_good_cannot_be_recovered() {
    let env = Env::new();
    let (id, a, b) = recorded(&env);
    let params = json!({"meeting_id": id, "recording_id": a.id, "action": "delete"});
    let run = env.invoke("delete_recording_file", params);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"meeting_id": id, "recording_id": a.id, "action": "delete", "deleted": true,
               "message": format!("Recording file {} deleted for good", a.id)})
    );
    let r = env.only_api_request();
    assert_eq!(r.path, format!("/v2/meetings/{id}/recordings/{}", a.id));
    assert_eq!(query(&r), vec![("action", "delete")]);
    let run = env.invoke(
        "recover_recording_file",
        json!({"meeting_id": id, "recording_id": a.id}),
    );
    assert_zoom_error(
        &run,
        &format!(
            "error: not found (Zoom 3301): There is no recording file: {}.",
            a.id
        ),
    );
    let listing = env
        .invoke("get_meeting_recordings", json!({"meeting_id": id}))
        .json();
    assert_eq!(file_ids(&listing), [b.id.as_str()]);
    assert_follows_zooms_specs(&env);
}

#[test]
fn update_recording_settings_takes_a_recording_off_public_sharing() {
    let env = Env::new();
    let (id, _, _) = recorded(&env);
    let before = env
        .invoke("get_recording_settings", json!({"meeting_id": id}))
        .json();
    assert_eq!(before["share_recording"], "publicly");
    env.sandbox.clear_requests();
    let params = json!({"meeting_id": id, "share_recording": "none", "viewer_download": false});
    let run = env.invoke("update_recording_settings", params);
    assert_eq!(run.code, 0, "{run:?}");
    let body = json!({"share_recording": "none", "viewer_download": false});
    assert_eq!(
        run.json(),
        json!({"meeting_id": id, "updated": true, "settings": body,
               "message": format!("Recording settings of meeting {id} updated")})
    );
    let r = env.only_api_request_to("PATCH", &format!("/v2/meetings/{id}/recordings/settings"));
    assert_eq!(r.json, Some(body));
    let after = env
        .invoke("get_recording_settings", json!({"meeting_id": id}))
        .json();
    assert_eq!(
        (&after["share_recording"], &after["viewer_download"]),
        (&json!("none"), &json!(false))
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn wrong_recording_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let cases = [
        (
            "list_recordings",
            json!({}),
            "missing required param `user_id`",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "from": "2024/01/01", "to": "2024-01-02"}),
            "param `from`",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "from": "2024-01-01"}),
            "param `from` needs `to`",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "from": "2024-01-31", "to": "2024-03-01"}),
            "more than one month",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "from": "2024-02-01", "to": "2024-01-01"}),
            "param `to` (2024-01-01) is before `from`",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "trash": true, "from": "2024-01-01", "to": "2024-01-02"}),
            "do not apply to the trash",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "trash_type": "recording_file"}),
            "param `trash_type` needs `trash: true`",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "trash": true, "trash_type": "all"}),
            "param `trash_type` must be one of",
        ),
        (
            "list_recordings",
            json!({"user_id": "me", "page_size": 301}),
            "param `page_size`",
        ),
        (
            "get_meeting_recordings",
            json!({"meeting_id": 1, "ttl": 604801}),
            "param `ttl`",
        ),
        (
            "download_recording",
            json!({"file_id": "x"}),
            "missing required param `meeting_id`",
        ),
        (
            "delete_meeting_recordings",
            json!({"meeting_id": 1, "action": "shred"}),
            "param `action` must be one of \"trash\", \"delete\"",
        ),
        (
            "delete_recording_file",
            json!({"meeting_id": 1}),
            "missing required param `recording_id`",
        ),
        (
            "recover_meeting_recordings",
            json!({"meeting_id": ""}),
            "param `meeting_id`",
        ),
        (
            "recover_recording_file",
            json!({"meeting_id": 1, "recording_id": ""}),
            "param `recording_id`",
        ),
        (
            "update_recording_settings",
            json!({"meeting_id": 1, "share_recording": "everyone"}),
            "param `share_recording` must be one of",
        ),
        (
            "update_recording_settings",
            json!({"meeting_id": 1, "password": "short"}),
            "param `password`",
        ),
        (
            "update_recording_settings",
            json!({"meeting_id": 1}),
            "needs at least one setting",
        ),
        (
            "get_recording_settings",
            json!({"meeting_id": 1, "topic": "x"}),
            "unknown param `topic`",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
