//! Playbooks in process: the time a playbook run adds per step over the
//! same action called bare, and many runs of a three-step playbook at once
//! against an upstream as slow as Zoom's quick calls (wall time, memory).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use soar_host::registry::Registry;
use soar_playbook::run::Unobserved;
use soar_playbook::{Catalog, Checked, Direct, Limits, Playbook, Start, Trigger};
use tokio::task::JoinSet;
use zoom_sandbox::{Fault, Match, Sandbox};

use crate::load::Subject;
use crate::memory;
use crate::stats::Samples;

const STEPS: usize = 3;

const PLAYBOOK: &str = r#"
name: look-three-times
on: { manual: }
steps:
  - { id: one, resource: zoom, action: get_user, with: { user_id: me } }
  - { id: two, resource: zoom, action: get_user, with: { user_id: "${{ steps.one.params.user_id }}" } }
  - { id: three, resource: zoom, action: get_user, with: { user_id: "${{ steps.two.result.id }}" } }
"#;

pub struct PlaybookFigures {
    /// One bare `Host::invoke` of `get_user`.
    pub bare: Samples,
    /// One run of the three-step playbook (record, expressions, three calls).
    pub run: Samples,
    /// Runs at once, the upstream's delay, the wall time, the peak memory
    /// over what was resident before.
    pub concurrent: (usize, Duration, Duration, Option<u64>),
}

impl PlaybookFigures {
    /// What a run adds per step over its bare call (medians).
    pub fn added_per_step(&self) -> f64 {
        (self.run.median().as_secs_f64() - STEPS as f64 * self.bare.median().as_secs_f64())
            / STEPS as f64
    }
}

pub async fn run(
    subject: &Arc<Subject>,
    sandbox: &Sandbox,
    samples: usize,
    runs: usize,
    delay: Duration,
) -> PlaybookFigures {
    let registry = Arc::new(Registry {
        resources: BTreeMap::from([("zoom".to_owned(), Arc::new(subject.resource.clone()))]),
        skipped: Vec::new(),
    });
    let playbook =
        Playbook::parse(Path::new("bench.yaml"), PLAYBOOK).expect("the bench playbook reads");
    let checked: Arc<Checked> = Arc::new(
        Catalog::new(&subject.host, &registry, Path::new("."))
            .check(playbook)
            .await
            .expect("the bench playbook checks"),
    );
    let start = || Start {
        trigger: Trigger {
            kind: "manual".into(),
            occurrence: None,
        },
        inputs: json!({}),
        event: None,
        dry_run: false,
    };
    let limits = Limits::default();
    let one_run = |subject: Arc<Subject>, registry: Arc<Registry>, checked: Arc<Checked>| async move {
        let caller = Direct {
            host: &subject.host,
            resources: &registry,
        };
        let record = checked.new_run(start()).expect("a run");
        let record = checked.run(record, &caller, &limits, &Unobserved).await;
        assert_eq!(record.status, soar_host::RunStatus::Succeeded, "{record:?}");
    };

    eprintln!("bench: playbook runs against bare calls, {samples} each");
    let (mut bare, mut run) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for _ in 0..samples {
        let t = Instant::now();
        subject.call(crate::load::Path::Hosted).await;
        bare.push(t.elapsed());
        let t = Instant::now();
        one_run(
            Arc::clone(subject),
            Arc::clone(&registry),
            Arc::clone(&checked),
        )
        .await;
        run.push(t.elapsed());
    }

    eprintln!(
        "bench: {runs} playbook runs at once, upstream answering after {} ms",
        delay.as_millis()
    );
    sandbox.inject(Fault::Delay(delay), Match::path("/v2/users"), usize::MAX);
    let before = memory::start_peak();
    let t = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..runs {
        set.spawn(one_run(
            Arc::clone(subject),
            Arc::clone(&registry),
            Arc::clone(&checked),
        ));
    }
    while let Some(done) = set.join_next().await {
        done.expect("a run finishes");
    }
    let wall = t.elapsed();
    let peak = before.and_then(memory::peak_since);
    sandbox.clear_faults();
    PlaybookFigures {
        bare: Samples::new(bare),
        run: Samples::new(run),
        concurrent: (runs, delay, wall, peak),
    }
}
