//! Roles and what each may do.

use std::fmt;
use std::str::FromStr;

/// What an API key may do within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Contact-center platforms: submit calls, read their status.
    Ingest,
    /// QA reviewers: read scorecards, override checks, read the audit trail.
    Reviewer,
    /// Coaches: read scorecards, trends and coaching notes.
    Coach,
    /// Everything in the tenant: rubrics, keys, deletions.
    Admin,
    /// One agent (the key is bound to an agent id): reads that agent's
    /// scorecards, disputes checks, acknowledges scorecards.
    Agent,
}

/// A kind of operation an RPC performs, checked against the caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SubmitCall, SubmitTranscript.
    SubmitCalls,
    /// GetCall, WatchCall, ListCalls.
    ReadCalls,
    /// DeleteCall.
    DeleteCalls,
    /// GetCallAudio: the recording itself (a voice is personal data).
    ListenToCalls,
    /// GetScorecard, ListScorecards.
    ReadScorecards,
    /// RescoreCall.
    RescoreCalls,
    /// OverrideCheck, ListAuditEvents.
    ReviewScorecards,
    /// AddCoachingNote, ListCoachingNotes, trends and team summaries.
    Coach,
    /// GetRubric, ListRubrics, ValidateRubric.
    ReadRubrics,
    /// CreateRubric, PublishRubricVersion, SetDefaultRubric.
    ManageRubrics,
    /// KeyService: create, list, revoke, rotate keys; the key audit.
    ManageKeys,
    /// TenantService: the tenant's settings (retention) and their audit.
    ManageTenant,
    /// Creating and closing calibration sessions, seeing every session.
    ManageCalibrations,
    /// OpenDispute: contesting one check of a scorecard.
    DisputeChecks,
    /// ListDisputes, GetDispute.
    ReadDisputes,
    /// AcknowledgeScorecard: an agent saw their scorecard.
    AcknowledgeScorecards,
    /// WebhookService: endpoints, secrets, deliveries, replay.
    ManageWebhooks,
}

impl Action {
    /// Every action, in the contract's order (GetCallerKey's permissions).
    pub const ALL: [Action; 17] = [
        Action::SubmitCalls,
        Action::ReadCalls,
        Action::DeleteCalls,
        Action::ListenToCalls,
        Action::ReadScorecards,
        Action::RescoreCalls,
        Action::ReviewScorecards,
        Action::Coach,
        Action::ReadRubrics,
        Action::ManageRubrics,
        Action::ManageKeys,
        Action::ManageTenant,
        Action::ManageCalibrations,
        Action::DisputeChecks,
        Action::ReadDisputes,
        Action::AcknowledgeScorecards,
        Action::ManageWebhooks,
    ];

    /// The action's name in GetCallerKey's permissions.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SubmitCalls => "submit_calls",
            Action::ReadCalls => "read_calls",
            Action::DeleteCalls => "delete_calls",
            Action::ListenToCalls => "listen_to_calls",
            Action::ReadScorecards => "read_scorecards",
            Action::RescoreCalls => "rescore_calls",
            Action::ReviewScorecards => "review_scorecards",
            Action::Coach => "coach",
            Action::ReadRubrics => "read_rubrics",
            Action::ManageRubrics => "manage_rubrics",
            Action::ManageKeys => "manage_keys",
            Action::ManageTenant => "manage_tenant",
            Action::ManageCalibrations => "manage_calibrations",
            Action::DisputeChecks => "dispute_checks",
            Action::ReadDisputes => "read_disputes",
            Action::AcknowledgeScorecards => "acknowledge_scorecards",
            Action::ManageWebhooks => "manage_webhooks",
        }
    }

    /// Actions whose handlers narrow what they read to the key's agent or
    /// team (or read only tenant-wide configuration: rubrics); a scoped key
    /// may do nothing else.
    pub fn honours_scope(self) -> bool {
        matches!(
            self,
            Action::ReadScorecards
                | Action::ReadCalls
                | Action::ListenToCalls
                | Action::ReadRubrics
                | Action::Coach
                | Action::DisputeChecks
                | Action::ReadDisputes
                | Action::AcknowledgeScorecards
        )
    }
}

impl Role {
    /// Every role, in the order the CLI lists them.
    pub const ALL: [Role; 5] = [
        Role::Ingest,
        Role::Reviewer,
        Role::Coach,
        Role::Admin,
        Role::Agent,
    ];

    /// Whether this role may perform `action`.
    pub fn allows(self, action: Action) -> bool {
        use Action as A;
        match self {
            Role::Admin => true,
            Role::Ingest => matches!(action, A::SubmitCalls | A::ReadCalls),
            Role::Reviewer => matches!(
                action,
                A::ReadCalls
                    | A::ListenToCalls
                    | A::ReadScorecards
                    | A::RescoreCalls
                    | A::ReviewScorecards
                    | A::ReadRubrics
                    | A::ReadDisputes
            ),
            Role::Coach => matches!(
                action,
                A::ReadCalls
                    | A::ListenToCalls
                    | A::ReadScorecards
                    | A::Coach
                    | A::ReadRubrics
                    | A::DisputeChecks
                    | A::ReadDisputes
            ),
            Role::Agent => matches!(
                action,
                A::ReadScorecards
                    | A::ReadRubrics
                    | A::DisputeChecks
                    | A::ReadDisputes
                    | A::AcknowledgeScorecards
            ),
        }
    }

    /// The name stored in the database and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Reviewer => "reviewer",
            Role::Coach => "coach",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ingest, reviewer, coach, admin.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected ingest, reviewer, coach, admin or agent")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn only_admin_manages_rubrics_and_deletes() {
        for role in [Role::Ingest, Role::Reviewer, Role::Coach, Role::Agent] {
            assert!(!role.allows(Action::ManageRubrics));
            assert!(!role.allows(Action::DeleteCalls));
            assert!(!role.allows(Action::ManageKeys));
            assert!(!role.allows(Action::ManageCalibrations));
            assert!(!role.allows(Action::ManageWebhooks));
        }
        assert!(Role::Admin.allows(Action::ManageRubrics));
        assert!(!Role::Ingest.allows(Action::ReadScorecards));
        assert!(!Role::Coach.allows(Action::ReviewScorecards));
        assert!(!Role::Reviewer.allows(Action::Coach));
    }
}
