//! The persistent store through the CLI: the Server-to-Server token outlives
//! a process, belongs to the credentials that fetched it, and `--no-store`
//! leaves nothing behind.

use crate::common::{Env, SECRET_VAR, run_cli};

fn invoke(env: &Env, extra: &[&str], secret: &str) -> crate::common::Run {
    let resource = env.resource.to_str().unwrap();
    let mut args = extra.to_vec();
    args.extend(["invoke", resource, "get_user", "-p", "user_id=me"]);
    run_cli(&args, &[(SECRET_VAR, secret)])
}

#[test]
fn two_invokes_in_a_row_make_one_token_request() {
    let env = Env::new();
    for _ in 0..2 {
        let run = invoke(&env, &[], &env.secret());
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert_eq!(env.token_requests().len(), 1);
    assert_eq!(env.api_requests().len(), 2);
}

#[test]
fn without_the_store_each_run_asks_for_a_token() {
    let env = Env::new();
    for _ in 0..2 {
        let run = invoke(&env, &["--no-store"], &env.secret());
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert_eq!(env.token_requests().len(), 2);
}

#[test]
fn a_kept_token_belongs_to_the_credentials_that_fetched_it() {
    let env = Env::new();
    assert_eq!(invoke(&env, &[], &env.secret()).code, 0);
    // Another secret: the kept token is not used; Zoom refuses the secret.
    let run = invoke(&env, &[], "not-the-secret");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("auth"), "{run:?}");
    assert_eq!(env.token_requests().len(), 2);
    assert_eq!(env.api_requests().len(), 1);
}

#[test]
fn the_connectivity_test_always_checks_the_credentials() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    for _ in 0..2 {
        let run = env.cli(&["test", resource]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert_eq!(env.token_requests().len(), 2);
    // ... and keeps the token it got for the actions that follow.
    assert_eq!(invoke(&env, &[], &env.secret()).code, 0);
    assert_eq!(env.token_requests().len(), 2);
}

#[cfg(unix)]
#[test]
fn a_state_directory_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let state = env.dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = invoke(
        &env,
        &["--state-dir", state.to_str().unwrap()],
        &env.secret(),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("others can write to it"), "{run:?}");
    assert!(run.stderr.contains("--no-store"), "{run:?}");
    assert!(env.sandbox.requests().is_empty());
    // A fresh one is made private.
    let fresh = env.dir.path().join("fresh");
    let run = invoke(
        &env,
        &["--state-dir", fresh.to_str().unwrap()],
        &env.secret(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("store.sqlite3")), 0o600);
}

#[test]
fn processes_writing_at_once_share_the_store_safely() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap().to_owned();
    let secret = env.secret();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (resource, secret) = (resource.clone(), secret.clone());
            std::thread::spawn(move || {
                run_cli(
                    &["invoke", &resource, "get_user", "-p", "user_id=me"],
                    &[(SECRET_VAR, &secret)],
                )
            })
        })
        .collect();
    for run in runs {
        let run = run.join().unwrap();
        assert_eq!(run.code, 0, "{run:?}");
    }
    // Each may have fetched a token while the others did; one was kept, and
    // the next run uses it.
    let fetched = env.token_requests().len();
    assert!((1..=4).contains(&fetched), "{fetched}");
    assert_eq!(invoke(&env, &[], &secret).code, 0);
    assert_eq!(env.token_requests().len(), fetched);
}

#[test]
fn processes_opening_a_new_state_directory_at_once_all_start() {
    // A playbook's parallel steps on a fresh machine: each process creates
    // or joins the store as the others turn it to WAL.
    let env = Env::new();
    for round in 0..3 {
        let state = env.dir.path().join(format!("state-{round}"));
        let runs: Vec<_> = (0..12)
            .map(|_| {
                let state = state.to_str().unwrap().to_owned();
                std::thread::spawn(move || {
                    run_cli(&["--state-dir", &state, "actions", "zoom", "--json"], &[])
                })
            })
            .collect();
        for run in runs {
            let run = run.join().unwrap();
            assert_eq!(run.code, 0, "{run:?}");
        }
    }
}
