//! Reads and validates a whole rubric document from its positioned tree.

use std::collections::BTreeMap;

use super::detectors::{detector, phrase_lists_only};
use super::model::{
    Applicability, Check, Criterion, Detector, GradedDetector, Language, MetricName, Rubric,
    SensitiveDataDetector, SensitiveKind, Settings, SpeakerFilter,
};
use super::read::{Ctx, MapReader, boolean, index, list, number, scalar_text, string, unsigned};
use super::yaml::{Node, Value};

/// Default for `settings.hold_min_seconds`.
pub const DEFAULT_HOLD_MIN_SECONDS: f64 = 20.0;
/// Default for `settings.interruption_min_overlap_ms`.
pub const DEFAULT_INTERRUPTION_MIN_OVERLAP_MS: u64 = 500;
/// Default pass threshold of a graded check.
pub const DEFAULT_PASS_AT: f64 = 0.5;
/// Most turns an `after_trigger` window may span; more is no longer "the next turn".
pub const MAX_WITHIN_TURNS: u64 = 10;

/// Most words that may be inserted inside a phrase: more would match words
/// that merely occur near each other.
pub const MAX_PHRASE_GAP: u64 = 3;
/// Most checks in one rubric: scoring costs checks × segments, and QA
/// rubrics in use have tens (the built-in one has 19).
pub const MAX_CHECKS: usize = 500;
/// Most synonym groups, and words per group, a rubric may list.
const MAX_SYNONYM_GROUPS: usize = 500;
const MAX_SYNONYM_WORDS: usize = 50;

const DETECTOR_KEYS: [&str; 9] = [
    "phrases",
    "regex",
    "metric",
    "sentiment",
    "sensitive_data",
    "courtesy",
    "register",
    "empathy",
    "semantic",
];

/// Detectors that may be written without settings (`courtesy: {}` or `courtesy:`).
const DETECTORS_WITH_DEFAULTS: [&str; 4] = ["sensitive_data", "courtesy", "register", "empathy"];

/// Reads the root mapping into a rubric, collecting every error.
pub fn read_rubric(ctx: &mut Ctx, root: &Node) -> Option<Rubric> {
    let mut map = MapReader::open(ctx, root, "")?;
    let id = map
        .required(ctx, "id")
        .and_then(|n| identifier(ctx, n, "id"));
    let version = map.required(ctx, "version").and_then(|n| {
        let v = unsigned(ctx, n, "version")?;
        match u32::try_from(v) {
            Ok(v) if v >= 1 => Some(v),
            _ => {
                ctx.error(n.pos, "version", "must be an integer from 1 to 4294967295");
                None
            }
        }
    });
    let name = map
        .required(ctx, "name")
        .and_then(|n| string(ctx, n, "name"));
    let description = match map.optional("description") {
        Some(n) => string(ctx, n, "description"),
        None => Some(String::new()),
    };
    let (languages, langs) = match map.required(ctx, "languages") {
        Some(n) => languages(ctx, n, "languages"),
        None => (None, Language::ALL.to_vec()),
    };
    let settings = match map.optional("settings") {
        Some(n) => settings(ctx, n, "settings", &langs),
        None => Some(default_settings()),
    };
    let criteria = map.required(ctx, "criteria").and_then(|n| {
        let criteria = criteria(ctx, n, "criteria", &langs)?;
        let checks: usize = criteria.iter().map(|c| c.checks.len()).sum();
        if checks > MAX_CHECKS {
            ctx.error(
                n.pos,
                "criteria",
                format!("{checks} checks; a rubric may have at most {MAX_CHECKS}"),
            );
            return None;
        }
        Some(criteria)
    });
    map.finish(ctx);
    if let Some(settings) = &settings {
        check_metric_settings(ctx, settings);
    }
    let rubric = Rubric {
        id: id?,
        version: version?,
        name: name?,
        description: description?,
        languages: languages?,
        settings: settings?,
        criteria: criteria?,
    };
    Some(rubric)
}

