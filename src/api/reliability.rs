//! GetCheckReliability: reads a period's reviewed scorecards page by page
//! and reports, per check, how far reviewers agree with the machine
//! (`insights::reliability` does the arithmetic).

use tonic::Status;

use super::convert;
use super::status::invalid;
use crate::insights::reliability::{
    CheckReliability, FlagRule, OUTCOMES, Proportion, ReliabilityTally,
};
use crate::proto as pb;
use crate::store::{ScorecardFilter, Store};

/// Scorecards read per page: bounded memory whatever the period.
const PAGE: u32 = 200;

/// The flag rule a request asks for (defaults where it leaves fields 0).
pub fn flag_rule(message: &pb::GetCheckReliabilityRequest) -> Result<FlagRule, Status> {
    let mut rule = FlagRule::default();
    if message.flag_change_rate != 0.0 {
        if !(0.0..1.0).contains(&message.flag_change_rate) {
            return Err(invalid("flag_change_rate", "must be from 0 to below 1"));
        }
        rule.change_rate = message.flag_change_rate;
    }
    if message.flag_min_reviews != 0 {
        rule.min_reviews = message.flag_min_reviews;
    }
    Ok(rule)
}

/// Tallies every reviewed scorecard that `filter` selects.
pub async fn tally(
    store: &dyn Store,
    tenant_id: &str,
    filter: &ScorecardFilter,
) -> Result<ReliabilityTally, Status> {
    let mut tally = ReliabilityTally::default();
    let mut after = None;
    loop {
        let page = store
            .list_scorecards(tenant_id, filter, after, PAGE)
            .await?;
        for record in &page {
            tally.add(&record.machine, &record.reviewed);
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some((last.call_started_at_ms, last.scorecard_id.clone()));
            }
            _ => return Ok(tally),
        }
    }
}

fn proportion(p: Proportion) -> pb::Proportion {
    pb::Proportion {
        count: p.count,
        of: p.of,
        rate: p.rate,
        low: p.low,
        high: p.high,
    }
}

/// One check's report on the wire.
pub fn to_wire(check: &CheckReliability) -> pb::CheckReliability {
    let mut confusion = Vec::new();
    for (machine, row) in OUTCOMES.iter().zip(&check.confusion) {
        for (reviewed, &count) in OUTCOMES.iter().zip(row) {
            if count > 0 {
                confusion.push(pb::OutcomePairCount {
                    machine: convert::outcome(*machine) as i32,
                    reviewed: convert::outcome(*reviewed) as i32,
                    count,
                });
            }
        }
    }
    pb::CheckReliability {
        rubric_id: check.key.rubric_id.clone(),
        rubric_version: check.key.rubric_version,
        criterion_id: check.key.criterion_id.clone(),
        check_id: check.key.check_id.clone(),
        reviewed: check.reviewed,
        changed: Some(proportion(check.changed)),
        confusion,
        fail_precision: Some(proportion(check.fail_precision)),
        fail_recall: Some(proportion(check.fail_recall)),
        flagged: check.flagged,
    }
}
