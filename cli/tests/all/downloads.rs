//! Recording downloads through the real CLI: the Zoom plugin lists a
//! meeting's recordings and asks the host to stream one file into the
//! `--output` directory. The sandbox's `download_url` redirects from the API
//! host to a second loopback host, its storage, which can cut a body short
//! or ignore `Range`. Checked: the bytes (size and SHA-256, hashed here while
//! reading), that the API's token never reaches the storage host, resuming,
//! restarting, refusing a redirect off the egress list before connecting,
//! never replacing a file, the size cap, and that nothing partial is left.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::common::{Env, Run};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zoom_sandbox::{Fault, Match, RecordingFile};

const MIB: u64 = 1 << 20;

/// A sandbox, a resource whose `storage_url` names the sandbox's storage
/// host (unless `storage` is false: then the plugin's default,
/// `https://*.zoom.us/`, applies), and an empty output directory.
struct Setup {
    env: Env,
    resource: PathBuf,
    output: PathBuf,
}

impl Setup {
    fn new() -> Self {
        Self::with("", true)
    }

    /// `top` goes before the resource's other top-level keys.
    fn with(top: &str, storage: bool) -> Self {
        let env = Env::new();
        let extra = match storage {
            true => format!("storage_url = \"{}\"\n", env.sandbox.storage_url()),
            false => String::new(),
        };
        let text = format!("{top}{}", env.resource_toml("Downloads", &extra));
        let resource = env.write_resource("downloads.toml", &text);
        let output = env.dir.path().join("out");
        std::fs::create_dir(&output).expect("output dir");
        Setup {
            env,
            resource,
            output,
        }
    }

    /// A recording of `size` bytes on one of the seeded meetings.
    fn recording(&self, size: u64) -> RecordingFile {
        let meeting = self.env.sandbox.meeting_ids("me")[0];
        self.env.sandbox.add_recording(meeting, size)
    }

    fn invoke(&self, action: &str, params: Value) -> Run {
        self.env.cli(&[
            "invoke",
            self.resource.to_str().unwrap(),
            action,
            "--params",
            &params.to_string(),
            "--output",
            self.output.to_str().unwrap(),
        ])
    }

    fn download(&self, file: &RecordingFile) -> Run {
        self.invoke(
            "download_recording",
            json!({"meeting_id": file.meeting_id, "file_id": file.id}),
        )
    }

    /// The output directory's entries, hidden ones too, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.output)
            .expect("read output dir")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn storage_requests(&self) -> Vec<zoom_sandbox::RecordedRequest> {
        self.env.sandbox.storage_requests()
    }
}

fn name_of(file: &RecordingFile) -> String {
    format!("zoom-{}-{}.mp4", file.meeting_id, file.id)
}

/// SHA-256 of a file, read as a stream.
fn sha256(path: &Path) -> String {
    let mut hasher = Sha256::new();
    std::io::copy(&mut File::open(path).expect("open download"), &mut hasher).expect("read");
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The run succeeded and saved `file` whole under `name`.
fn assert_saved(setup: &Setup, run: &Run, file: &RecordingFile, name: &str) {
    assert_eq!(run.code, 0, "{run:?}");
    let result = run.json();
    assert_eq!(result["file"], name, "{result}");
    assert_eq!(result["size"], file.size, "{result}");
    assert_eq!(result["expected_size"], file.size, "{result}");
    assert_eq!(result["sha256"], file.sha256_hex.as_str(), "{result}");
    assert_eq!(result["content_type"], "video/mp4", "{result}");
    assert_eq!(result["meeting_id"], file.meeting_id, "{result}");
    assert_eq!(result["file_id"], file.id.as_str(), "{result}");
    assert_eq!(
        result["recording_type"], "shared_screen_with_speaker_view",
        "{result}"
    );
    let path = setup.output.join(name);
    assert_eq!(std::fs::metadata(&path).expect("saved").len(), file.size);
    assert_eq!(sha256(&path), file.sha256_hex);
}

fn assert_no_token_at_storage(setup: &Setup) {
    let requests = setup.storage_requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.header("authorization"), None, "{request:?}");
        assert_eq!(request.query_value("access_token"), None, "{request:?}");
    }
}

/// Where each storage request asked to start, from its `Range: bytes=N-`.
fn range_starts(setup: &Setup) -> Vec<Option<u64>> {
    setup
        .storage_requests()
        .iter()
        .map(|r| {
            let range = r.header("range")?;
            let start = range.strip_prefix("bytes=")?.strip_suffix('-')?;
            Some(start.parse().expect("a number"))
        })
        .collect()
}

#[test]
fn a_recording_is_streamed_to_the_output_directory() {
    let setup = Setup::new();
    let file = setup.recording(64 * MIB);
    let run = setup.download(&file);
    assert_saved(&setup, &run, &file, &name_of(&file));
    assert_eq!(setup.files(), [name_of(&file)], "no partial file is left");
    // The API host got the token (a redirect), the storage host did not.
    let api = setup
        .env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/rec/download/"))
        .expect("the download_url was asked");
    assert!(
        api.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer ")),
        "{api:?}"
    );
    assert_eq!(api.status, 302);
    assert_no_token_at_storage(&setup);
    assert_eq!(range_starts(&setup), [None]);
}