/// Metrics that rest on phrase lists need those lists in `settings`.
fn check_metric_settings(ctx: &mut Ctx, settings: &Settings) {
    let uses = std::mem::take(&mut ctx.metric_uses);
    for (pos, path, name) in uses {
        let missing = match name {
            MetricName::TimeToGreetingSeconds if settings.greeting.is_empty() => {
                Some("settings.greeting")
            }
            MetricName::HoldsWithoutEtiquette | MetricName::HoldCount
                if settings.hold_request.is_empty() || settings.hold_thanks.is_empty() =>
            {
                Some("settings.hold_request and settings.hold_thanks")
            }
            _ => None,
        };
        if let Some(missing) = missing {
            ctx.error(
                pos,
                &path,
                format!("metric `{}` needs {missing}", name.as_str()),
            );
        }
    }
}

fn default_settings() -> Settings {
    Settings {
        hold_min_seconds: DEFAULT_HOLD_MIN_SECONDS,
        interruption_min_overlap_ms: DEFAULT_INTERRUPTION_MIN_OVERLAP_MS,
        greeting: BTreeMap::new(),
        hold_request: BTreeMap::new(),
        hold_thanks: BTreeMap::new(),
        phrase_gap: 0,
        synonyms: Vec::new(),
    }
}

fn identifier(ctx: &mut Ctx, node: &Node, path: &str) -> Option<String> {
    let text = string(ctx, node, path)?;
    let valid = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && text.len() <= 64;
    if valid {
        Some(text)
    } else {
        ctx.error(
            node.pos,
            path,
            format!("`{text}` is not a valid id: use 1-64 of a-z, 0-9, `_` and `-`"),
        );
        None
    }
}

/// Reads the language list; also returns the valid codes so that phrase
/// lists can be checked against them even when the list has errors.
fn languages(ctx: &mut Ctx, node: &Node, path: &str) -> (Option<Vec<Language>>, Vec<Language>) {
    let Value::Seq(items) = &node.value else {
        ctx.error(
            node.pos,
            path,
            format!("expected a list, found {}", node.type_name()),
        );
        return (None, Language::ALL.to_vec());
    };
    if items.is_empty() {
        ctx.error(node.pos, path, "list at least one language");
        return (None, Vec::new());
    }
    let mut ok = true;
    let mut out: Vec<Language> = Vec::new();
    for (i, n) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(code) = string(ctx, n, &p) else {
            ok = false;
            continue;
        };
        match Language::from_code(&code) {
            Some(lang) if out.contains(&lang) => {
                ctx.error(n.pos, &p, format!("language `{code}` listed twice"));
                ok = false;
            }
            Some(lang) => out.push(lang),
            None => {
                ctx.error(
                    n.pos,
                    &p,
                    format!("unknown language `{code}`; known: en, id"),
                );
                ok = false;
            }
        }
    }
    (ok.then(|| out.clone()), out)
}

/// Reports repeated `id` values among the mappings of a list, whatever else is wrong with them.
fn duplicate_ids(ctx: &mut Ctx, node: &Node, path: &str, what: &str) -> bool {
    let Value::Seq(items) = &node.value else {
        return true;
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let Value::Map(entries) = &item.value else {
            continue;
        };
        for (k, v) in entries {
            if scalar_text(k) != Some("id") {
                continue;
            }
            let Some(id) = scalar_text(v) else {
                continue;
            };
            if seen.contains(&id) {
                ctx.error(
                    v.pos,
                    &format!("{}.id", index(path, i)),
                    format!("duplicate {what} id `{id}`"),
                );
                ok = false;
            } else {
                seen.push(id);
            }
        }
    }
    ok
}

