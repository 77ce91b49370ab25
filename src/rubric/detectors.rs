//! Reads the detector part of a check (phrases, regex, metric, sentiment,
//! sensitive data) with its windows and triggers, and phrase lists.

use super::document::{DEFAULT_PASS_AT, MAX_WITHIN_TURNS, phrase_gap, positive_seconds, speaker};
use super::model::{
    Detector, Expect, GradedDetector, Language, MetricDetector, MetricName, PhraseDetector,
    PhraseLists, RegexDetector, SemanticDetector, SensitiveDataDetector, SensitiveKind,
    SentimentDetector, SpeakerFilter, Trigger, Window,
};
use super::read::{Ctx, MapReader, boolean, list, number, string, unsigned};
use super::yaml::Node;

/// Reads one detector's settings, `kind` being its key in the check.
pub(super) fn detector(
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
            let max_gap = match map.optional("max_gap") {
                Some(n) => phrase_gap(ctx, n, &map.path("max_gap")).map(Some),
                None => Some(None),
            };
            let lists = phrase_language_keys(ctx, &mut map, langs);
            map.finish(ctx);
            Some(Detector::Phrases(PhraseDetector {
                expect: expect?,
                window: window?,
                lists: lists?,
                max_gap: max_gap?,
            }))
        }
        "courtesy" | "register" | "empathy" => {
            let mut map = MapReader::open(ctx, node, path)?;
            let pass_at = match map.optional("pass_at") {
                Some(n) => {
                    let p = map.path("pass_at");
                    number(ctx, n, &p).and_then(|v| {
                        if v > 0.0 && v <= 1.0 {
                            Some(v)
                        } else {
                            ctx.error(n.pos, &p, "must be more than 0 and at most 1");
                            None
                        }
                    })
                }
                None => Some(DEFAULT_PASS_AT),
            };
            map.finish(ctx);
            let graded = GradedDetector { pass_at: pass_at? };
            Some(match kind {
                "courtesy" => Detector::Courtesy(graded),
                "register" => Detector::Register(graded),
                _ => Detector::Empathy(graded),
            })
        }
        "semantic" => semantic(ctx, node, path, langs).map(Detector::Semantic),
        "regex" => {
            let mut map = MapReader::open(ctx, node, path)?;
            let (expect, window) = expect_and_window(ctx, &mut map, langs);
            let patterns = map.required(ctx, "patterns").and_then(|n| {
                let p = map.path("patterns");
                let items = list(ctx, n, &p, |ctx, n, p| {
                    let pattern = string(ctx, n, p)?;
                    match compile_patterns(std::slice::from_ref(&pattern)) {
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
                let patterns: Vec<String> = items.into_iter().map(|(s, _)| s).collect();
                // Scoring compiles the patterns as one regex: validate exactly that,
                // so a rubric that validates can always score.
                if let Err(e) = compile_patterns(&patterns) {
                    let msg = e.to_string();
                    let last = msg.lines().last().unwrap_or("invalid regex").trim();
                    ctx.error(
                        n.pos,
                        &p,
                        format!("the patterns together do not compile: {last}"),
                    );
                    return None;
                }
                Some(patterns)
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

/// Most exemplars (and counter-exemplars) of one semantic check: each is
/// embedded once per rubric, and every turn is compared with all of them.
pub const MAX_EXEMPLARS: usize = 64;

fn semantic(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    langs: &[Language],
) -> Option<SemanticDetector> {
    let mut map = MapReader::open(ctx, node, path)?;
    let (expect, window) = expect_and_window(ctx, &mut map, langs);
    let threshold = map.required(ctx, "threshold").and_then(|n| {
        let p = map.path("threshold");
        number(ctx, n, &p).and_then(|v| {
            if v > 0.0 && v < 1.0 {
                Some(v)
            } else {
                ctx.error(
                    n.pos,
                    &p,
                    "a cosine similarity threshold is between 0 and 1",
                );
                None
            }
        })
    });
    let exemplars = map
        .required(ctx, "exemplars")
        .and_then(|n| phrase_lists_only(ctx, n, &map.path("exemplars"), langs));
    let counter = match map.optional("counter_exemplars") {
        Some(n) => phrase_lists_only(ctx, n, &map.path("counter_exemplars"), langs),
        None => Some(PhraseLists::new()),
    };
    map.finish(ctx);
    let (exemplars, counter) = (exemplars?, counter?);
    let count = exemplars
        .values()
        .chain(counter.values())
        .map(Vec::len)
        .sum::<usize>();
    if count > MAX_EXEMPLARS {
        ctx.error(
            node.pos,
            path,
            format!("at most {MAX_EXEMPLARS} exemplars and counter-exemplars in all"),
        );
        return None;
    }
    Some(SemanticDetector {
        expect: expect?,
        window: window?,
        exemplars,
        counter_exemplars: counter,
        threshold: threshold?,
    })
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

/// A mapping that holds only language keys.
pub(super) fn phrase_lists_only(
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

/// Largest compiled regex of one check, in bytes.
pub const MAX_REGEX_BYTES: usize = 1 << 22;

/// A regex detector's patterns as the one case-insensitive regex scoring runs.
pub fn compile_patterns(patterns: &[String]) -> Result<regex::Regex, regex::Error> {
    let joined = patterns
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    regex::RegexBuilder::new(&joined)
        .case_insensitive(true)
        .size_limit(MAX_REGEX_BYTES)
        .build()
}
