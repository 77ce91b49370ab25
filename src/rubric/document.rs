//! Reads and validates a whole rubric document from its positioned tree.

use std::collections::BTreeMap;

use super::model::{
    Applicability, Check, Criterion, Detector, Expect, Language, MetricDetector, MetricName,
    PhraseDetector, PhraseLists, RegexDetector, Rubric, SensitiveDataDetector, SensitiveKind,
    SentimentDetector, Settings, SpeakerFilter, Trigger, Window,
};
use super::read::{Ctx, MapReader, boolean, index, list, number, scalar_text, string, unsigned};
use super::yaml::{Node, Value};

/// Default for `settings.hold_min_seconds`.
pub const DEFAULT_HOLD_MIN_SECONDS: f64 = 20.0;
/// Default for `settings.interruption_min_overlap_ms`.
pub const DEFAULT_INTERRUPTION_MIN_OVERLAP_MS: u64 = 500;
/// Most turns an `after_trigger` window may span; more is no longer "the next turn".
pub const MAX_WITHIN_TURNS: u64 = 10;

const DETECTOR_KEYS: [&str; 5] = ["phrases", "regex", "metric", "sentiment", "sensitive_data"];

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
    let criteria = map
        .required(ctx, "criteria")
        .and_then(|n| criteria(ctx, n, "criteria", &langs));
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
    map.finish(ctx);
    ok.then_some(out)
}

