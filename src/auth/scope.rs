//! What part of a tenant a key sees: an agent key one agent's scorecards,
//! a team-scoped coach key one team's (docs/disputes.md#keys-and-scopes).

use super::Role;

/// A key's scope; empty fields mean unscoped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyScope {
    /// The one agent whose scorecards the key sees ('' for any).
    pub agent_id: String,
    /// The one team whose scorecards the key sees ('' for any).
    pub team_id: String,
}

/// A scope that does not fit the key's role: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ScopeError {
    /// `agent_id` or `team_id`.
    pub field: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

/// Longest agent or team id a scope takes (as calls' metadata).
const MAX_ID_LEN: usize = 128;

impl KeyScope {
    /// The scope of a new key of `role`: agent keys are bound to one agent,
    /// coach keys may be limited to one team, other keys are unscoped.
    pub fn for_role(role: Role, agent_id: &str, team_id: &str) -> Result<Self, ScopeError> {
        let agent_id = agent_id.trim();
        let team_id = team_id.trim();
        for (field, value) in [("agent_id", agent_id), ("team_id", team_id)] {
            if value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
                return Err(ScopeError {
                    field,
                    problem: "at most 128 bytes, no control characters",
                });
            }
        }
        match role {
            Role::Agent if agent_id.is_empty() => Err(ScopeError {
                field: "agent_id",
                problem: "an agent key is bound to one agent: give its agent id",
            }),
            Role::Agent if !team_id.is_empty() => Err(ScopeError {
                field: "team_id",
                problem: "an agent key is bound to an agent, not a team",
            }),
            Role::Coach if !agent_id.is_empty() => Err(ScopeError {
                field: "agent_id",
                problem: "only agent keys are bound to an agent; a coach key may take a team",
            }),
            Role::Ingest | Role::Reviewer | Role::Admin
                if !agent_id.is_empty() || !team_id.is_empty() =>
            {
                Err(ScopeError {
                    field: if agent_id.is_empty() {
                        "team_id"
                    } else {
                        "agent_id"
                    },
                    problem: "only agent keys (an agent) and coach keys (a team) are scoped",
                })
            }
            _ => Ok(Self {
                agent_id: agent_id.to_string(),
                team_id: team_id.to_string(),
            }),
        }
    }

    /// Whether the key is limited to an agent or a team.
    pub fn is_scoped(&self) -> bool {
        !self.agent_id.is_empty() || !self.team_id.is_empty()
    }

    /// Whether a scorecard of `agent_id` in `team_id` is within the scope.
    pub fn covers(&self, agent_id: &str, team_id: &str) -> bool {
        (self.agent_id.is_empty() || self.agent_id == agent_id)
            && (self.team_id.is_empty() || self.team_id == team_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_covers_its_agent_or_team_only() {
        let open = KeyScope::default();
        assert!(!open.is_scoped() && open.covers("rina", "blue"));
        let agent = KeyScope {
            agent_id: "rina".into(),
            team_id: String::new(),
        };
        assert!(agent.covers("rina", "red") && !agent.covers("budi", "blue"));
        let team = KeyScope {
            agent_id: String::new(),
            team_id: "blue".into(),
        };
        assert!(team.covers("budi", "blue") && !team.covers("rina", "red"));
    }

    #[test]
    fn only_agents_and_coaches_take_a_scope() {
        assert_eq!(
            KeyScope::for_role(Role::Agent, " rina ", "").map(|s| s.agent_id),
            Ok("rina".to_string())
        );
        assert_eq!(
            KeyScope::for_role(Role::Agent, "", "").unwrap_err().field,
            "agent_id"
        );
        assert_eq!(
            KeyScope::for_role(Role::Agent, "rina", "blue")
                .unwrap_err()
                .field,
            "team_id"
        );
        assert!(KeyScope::for_role(Role::Coach, "", "blue").is_ok());
        assert!(KeyScope::for_role(Role::Coach, "", "").is_ok());
        assert_eq!(
            KeyScope::for_role(Role::Coach, "rina", "")
                .unwrap_err()
                .field,
            "agent_id"
        );
        assert_eq!(
            KeyScope::for_role(Role::Reviewer, "", "blue")
                .unwrap_err()
                .field,
            "team_id"
        );
        assert!(KeyScope::for_role(Role::Admin, "", "").is_ok());
    }
}