fn settings(ctx: &mut Ctx, node: &Node, path: &str, langs: &[Language]) -> Option<Settings> {
    let mut map = MapReader::open(ctx, node, path)?;
    let mut out = default_settings();
    let mut ok = true;
    if let Some(n) = map.optional("hold_min_seconds") {
        let p = map.path("hold_min_seconds");
        match positive_seconds(ctx, n, &p) {
            Some(v) => out.hold_min_seconds = v,
            None => ok = false,
        }
    }
    if let Some(n) = map.optional("interruption_min_overlap_ms") {
        let p = map.path("interruption_min_overlap_ms");
        match unsigned(ctx, n, &p) {
            Some(v) if v <= 10_000 => out.interruption_min_overlap_ms = v,
            Some(_) => {
                ctx.error(n.pos, &p, "must be at most 10000 ms");
                ok = false;
            }
            None => ok = false,
        }
    }
    for (key, slot) in [
        ("greeting", &mut out.greeting),
        ("hold_request", &mut out.hold_request),
        ("hold_thanks", &mut out.hold_thanks),
    ] {
        if let Some(n) = map.optional(key) {
            let p = map.path(key);
            match phrase_lists_only(ctx, n, &p, langs) {
                Some(lists) => *slot = lists,
                None => ok = false,
            }
        }
    }
    if let Some(n) = map.optional("phrase_gap") {
        match phrase_gap(ctx, n, &map.path("phrase_gap")) {
            Some(v) => out.phrase_gap = v,
            None => ok = false,
        }
    }
    if let Some(n) = map.optional("synonyms") {
        match synonyms(ctx, n, &map.path("synonyms")) {
            Some(groups) => out.synonyms = groups,
            None => ok = false,
        }
    }
    map.finish(ctx);
    ok.then_some(out)
}

/// Reads an inserted-word allowance (0..=MAX_PHRASE_GAP).
pub(super) fn phrase_gap(ctx: &mut Ctx, node: &Node, path: &str) -> Option<u8> {
    let v = unsigned(ctx, node, path)?;
    if v <= MAX_PHRASE_GAP {
        u8::try_from(v).ok()
    } else {
        ctx.error(
            node.pos,
            path,
            format!("must be from 0 to {MAX_PHRASE_GAP}"),
        );
        None
    }
}

/// Reads synonym groups: lists of single words, each group at least two.
fn synonyms(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Vec<Vec<String>>> {
    let groups = list(ctx, node, path, |ctx, n, p| {
        let words = list(ctx, n, p, |ctx, n, p| {
            let word = string(ctx, n, p)?;
            let single = !word.trim().is_empty()
                && word
                    .trim()
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '\'' || c == '-');
            if single {
                Some(word.trim().to_owned())
            } else {
                ctx.error(n.pos, p, "a synonym is one word (letters, digits, ' or -)");
                None
            }
        })?;
        if words.len() < 2 || words.len() > MAX_SYNONYM_WORDS {
            ctx.error(
                n.pos,
                p,
                format!("a synonym group lists 2 to {MAX_SYNONYM_WORDS} words"),
            );
            return None;
        }
        Some(words.into_iter().map(|(w, _)| w).collect::<Vec<_>>())
    })?;
    if groups.len() > MAX_SYNONYM_GROUPS {
        ctx.error(
            node.pos,
            path,
            format!("at most {MAX_SYNONYM_GROUPS} synonym groups"),
        );
        return None;
    }
    Some(groups.into_iter().map(|(g, _)| g).collect())
}

pub(super) fn positive_seconds(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let v = number(ctx, node, path)?;
    if v > 0.0 && v <= 86_400.0 {
        Some(v)
    } else {
        ctx.error(
            node.pos,
            path,
            "must be more than 0 and at most 86400 seconds",
        );
        None
    }
}

fn criteria(ctx: &mut Ctx, node: &Node, path: &str, langs: &[Language]) -> Option<Vec<Criterion>> {
    let unique = duplicate_ids(ctx, node, path, "criterion");
    let items = list(ctx, node, path, |ctx, n, p| criterion(ctx, n, p, langs));
    if let Value::Seq(nodes) = &node.value
        && nodes.is_empty()
    {
        ctx.error(node.pos, path, "list at least one criterion");
        return None;
    }
    let items = items?;
    unique.then(|| items.into_iter().map(|(c, _)| c).collect())
}