#[test]
fn a_dropped_download_resumes_with_range() {
    let setup = Setup::new();
    let file = setup.recording(64 * MIB);
    setup
        .env
        .sandbox
        .inject(Fault::ResetAfter(16 * MIB), Match::path("/files/"), 1);
    let run = setup.download(&file);
    assert_saved(&setup, &run, &file, &name_of(&file));
    assert_eq!(setup.files(), [name_of(&file)]);
    let starts = range_starts(&setup);
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0], None);
    let resumed = starts[1].expect("the second request asks for the rest");
    assert!(resumed > 0 && resumed <= 16 * MIB, "{starts:?}");
    assert_eq!(setup.storage_requests()[1].status, 206);
    assert_no_token_at_storage(&setup);
}

#[test]
fn a_server_that_ignores_range_gets_a_restart() {
    let setup = Setup::new();
    let file = setup.recording(64 * MIB);
    let sandbox = &setup.env.sandbox;
    sandbox.inject(Fault::ResetAfter(16 * MIB), Match::path("/files/"), 1);
    sandbox.inject(Fault::IgnoreRange, Match::path("/files/"), 1);
    let run = setup.download(&file);
    assert_saved(&setup, &run, &file, &name_of(&file));
    assert_eq!(setup.files(), [name_of(&file)]);
    let requests = setup.storage_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    // Asked for the rest, got the whole file: started over.
    assert!(requests[1].header("range").is_some(), "{requests:?}");
    assert_eq!(requests[1].status, 200);
    assert_no_token_at_storage(&setup);
}

#[test]
fn a_redirect_off_the_egress_list_is_refused_before_connecting() {
    // No storage_url: the default `https://*.zoom.us/` does not cover the
    // sandbox's storage host.
    let setup = Setup::with("", false);
    let file = setup.recording(MIB);
    let run = setup.download(&file);
    assert_eq!(run.code, 1, "{run:?}");
    let storage = setup.env.sandbox.storage_url();
    let destination = storage.trim_end_matches('/');
    assert!(run.stderr.contains("redirect refused"), "{run:?}");
    assert!(run.stderr.contains(destination), "{run:?}");
    assert!(run.stderr.contains("https://*.zoom.us:443"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(setup.storage_requests().is_empty());
    assert!(setup.files().is_empty(), "{:?}", setup.files());
}

#[test]
fn a_second_download_never_replaces_the_first() {
    let setup = Setup::new();
    let file = setup.recording(2 * MIB);
    let first = setup.download(&file);
    assert_saved(&setup, &first, &file, &name_of(&file));
    let second = setup.download(&file);
    let again = format!("zoom-{}-{} (1).mp4", file.meeting_id, file.id);
    assert_saved(&setup, &second, &file, &again);
    assert_eq!(setup.files(), [again, name_of(&file)]);
    // The first is still whole.
    assert_eq!(sha256(&setup.output.join(name_of(&file))), file.sha256_hex);
}

#[test]
fn a_download_over_the_size_cap_is_refused() {
    let setup = Setup::with("download_max_mib = 1\n", true);
    let file = setup.recording(4 * MIB);
    let run = setup.download(&file);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("download_max_mib"), "{run:?}");
    assert!(setup.files().is_empty(), "{:?}", setup.files());
}

#[test]
fn a_token_revoked_on_the_way_is_renewed_once() {
    let setup = Setup::new();
    let file = setup.recording(MIB);
    // Valid for the listing, revoked when the download_url is asked.
    setup
        .env
        .sandbox
        .inject(Fault::ExpireTokens, Match::path("/rec/download/"), 1);
    let run = setup.download(&file);
    assert_saved(&setup, &run, &file, &name_of(&file));
    assert_eq!(setup.env.token_requests().len(), 2);
    let statuses: Vec<u16> = setup
        .env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/rec/download/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [401, 302]);
}

#[test]
fn an_unknown_file_is_not_found_and_names_the_files_there_are() {
    let setup = Setup::new();
    let file = setup.recording(MIB);
    let run = setup.invoke(
        "download_recording",
        json!({"meeting_id": file.meeting_id, "file_id": "no-such-file"}),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("error: not found: "), "{run:?}");
    assert!(run.stderr.contains(&file.id), "{run:?}");
    assert!(setup.storage_requests().is_empty());
    assert!(setup.files().is_empty());
}

#[test]
fn get_meeting_recordings_takes_a_meeting_id_or_its_uuid() {
    let setup = Setup::new();
    let file = setup.recording(MIB);
    let run = setup.invoke(
        "get_meeting_recordings",
        json!({"meeting_id": file.meeting_id}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let listing = run.json();
    assert_eq!(listing["id"], file.meeting_id);
    assert_eq!(listing["recording_files"][0]["id"], file.id.as_str());
    assert_eq!(listing["recording_files"][0]["file_size"], file.size);
    // A UUID (Base64: `+`, `/`, `=`) is one path segment, encoded.
    let uuid = listing["uuid"].as_str().unwrap().to_owned();
    let run = setup.invoke(
        "get_meeting_recordings",
        json!({"meeting_id": uuid, "include_fields": "download_access_token"}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let listing = run.json();
    assert_eq!(listing["uuid"], uuid.as_str());
    assert!(listing["download_access_token"].is_string(), "{listing}");
    // Nothing was downloaded.
    assert!(setup.storage_requests().is_empty());
    assert!(setup.files().is_empty());
}
