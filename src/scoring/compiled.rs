//! A rubric compiled for scoring: phrase lists interned into one matcher,
//! regexes built, windows turned into milliseconds. Built once per rubric.

use regex::{Regex, RegexBuilder};

use crate::rubric::{
    Applicability, Detector, Expect, MetricDetector, Rubric, SensitiveKind, SpeakerFilter, Window,
};

use super::engine::{Engine, EngineBuilder};
use super::metrics::MetricSettings;

/// Where a phrase or regex detector looks.
#[derive(Debug, Clone, Copy)]
pub enum CompiledWindow {
    /// The whole call.
    All,
    /// Segments starting before this many ms.
    First(u64),
    /// Segments ending within this many ms of the end of the call.
    Last(u64),
    /// The check speaker's next turns after each trigger turn.
    After {
        /// Whose turns trigger.
        speaker: SpeakerFilter,
        /// Negative sentiment triggers.
        negative: bool,
        /// Trigger phrase set.
        set: Option<u32>,
        /// How many turns are searched.
        within: u32,
    },
}

/// What finds the behaviour in text.
#[derive(Debug)]
pub enum Finder {
    /// A phrase set in the matcher.
    Phrases(u32),
    /// One regex, the rubric's patterns joined as alternatives.
    Regex(Regex),
}

/// A detector ready to run.
#[derive(Debug)]
pub enum CompiledDetector {
    /// Phrases or regex, present or absent, in a window.
    Text {
        /// What to look for.
        finder: Finder,
        /// Pass on presence or absence.
        expect: Expect,
        /// Where.
        window: CompiledWindow,
    },
    /// A metric threshold.
    Metric(MetricDetector),
    /// Customer sentiment change.
    Sentiment {
        /// Least end-minus-start that passes.
        min_change: f64,
    },
    /// Sensitive-data requests and read-outs.
    Sensitive(Vec<SensitiveKind>),
}

/// Applicability, compiled.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompiledApplies {
    /// Phrase set that must be said, and by whom.
    pub said: Option<(u32, SpeakerFilter)>,
    /// Customer negative emotion required (or required absent).
    pub customer_negative: Option<bool>,
    /// A hold required (or required absent).
    pub has_hold: Option<bool>,
    /// Speaker attribution required (or required absent).
    pub speakers_known: Option<bool>,
    /// Minimum call length, ms.
    pub min_duration_ms: Option<u64>,
}

/// One check, compiled.
#[derive(Debug)]
pub struct CompiledCheck {
    /// Index of the check in its criterion.
    pub index: usize,
    /// Whose speech it looks at.
    pub speaker: SpeakerFilter,
    /// When it applies.
    pub applies: Option<CompiledApplies>,
    /// The detector.
    pub detector: CompiledDetector,
}

/// A rubric ready to score transcripts; nothing is compiled per call.
#[derive(Debug)]
pub struct CompiledRubric {
    /// The source rubric.
    pub rubric: Rubric,
    /// Its content hash, computed once.
    pub hash: String,
    /// The matcher with lexicons and the rubric's phrase lists.
    pub engine: Engine,
    /// Metric settings (phrase sets and thresholds).
    pub metric_settings: MetricSettings,
    /// Compiled checks, per criterion, in rubric order.
    pub checks: Vec<Vec<CompiledCheck>>,
}

fn seconds_to_ms(s: f64) -> u64 {
    // Validation bounds seconds to (0, 86400], so this cannot overflow.
    (s * 1000.0).round() as u64
}

impl CompiledRubric {
    /// Compiles a validated rubric.
    pub fn compile(rubric: &Rubric) -> Result<CompiledRubric, regex::Error> {
        let mut b = EngineBuilder::default();
        let settings = &rubric.settings;
        let flat = |lists: &crate::rubric::PhraseLists| -> Vec<String> {
            lists.values().flatten().cloned().collect()
        };
        let metric_settings = MetricSettings {
            greeting: b.add_set(&flat(&settings.greeting)),
            hold_request: b.add_set(&flat(&settings.hold_request)),
            hold_thanks: b.add_set(&flat(&settings.hold_thanks)),
            hold_min_ms: seconds_to_ms(settings.hold_min_seconds),
            interruption_min_overlap_ms: settings.interruption_min_overlap_ms,
        };
        let mut checks = Vec::with_capacity(rubric.criteria.len());
        for criterion in &rubric.criteria {
            let mut compiled = Vec::with_capacity(criterion.checks.len());
            for (index, check) in criterion.checks.iter().enumerate() {
                let applies = check
                    .applies_when
                    .as_ref()
                    .map(|a| compile_applies(&mut b, a));
                let detector = match &check.detector {
                    Detector::Phrases(p) => CompiledDetector::Text {
                        finder: Finder::Phrases(b.add_set(&flat(&p.lists))),
                        expect: p.expect,
                        window: compile_window(&mut b, p.window.as_ref()),
                    },
                    Detector::Regex(r) => {
                        let joined = r
                            .patterns
                            .iter()
                            .map(|p| format!("(?:{p})"))
                            .collect::<Vec<_>>()
                            .join("|");
                        let regex = RegexBuilder::new(&joined)
                            .case_insensitive(true)
                            .size_limit(1 << 22)
                            .build()?;
                        CompiledDetector::Text {
                            finder: Finder::Regex(regex),
                            expect: r.expect,
                            window: compile_window(&mut b, r.window.as_ref()),
                        }
                    }
                    Detector::Metric(m) => CompiledDetector::Metric(m.clone()),
                    Detector::Sentiment(s) => CompiledDetector::Sentiment {
                        min_change: s.min_change,
                    },
                    Detector::SensitiveData(s) => CompiledDetector::Sensitive(s.kinds.clone()),
                };
                compiled.push(CompiledCheck {
                    index,
                    speaker: check.speaker,
                    applies,
                    detector,
                });
            }
            checks.push(compiled);
        }
        Ok(CompiledRubric {
            rubric: rubric.clone(),
            hash: rubric.content_hash(),
            engine: b.build(),
            metric_settings,
            checks,
        })
    }

    /// A copy of the transcript with sensitive data masked; timing untouched.
    pub fn redact(
        &self,
        transcript: &crate::transcript::Transcript,
    ) -> crate::transcript::Transcript {
        super::redact::redact_with(&self.engine, transcript)
    }
}

fn compile_applies(b: &mut EngineBuilder, a: &Applicability) -> CompiledApplies {
    CompiledApplies {
        said: a.said.as_ref().map(|lists| {
            let phrases: Vec<String> = lists.values().flatten().cloned().collect();
            (b.add_set(&phrases), a.said_by)
        }),
        customer_negative: a.customer_negative,
        has_hold: a.has_hold,
        speakers_known: a.speakers_known,
        min_duration_ms: a.min_duration_seconds.map(seconds_to_ms),
    }
}

fn compile_window(b: &mut EngineBuilder, w: Option<&Window>) -> CompiledWindow {
    match w {
        None => CompiledWindow::All,
        Some(Window::FirstSeconds(s)) => CompiledWindow::First(seconds_to_ms(*s)),
        Some(Window::LastSeconds(s)) => CompiledWindow::Last(seconds_to_ms(*s)),
        Some(Window::AfterTrigger(t)) => CompiledWindow::After {
            speaker: t.speaker,
            negative: t.negative_sentiment,
            set: t.phrases.as_ref().map(|lists| {
                let phrases: Vec<String> = lists.values().flatten().cloned().collect();
                b.add_set(&phrases)
            }),
            within: t.within_turns,
        },
    }
}
