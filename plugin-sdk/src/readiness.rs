//! Which actions will work with the scopes a token was granted, for the
//! connectivity test: the operator learns of a missing scope before a
//! playbook does.

use crate::{Action, ActionReadiness};

/// Per action: ready when it needs no scope or any one of its scopes was
/// granted; else why not.
pub fn readiness<C>(actions: &[Action<C>], granted: &[String]) -> Vec<ActionReadiness> {
    actions
        .iter()
        .map(|action| {
            let ready = action.scopes.is_empty()
                || action.scopes.iter().any(|s| granted.iter().any(|g| g == s));
            ActionReadiness {
                action: action.name.into(),
                ready,
                reason: if ready {
                    String::new()
                } else {
                    format!("missing scope: one of {}", action.scopes.join(", "))
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ActionError;
    use serde_json::{Map, Value};

    fn noop(_: &mut (), _: Map<String, Value>) -> Result<Value, ActionError> {
        Ok(Value::Null)
    }

    #[test]
    fn any_granted_scope_makes_an_action_ready() {
        let actions = vec![
            Action::enrichment("read", "Read")
                .scopes(&["a:read", "a:read:admin"])
                .run(noop),
            Action::containment("write", "Write")
                .scopes(&["a:write"])
                .run(noop),
            Action::enrichment("free", "Free").run(noop),
        ];
        let r = readiness(&actions, &["a:read:admin".to_string()]);
        assert!(r[0].ready && r[0].reason.is_empty());
        assert!(!r[1].ready);
        assert_eq!(r[1].reason, "missing scope: one of a:write");
        assert!(r[2].ready);
    }
}
