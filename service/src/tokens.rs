//! API tokens: `soar_<id>_<secret>`. Only the SHA-256 of the secret is kept
//! (the secret is 256 random bits, so a fast hash is enough); a presented
//! token is found by its id and its secret compared in constant time.
//! A token may be limited to some resources and some kinds of action.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::db::{Db, TokenRow, now_ms};
use soar_host::manifest::ActionKind;

const PREFIX: &str = "soar_";

/// What a caller may do: who it is (recorded with every run), which
/// resources it may see, which kinds of action it may run.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The token's id (the `<id>` of `soar_<id>_<secret>`).
    pub id: String,
    pub name: String,
    /// `None`: every resource.
    pub resources: Option<Vec<String>>,
    /// `None`: every kind.
    pub kinds: Option<Vec<ActionKind>>,
    /// `None`: every scope.
    pub scopes: Option<Vec<Scope>>,
}

/// What a token may do beyond running actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// See playbooks and their runs.
    PlaybooksRead,
    /// Start, rerun and cancel playbook runs (and see them).
    PlaybooksRun,
    /// See everything its resources allow (playbooks and runs among them),
    /// change nothing: no action runs, no playbook starts, no resource or
    /// token edits. Connectivity tests, which change nothing, are allowed.
    ReadOnly,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::PlaybooksRead, Scope::PlaybooksRun, Scope::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PlaybooksRead => "playbooks:read",
            Scope::PlaybooksRun => "playbooks:run",
            Scope::ReadOnly => "read-only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl Grant {
    pub fn sees(&self, resource: &str) -> bool {
        self.resources
            .as_ref()
            .is_none_or(|r| r.iter().any(|r| r == resource))
    }

    pub fn may_run(&self, kind: ActionKind) -> bool {
        !self.read_only() && self.kinds.as_ref().is_none_or(|k| k.contains(&kind))
    }

    /// Whether it has `scope` (`playbooks:run` brings `playbooks:read`;
    /// `read-only` brings `playbooks:read` and refuses `playbooks:run`).
    pub fn has(&self, scope: Scope) -> bool {
        if self.read_only() {
            return scope != Scope::PlaybooksRun;
        }
        self.scopes.as_ref().is_none_or(|s| {
            s.contains(&scope)
                || (scope == Scope::PlaybooksRead && s.contains(&Scope::PlaybooksRun))
        })
    }

    /// May see, may change nothing.
    pub fn read_only(&self) -> bool {
        self.scopes
            .as_ref()
            .is_some_and(|s| s.contains(&Scope::ReadOnly))
    }

    /// Not limited in any way: may also manage tokens and resource files
    /// (in the console).
    pub fn unlimited(&self) -> bool {
        self.resources.is_none() && self.kinds.is_none() && self.scopes.is_none()
    }
}

/// A new token's secret text, shown once.
pub struct Created {
    pub token: String,
    pub row: TokenRow,
}

pub fn create(
    db: &Db,
    name: &str,
    resources: Vec<String>,
    kinds: Vec<ActionKind>,
    scopes: Vec<Scope>,
) -> Result<Created, String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "token name `{}` must be 1 to 64 letters, digits, `-`, `_` or `.`",
            soar_host::redact::printable(name)
        ));
    }
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let id = soar_host::hex(&id);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let row = TokenRow {
        id: id.clone(),
        name: name.to_owned(),
        hash: Sha256::digest(secret.as_bytes()).to_vec(),
        resources,
        kinds: kinds.iter().map(|k| kind_name(*k).to_owned()).collect(),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created_ms: now_ms(),
        revoked_ms: None,
    };
    if !db.insert_token(&row)? {
        return Err(format!(
            "a token named `{name}` exists already; revoke it first or choose another name"
        ));
    }
    Ok(Created {
        token: format!("{PREFIX}{id}_{secret}"),
        row,
    })
}

/// The grant of a presented token; `None` when it is unknown, malformed or
/// revoked (the caller answers 401 alike, saying nothing of which).
pub fn verify(db: &Db, presented: &str) -> Result<Option<Grant>, super::problem::Fault> {
    let Some((id, secret)) = presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    let Some(row) = db.token(id)? else {
        return Ok(None);
    };
    let hash = Sha256::digest(secret.as_bytes());
    if !bool::from(hash.as_slice().ct_eq(&row.hash)) || row.revoked_ms.is_some() {
        return Ok(None);
    }
    Ok(Some(row.into()))
}