fn criterion(ctx: &mut Ctx, node: &Node, path: &str, langs: &[Language]) -> Option<Criterion> {
    let mut map = MapReader::open(ctx, node, path)?;
    let id = map
        .required(ctx, "id")
        .and_then(|n| identifier(ctx, n, &format!("{path}.id")));
    let name = map
        .required(ctx, "name")
        .and_then(|n| string(ctx, n, &format!("{path}.name")));
    let description = match map.optional("description") {
        Some(n) => string(ctx, n, &format!("{path}.description")),
        None => Some(String::new()),
    };
    let weight = map.required(ctx, "weight").and_then(|n| {
        let p = format!("{path}.weight");
        let w = number(ctx, n, &p)?;
        if w > 0.0 {
            Some(w)
        } else {
            ctx.error(n.pos, &p, "weight must be greater than 0");
            None
        }
    });
    let checks = map.required(ctx, "checks").and_then(|n| {
        let p = format!("{path}.checks");
        let unique = duplicate_ids(ctx, n, &p, "check");
        let items = list(ctx, n, &p, |ctx, n, p| check(ctx, n, p, langs));
        if let Value::Seq(nodes) = &n.value
            && nodes.is_empty()
        {
            ctx.error(n.pos, &p, "list at least one check");
            return None;
        }
        let items = items?;
        unique.then(|| items.into_iter().map(|(c, _)| c).collect())
    });
    map.finish(ctx);
    Some(Criterion {
        id: id?,
        name: name?,
        description: description?,
        weight: weight?,
        checks: checks?,
    })
}

/// A detector written without settings, with its defaults.
fn default_detector(key: &str) -> Option<Detector> {
    let graded = GradedDetector {
        pass_at: DEFAULT_PASS_AT,
    };
    match key {
        "sensitive_data" => Some(Detector::SensitiveData(SensitiveDataDetector {
            kinds: SensitiveKind::ALL.to_vec(),
        })),
        "courtesy" => Some(Detector::Courtesy(graded)),
        "register" => Some(Detector::Register(graded)),
        "empathy" => Some(Detector::Empathy(graded)),
        _ => None,
    }
}