fn positive_seconds(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
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

fn speaker(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SpeakerFilter> {
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
                        None if key == "sensitive_data" => {
                            result = Some(Detector::SensitiveData(SensitiveDataDetector {
                                kinds: SensitiveKind::ALL.to_vec(),
                            }));
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
    let critical = critical?.unwrap_or(matches!(detector, Detector::SensitiveData(_)));
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

fn detector(
    ctx: &mut Ctx,
    kind: &str,
    node: &Node,
    path: &str,
    langs: &[Language],
) -> Option<Detector> {
    match kind {
        "phrases" => {
            let mut map = MapReader::open(ctx, node, path)?;
            let (expect, window) = expect_and_window(ctx, &mut map, langs);
            let lists = phrase_language_keys(ctx, &mut map, langs);
            map.finish(ctx);
            Some(Detector::Phrases(PhraseDetector {
                expect: expect?,
                window: window?,
                lists: lists?,
            }))
        }
        "regex" => {
            let mut map = MapReader::open(ctx, node, path)?;
            let (expect, window) = expect_and_window(ctx, &mut map, langs);
            let patterns = map.required(ctx, "patterns").and_then(|n| {
                let p = map.path("patterns");
                let items = list(ctx, n, &p, |ctx, n, p| {
                    let pattern = string(ctx, n, p)?;
                    match regex::RegexBuilder::new(&pattern)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                    {
                        Ok(_) => Some(pattern),
                        Err(e) => {
                            let msg = e.to_string();
                            let last = msg.lines().last().unwrap_or("invalid regex").trim();
                            ctx.error(n.pos, p, format!("regex does not compile: {last}"));
                            None
                        }
                    }
                })?;
                if items.is_empty() {
                    ctx.error(n.pos, &p, "list at least one pattern");
                    return None;
                }
                Some(items.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
            });
            map.finish(ctx);
            Some(Detector::Regex(RegexDetector {
                expect: expect?,
                window: window?,
                patterns: patterns?,
            }))
        }
        "metric" => metric(ctx, node, path).map(Detector::Metric),
        "sentiment" => {
            let mut map = MapReader::open(ctx, node, path)?;
            let min_change = match map.optional("min_change") {
                Some(n) => {
                    let p = map.path("min_change");
                    number(ctx, n, &p).and_then(|v| {
                        if (-2.0..=2.0).contains(&v) {
                            Some(v)
                        } else {
                            ctx.error(
                                n.pos,
                                &p,
                                "must be between -2 and 2 (sentiment is in -1..1)",
                            );
                            None
                        }
                    })
                }
                None => Some(0.0),
            };
            map.finish(ctx);
            Some(Detector::Sentiment(SentimentDetector {
                min_change: min_change?,
            }))
        }
        "sensitive_data" => {
            let mut map = MapReader::open(ctx, node, path)?;
            let kinds = match map.optional("kinds") {
                Some(n) => {
                    let p = map.path("kinds");
                    list(ctx, n, &p, |ctx, n, p| {
                        let name = string(ctx, n, p)?;
                        let kind = SensitiveKind::ALL.into_iter().find(|k| k.as_str() == name);
                        if kind.is_none() {
                            ctx.error(
                                n.pos,
                                p,
                                format!(
                                    "unknown sensitive data kind `{name}`; expected one of: {}",
                                    SensitiveKind::ALL.map(|k| k.as_str()).join(", ")
                                ),
                            );
                        }
                        kind
                    })
                    .and_then(|items| {
                        if items.is_empty() {
                            ctx.error(n.pos, &p, "list at least one kind");
                            return None;
                        }
                        let mut kinds: Vec<SensitiveKind> =
                            items.into_iter().map(|(k, _)| k).collect();
                        kinds.sort_unstable();
                        kinds.dedup();
                        Some(kinds)
                    })
                }
                None => Some(SensitiveKind::ALL.to_vec()),
            };
            map.finish(ctx);
            Some(Detector::SensitiveData(SensitiveDataDetector {
                kinds: kinds?,
            }))
        }
        _ => None,
    }
}

fn expect_and_window(
    ctx: &mut Ctx,
    map: &mut MapReader<'_>,
    langs: &[Language],
) -> (Option<Expect>, Option<Option<Window>>) {
    let expect = match map.optional("expect") {
        Some(n) => {
            let p = map.path("expect");
            string(ctx, n, &p).and_then(|s| match s.as_str() {
                "present" => Some(Expect::Present),
                "absent" => Some(Expect::Absent),
                other => {
                    ctx.error(
                        n.pos,
                        &p,
                        format!("unknown expectation `{other}`; expected present or absent"),
                    );
                    None
                }
            })
        }
        None => Some(Expect::Present),
    };
    let window = match map.optional("window") {
        Some(n) => window(ctx, n, &map.path("window"), langs).map(Some),
        None => Some(None),
    };
    (expect, window)
}

fn window(ctx: &mut Ctx, node: &Node, path: &str, langs: &[Language]) -> Option<Window> {
    let mut map = MapReader::open(ctx, node, path)?;
    let keys = ["first_seconds", "last_seconds", "after_trigger"];
    let present: Vec<&str> = keys.iter().copied().filter(|k| map.has(k)).collect();
    let first = map.optional("first_seconds");
    let last = map.optional("last_seconds");
    let trigger = map.optional("after_trigger");
    let result = if present.len() != 1 {
        ctx.error(
            map.pos(),
            path,
            "a window is exactly one of first_seconds, last_seconds or after_trigger",
        );
        None
    } else if let Some(n) = first {
        positive_seconds(ctx, n, &map.path("first_seconds")).map(Window::FirstSeconds)
    } else if let Some(n) = last {
        positive_seconds(ctx, n, &map.path("last_seconds")).map(Window::LastSeconds)
    } else if let Some(n) = trigger {
        after_trigger(ctx, n, &map.path("after_trigger"), langs).map(Window::AfterTrigger)
    } else {
        ctx.error(map.pos(), path, "the window has no value");
        None
    };
    map.finish(ctx);
    result
}

fn after_trigger(ctx: &mut Ctx, node: &Node, path: &str, langs: &[Language]) -> Option<Trigger> {
    let mut map = MapReader::open(ctx, node, path)?;
    let speaker_filter = match map.optional("speaker") {
        Some(n) => speaker(ctx, n, &map.path("speaker")),
        None => Some(SpeakerFilter::Customer),
    };
    let negative = match map.optional("negative_sentiment") {
        Some(n) => boolean(ctx, n, &map.path("negative_sentiment")),
        None => Some(false),
    };
    let phrases = match map.optional("phrases") {
        Some(n) => phrase_lists_only(ctx, n, &map.path("phrases"), langs).map(Some),
        None => Some(None),
    };
    let within = match map.optional("within_turns") {
        Some(n) => {
            let p = map.path("within_turns");
            unsigned(ctx, n, &p).and_then(|v| {
                if (1..=MAX_WITHIN_TURNS).contains(&v) {
                    u32::try_from(v).ok()
                } else {
                    ctx.error(n.pos, &p, format!("must be from 1 to {MAX_WITHIN_TURNS}"));
                    None
                }
            })
        }
        None => Some(1),
    };
    if negative == Some(false) && phrases == Some(None) {
        ctx.error(
            map.pos(),
            path,
            "a trigger needs negative_sentiment: true, phrases, or both",
        );
    }
    map.finish(ctx);
    let (negative, phrases) = (negative?, phrases?);
    if !negative && phrases.is_none() {
        return None;
    }
    Some(Trigger {
        speaker: speaker_filter?,
        negative_sentiment: negative,
        phrases,
        within_turns: within?,
    })
}

fn metric(ctx: &mut Ctx, node: &Node, path: &str) -> Option<MetricDetector> {
    let mut map = MapReader::open(ctx, node, path)?;
    let name = map.required(ctx, "name").and_then(|n| {
        let p = map.path("name");
        let text = string(ctx, n, &p)?;
        let found = MetricName::ALL.into_iter().find(|m| m.as_str() == text);
        if found.is_none() {
            ctx.error(
                n.pos,
                &p,
                format!(
                    "unknown metric `{text}`; expected one of: {}",
                    MetricName::ALL.map(|m| m.as_str()).join(", ")
                ),
            );
        }
        found
    });
    let bound = |ctx: &mut Ctx, map: &mut MapReader<'_>, key: &'static str| match map.optional(key)
    {
        Some(n) => {
            let p = map.path(key);
            number(ctx, n, &p).and_then(|v| {
                if v >= 0.0 {
                    Some(Some(v))
                } else {
                    ctx.error(n.pos, &p, "metric bounds are 0 or more");
                    None
                }
            })
        }
        None => Some(None),
    };
    let min = bound(ctx, &mut map, "min");
    let max = bound(ctx, &mut map, "max");
    let pos = map.pos();
    map.finish(ctx);
    let (name, min, max) = (name?, min?, max?);
    ctx.metric_uses.push((pos, path.to_owned(), name));
    if min.is_none() && max.is_none() {
        ctx.error(pos, path, "a metric check needs min, max, or both");
        return None;
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        ctx.error(pos, path, format!("min ({lo}) is greater than max ({hi})"));
        return None;
    }
    if name == MetricName::AgentTalkRatio && (min.unwrap_or(0.0) > 1.0 || max.unwrap_or(0.0) > 1.0)
    {
        ctx.error(
            pos,
            path,
            "agent_talk_ratio is a fraction: bounds are from 0 to 1",
        );
        return None;
    }
    Some(MetricDetector { name, min, max })
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
    if out == Applicability::default() && ok {
        ctx.error(map.pos(), path, "applies_when lists no condition");
        ok = false;
    }
    map.finish(ctx);
    ok.then_some(out)
}

/// A mapping that holds only language keys.
fn phrase_lists_only(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    langs: &[Language],
) -> Option<PhraseLists> {
    let mut map = MapReader::open(ctx, node, path)?;
    let lists = phrase_language_keys(ctx, &mut map, langs);
    map.finish(ctx);
    lists
}

/// Reads the `en` / `id` keys of a mapping as phrase lists.
fn phrase_language_keys(
    ctx: &mut Ctx,
    map: &mut MapReader<'_>,
    langs: &[Language],
) -> Option<PhraseLists> {
    let mut out = PhraseLists::new();
    let mut ok = true;
    for lang in Language::ALL {
        let Some(n) = map.optional(lang.code()) else {
            continue;
        };
        let p = map.path(lang.code());
        if !langs.contains(&lang) {
            ctx.error(
                n.pos,
                &p,
                format!(
                    "language `{}` is not in the rubric's languages",
                    lang.code()
                ),
            );
            ok = false;
            continue;
        }
        let items = list(ctx, n, &p, |ctx, n, p| {
            let phrase = string(ctx, n, p)?;
            if phrase.chars().any(char::is_alphanumeric) {
                Some(phrase)
            } else {
                ctx.error(n.pos, p, "a phrase needs at least one letter or digit");
                None
            }
        });
        match items {
            Some(items) if items.is_empty() => {
                ctx.error(n.pos, &p, "list at least one phrase");
                ok = false;
            }
            Some(items) => {
                out.insert(lang, items.into_iter().map(|(s, _)| s).collect());
            }
            None => ok = false,
        }
    }
    if ok && out.is_empty() {
        ctx.error(
            map.pos(),
            map.base_path(),
            "list phrases for at least one language (en, id)",
        );
        ok = false;
    }
    ok.then_some(out)
}
