//! A team summary: each agent's means, the team's, and its weakest criteria.

use std::collections::BTreeMap;

use super::means::{CriterionMean, criterion_means, overall_mean};
use super::stats::MeanCi;
use crate::store::{CriterionRow, OverallRow};

/// One agent's means within a team.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSummary {
    /// The agent.
    pub agent_id: String,
    /// Mean overall score of the agent's calls.
    pub overall: Option<MeanCi>,
    /// Per-criterion means, by criterion id.
    pub criteria: Vec<CriterionMean>,
}

/// A team over a time window.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamSummary {
    /// Agents by id.
    pub agents: Vec<AgentSummary>,
    /// Mean over every call of the team (each call weighs the same, so busy
    /// agents weigh more than in a mean of agent means).
    pub overall: Option<MeanCi>,
    /// The team's criterion means, weakest first (ties by criterion id).
    pub weakest_criteria: Vec<CriterionMean>,
}

/// Summarises a team's rows.
pub fn team_summary(overall: &[OverallRow], criteria: &[CriterionRow]) -> TeamSummary {
    let mut by_agent: BTreeMap<&str, (Vec<&OverallRow>, Vec<&CriterionRow>)> = BTreeMap::new();
    for row in overall {
        by_agent.entry(&row.agent_id).or_default().0.push(row);
    }
    for row in criteria {
        by_agent.entry(&row.agent_id).or_default().1.push(row);
    }
    let agents = by_agent
        .into_iter()
        .map(|(agent_id, (overall, criteria))| AgentSummary {
            agent_id: agent_id.to_string(),
            overall: overall_mean(overall),
            criteria: criterion_means(criteria),
        })
        .collect();
    let mut weakest_criteria = criterion_means(criteria);
    // criterion_means is ordered by id and the sort is stable: ties stay by id.
    weakest_criteria.sort_by(|a, b| a.score.mean.total_cmp(&b.score.mean));
    TeamSummary {
        agents,
        overall: overall_mean(overall),
        weakest_criteria,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::means::tests::{crit, overall};

    #[test]
    fn agents_team_and_weakest_criteria() {
        let overall_rows = [
            overall("ana", 1, Some(90.0)),
            overall("ana", 2, Some(70.0)),
            overall("bo", 3, Some(50.0)),
        ];
        let criteria = [
            crit("ana", 1, "empathy", Some(100.0)),
            crit("ana", 1, "closing", Some(50.0)),
            crit("ana", 2, "empathy", Some(80.0)),
            crit("bo", 3, "empathy", Some(60.0)),
            crit("bo", 3, "closing", Some(20.0)),
            crit("bo", 3, "greeting", Some(35.0)),
        ];
        let summary = team_summary(&overall_rows, &criteria);
        assert_eq!(summary.agents.len(), 2);
        assert_eq!(summary.agents[0].agent_id, "ana");
        assert_eq!(summary.agents[0].overall.map(|m| m.mean), Some(80.0));
        assert_eq!(
            summary.agents[1].overall.map(|m| (m.mean, m.n)),
            Some((50.0, 1))
        );
        // (90 + 70 + 50) / 3 = 70: per call, not per agent.
        assert_eq!(summary.overall.map(|m| m.mean), Some(70.0));
        let order: Vec<(&str, f64)> = summary
            .weakest_criteria
            .iter()
            .map(|c| (c.criterion_id.as_str(), c.score.mean))
            .collect();
        // closing (50+20)/2 = 35, greeting 35, empathy (100+80+60)/3 = 80.
        assert_eq!(
            order,
            vec![("closing", 35.0), ("greeting", 35.0), ("empathy", 80.0)]
        );
    }

    #[test]
    fn an_empty_team_has_nothing() {
        let summary = team_summary(&[], &[]);
        assert!(summary.agents.is_empty() && summary.weakest_criteria.is_empty());
        assert_eq!(summary.overall, None);
    }
}