/// The grant of the token `id` (a console session's), unless it was
/// revoked.
pub fn by_id(db: &Db, id: &str) -> Result<Option<Grant>, super::problem::Fault> {
    Ok(db
        .token(id)?
        .filter(|row| row.revoked_ms.is_none())
        .map(Grant::from))
}

impl From<TokenRow> for Grant {
    fn from(row: TokenRow) -> Self {
        Grant {
            id: row.id,
            name: row.name,
            resources: (!row.resources.is_empty()).then_some(row.resources),
            kinds: (!row.kinds.is_empty())
                .then(|| row.kinds.iter().filter_map(|k| parse_kind(k)).collect()),
            scopes: (!row.scopes.is_empty())
                .then(|| row.scopes.iter().filter_map(|s| Scope::parse(s)).collect()),
        }
    }
}

pub fn kind_name(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Enrichment => "enrichment",
        ActionKind::Containment => "containment",
    }
}

pub fn parse_kind(text: &str) -> Option<ActionKind> {
    match text {
        "enrichment" => Some(ActionKind::Enrichment),
        "containment" => Some(ActionKind::Containment),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_without_scopes_has_both_and_run_brings_read() {
        let db = Db::in_memory();
        let all = create(&db, "all", vec![], vec![], vec![]).unwrap();
        let all = verify(&db, &all.token).unwrap().unwrap();
        assert!(all.has(Scope::PlaybooksRead) && all.has(Scope::PlaybooksRun));
        let run = create(&db, "run", vec![], vec![], vec![Scope::PlaybooksRun]).unwrap();
        let run = verify(&db, &run.token).unwrap().unwrap();
        assert!(run.has(Scope::PlaybooksRead) && run.has(Scope::PlaybooksRun));
        assert!(all.unlimited() && !run.unlimited());
    }

    #[test]
    fn a_read_only_token_sees_and_runs_nothing() {
        let db = Db::in_memory();
        let created = create(&db, "auditor", vec![], vec![], vec![Scope::ReadOnly]).unwrap();
        let grant = verify(&db, &created.token).unwrap().unwrap();
        assert!(grant.read_only() && !grant.unlimited());
        assert!(grant.sees("zoom") && grant.has(Scope::PlaybooksRead));
        assert!(!grant.has(Scope::PlaybooksRun));
        assert!(!grant.may_run(ActionKind::Enrichment) && !grant.may_run(ActionKind::Containment));
    }

    #[test]
    fn a_token_verifies_until_revoked_and_only_its_hash_is_kept() {
        let db = Db::in_memory();
        let created = create(
            &db,
            "playbooks",
            vec!["zoom".into()],
            vec![ActionKind::Enrichment],
            vec![Scope::PlaybooksRead],
        )
        .unwrap();
        let row = &db.tokens().unwrap()[0];
        assert!(!created.token.contains(&soar_host::hex(&row.hash)));
        let secret = created.token.rsplit('_').next().unwrap();
        assert_ne!(row.hash, secret.as_bytes());

        let grant = verify(&db, &created.token).unwrap().expect("valid");
        assert_eq!(grant.name, "playbooks");
        assert!(grant.sees("zoom") && !grant.sees("other"));
        assert!(grant.may_run(ActionKind::Enrichment));
        assert!(!grant.may_run(ActionKind::Containment));
        assert!(grant.has(Scope::PlaybooksRead) && !grant.has(Scope::PlaybooksRun));

        // One character off, another id, garbage: all unknown.
        let mut wrong = created.token.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        for bad in [wrong.as_str(), "soar_000000000000_x", "Bearer", ""] {
            assert!(verify(&db, bad).unwrap().is_none(), "{bad}");
        }

        assert!(
            create(&db, "playbooks", vec![], vec![], vec![]).is_err(),
            "name taken"
        );
        assert!(db.revoke_token("playbooks").unwrap());
        assert!(verify(&db, &created.token).unwrap().is_none());
        assert!(!db.revoke_token("playbooks").unwrap(), "already revoked");
    }

    #[test]
    fn names_are_checked() {
        let db = Db::in_memory();
        for bad in ["", "a b", "x\u{1b}[2J", &"n".repeat(65)] {
            assert!(create(&db, bad, vec![], vec![], vec![]).is_err(), "{bad:?}");
        }
    }
}