pub(super) fn speaker(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SpeakerFilter> {
    let text = string(ctx, node, path)?;
    match text.as_str() {
        "agent" => Some(SpeakerFilter::Agent),
        "customer" => Some(SpeakerFilter::Customer),
        "any" => Some(SpeakerFilter::Any),
        other => {
            ctx.error(
                node.pos,
                path,
                format!("unknown speaker `{other}`; expected agent, customer or any"),
            );
            None
        }
    }
}

fn check(ctx: &mut Ctx, node: &Node, path: &str, langs: &[Language]) -> Option<Check> {
    let mut map = MapReader::open(ctx, node, path)?;
    let id = map
        .required(ctx, "id")
        .and_then(|n| identifier(ctx, n, &format!("{path}.id")));
    let description = map
        .required(ctx, "description")
        .and_then(|n| string(ctx, n, &format!("{path}.description")));
    let points = map.required(ctx, "points").and_then(|n| {
        let p = format!("{path}.points");
        let v = number(ctx, n, &p)?;
        if v >= 0.0 {
            Some(v)
        } else {
            ctx.error(n.pos, &p, "points must be 0 or more");
            None
        }
    });
    let critical_node = map.optional("critical");
    let critical = match critical_node {
        Some(n) => boolean(ctx, n, &format!("{path}.critical")).map(Some),
        None => Some(None),
    };
    let speaker_node = map.optional("speaker");
    let speaker_filter = match speaker_node {
        Some(n) => speaker(ctx, n, &format!("{path}.speaker")),
        None => Some(SpeakerFilter::Any),
    };
    let applies_when = match map.optional("applies_when") {
        Some(n) => applicability(ctx, n, &format!("{path}.applies_when"), langs).map(Some),
        None => Some(None),
    };
    let present: Vec<&str> = DETECTOR_KEYS
        .iter()
        .copied()
        .filter(|k| map.has(k))
        .collect();
    let detector = match present.as_slice() {
        [] => {
            ctx.error(
                map.pos(),
                path,
                format!(
                    "a check needs exactly one detector: {}",
                    DETECTOR_KEYS.join(", ")
                ),
            );
            // Mark the keys known so they are not also reported as unknown.
            for key in DETECTOR_KEYS {
                let _ = map.optional(key);
            }
            None
        }
        [kind] => {
            let kind = *kind;
            let mut result = None;
            for key in DETECTOR_KEYS {
                let value = map.optional(key);
                if key == kind {
                    match value {
                        Some(n) => result = detector(ctx, key, n, &map.path(key), langs),
                        None if DETECTORS_WITH_DEFAULTS.contains(&key) => {
                            result = default_detector(key);
                        }
                        None => ctx.error(map.pos(), &map.path(key), "detector has no settings"),
                    }
                }
            }
            result
        }
        several => {
            ctx.error(
                map.pos(),
                path,
                format!(
                    "a check has exactly one detector, found {}",
                    several.join(" and ")
                ),
            );
            for key in DETECTOR_KEYS {
                let _ = map.optional(key);
            }
            None
        }
    };
    map.finish(ctx);
    let detector = detector?;
    let is_metric_like = matches!(detector, Detector::Metric(_) | Detector::Sentiment(_));
    if is_metric_like && let Some(n) = speaker_node {
        ctx.error(
            n.pos,
            &format!("{path}.speaker"),
            "speaker has no effect on metric and sentiment detectors; remove it",
        );
        return None;
    }
    if detector.is_graded()
        && let (Some(n), Some(SpeakerFilter::Customer)) = (speaker_node, speaker_filter)
    {
        ctx.error(
            n.pos,
            &format!("{path}.speaker"),
            "graded detectors judge the agent's turns (agent, or any on mono calls)",
        );
        return None;
    }
    let critical = critical?.unwrap_or(matches!(detector, Detector::SensitiveData(_)));
    // Graded and semantic detectors judge the agent unless told otherwise.
    let default_speaker = match detector {
        Detector::Courtesy(_) | Detector::Register(_) | Detector::Empathy(_) => {
            SpeakerFilter::Agent
        }
        _ => SpeakerFilter::Any,
    };
    let speaker_filter = if speaker_node.is_some() {
        speaker_filter
    } else {
        Some(default_speaker)
    };
    Some(Check {
        id: id?,
        description: description?,
        points: points?,
        critical,
        speaker: speaker_filter?,
        applies_when: applies_when?,
        detector,
    })
}

fn applicability(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    langs: &[Language],
) -> Option<Applicability> {
    let mut map = MapReader::open(ctx, node, path)?;
    let mut out = Applicability::default();
    let mut ok = true;
    if let Some(n) = map.optional("said") {
        match phrase_lists_only(ctx, n, &map.path("said"), langs) {
            Some(l) => out.said = Some(l),
            None => ok = false,
        }
    }
    if let Some(n) = map.optional("said_by") {
        match speaker(ctx, n, &map.path("said_by")) {
            Some(s) => out.said_by = s,
            None => ok = false,
        }
    }
    for (key, slot) in [
        ("customer_negative", &mut out.customer_negative),
        ("has_hold", &mut out.has_hold),
        ("speakers_known", &mut out.speakers_known),
    ] {
        if let Some(n) = map.optional(key) {
            let p = map.path(key);
            match boolean(ctx, n, &p) {
                Some(b) => *slot = Some(b),
                None => ok = false,
            }
        }
    }
    if let Some(n) = map.optional("min_duration_seconds") {
        match positive_seconds(ctx, n, &map.path("min_duration_seconds")) {
            Some(v) => out.min_duration_seconds = Some(v),
            None => ok = false,
        }
    }
    if let Some(n) = map.optional("min_agent_turns") {
        let p = map.path("min_agent_turns");
        match unsigned(ctx, n, &p) {
            Some(v) if (1..=1000).contains(&v) => out.min_agent_turns = u32::try_from(v).ok(),
            Some(_) => {
                ctx.error(n.pos, &p, "must be from 1 to 1000");
                ok = false;
            }
            None => ok = false,
        }
    }
    if out == Applicability::default() && ok {
        ctx.error(map.pos(), path, "applies_when lists no condition");
        ok = false;
    }
    map.finish(ctx);
    ok.then_some(out)
}
