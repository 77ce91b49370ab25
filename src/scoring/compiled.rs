//! A rubric compiled for scoring: phrase lists interned into one matcher,
//! regexes built, windows turned into milliseconds. Built once per rubric.

use std::sync::Arc;

use regex::Regex;

use crate::rubric::{
    Applicability, Detector, Expect, MetricDetector, Rubric, SensitiveKind, SpeakerFilter, Window,
    compile_patterns,
};

use super::engine::{Engine, EngineBuilder};
use super::graded::{GradedKind, GradedSets};
use super::metrics::MetricSettings;
use super::scorecard::ScorerVersions;
use super::versions::{rubric_hash, scorer_versions};
use crate::semantic::{Encoder, EncoderError};

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
    /// Turns close in meaning to exemplars (needs the encoder).
    Semantic(Box<SemanticFinder>),
}

/// A semantic check's exemplars, embedded once when the rubric is compiled.
#[derive(Debug)]
pub struct SemanticFinder {
    /// Exemplar texts and their embeddings.
    pub exemplars: Vec<(String, Vec<f32>)>,
    /// Counter-exemplar texts and their embeddings.
    pub counter_exemplars: Vec<(String, Vec<f32>)>,
    /// Least similarity to an exemplar that matches.
    pub threshold: f64,
}

/// Why a rubric could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A regex detector's patterns do not compile together.
    #[error(transparent)]
    Regex(#[from] regex::Error),
    /// The encoder failed on an exemplar.
    #[error(transparent)]
    Encoder(#[from] EncoderError),
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
    /// A graded detector: a fraction of the points.
    Graded {
        /// Which lexicon.
        kind: GradedKind,
        /// Fraction at or above which the check passes.
        pass_at: f64,
    },
    /// A semantic check compiled without an encoder: it cannot apply.
    SemanticUnavailable,
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
    /// Minimum number of agent turns.
    pub min_agent_turns: Option<u32>,
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
    /// The graded lexicons the rubric uses, when it uses any.
    pub graded: Option<GradedSets>,
    /// Detector, lexicon and encoder versions (also in `hash`).
    pub versions: ScorerVersions,
    /// The sentence encoder, when one was given: semantic checks and the
    /// graded detectors' whole-turn terms use it.
    pub encoder: Option<Arc<Encoder>>,
}

fn seconds_to_ms(s: f64) -> u64 {
    // Validation bounds seconds to (0, 86400], so this cannot overflow.
    (s * 1000.0).round() as u64
}

impl CompiledRubric {
    /// Compiles a validated rubric without a sentence encoder: semantic
    /// checks will not apply, graded checks use their cues alone.
    pub fn compile(rubric: &Rubric) -> Result<CompiledRubric, CompileError> {
        CompiledRubric::compile_with(rubric, None)
    }

    /// Compiles a validated rubric; with an encoder, the exemplars of its
    /// semantic checks are embedded now (about 25 ms each), once.
    pub fn compile_with(
        rubric: &Rubric,
        encoder: Option<Arc<Encoder>>,
    ) -> Result<CompiledRubric, CompileError> {
        let mut b = EngineBuilder::default();
        let settings = &rubric.settings;
        // Synonyms first, so that every phrase list added after sees them.
        for group in &settings.synonyms {
            b.add_synonyms(group);
        }
        let gap = settings.phrase_gap;
        let flat = |lists: &crate::rubric::PhraseLists| -> Vec<String> {
            lists.values().flatten().cloned().collect()
        };
        let metric_settings = MetricSettings {
            greeting: b.add_set_with_gap(&flat(&settings.greeting), gap),
            hold_request: b.add_set_with_gap(&flat(&settings.hold_request), gap),
            hold_thanks: b.add_set_with_gap(&flat(&settings.hold_thanks), gap),
            hold_min_ms: seconds_to_ms(settings.hold_min_seconds),
            interruption_min_overlap_ms: settings.interruption_min_overlap_ms,
            charge: b.builtin_sets().charge,
            correction: b.builtin_sets().correction,
        };
        let mut checks = Vec::with_capacity(rubric.criteria.len());
        for criterion in &rubric.criteria {
            let mut compiled = Vec::with_capacity(criterion.checks.len());
            for (index, check) in criterion.checks.iter().enumerate() {
                let applies = check
                    .applies_when
                    .as_ref()
                    .map(|a| compile_applies(&mut b, a, gap));
                let detector = match &check.detector {
                    Detector::Phrases(p) => CompiledDetector::Text {
                        finder: Finder::Phrases(
                            b.add_set_with_gap(&flat(&p.lists), p.max_gap.unwrap_or(gap)),
                        ),
                        expect: p.expect,
                        window: compile_window(&mut b, p.window.as_ref(), gap),
                    },
                    Detector::Regex(r) => {
                        let regex = compile_patterns(&r.patterns)?;
                        CompiledDetector::Text {
                            finder: Finder::Regex(regex),
                            expect: r.expect,
                            window: compile_window(&mut b, r.window.as_ref(), gap),
                        }
                    }
                    Detector::Metric(m) => CompiledDetector::Metric(m.clone()),
                    Detector::Sentiment(s) => CompiledDetector::Sentiment {
                        min_change: s.min_change,
                    },
                    Detector::SensitiveData(s) => CompiledDetector::Sensitive(s.kinds.clone()),
                    Detector::Courtesy(g) => CompiledDetector::Graded {
                        kind: GradedKind::Courtesy,
                        pass_at: g.pass_at,
                    },
                    Detector::Register(g) => CompiledDetector::Graded {
                        kind: GradedKind::Register,
                        pass_at: g.pass_at,
                    },
                    Detector::Empathy(g) => CompiledDetector::Graded {
                        kind: GradedKind::Empathy,
                        pass_at: g.pass_at,
                    },
                    Detector::Semantic(sem) => match &encoder {
                        Some(encoder) => {
                            let embed = |texts: Vec<String>| {
                                texts
                                    .into_iter()
                                    .map(|t| encoder.embed(&t).map(|v| (t, v)))
                                    .collect::<Result<Vec<_>, _>>()
                            };
                            CompiledDetector::Text {
                                finder: Finder::Semantic(Box::new(SemanticFinder {
                                    exemplars: embed(flat(&sem.exemplars))?,
                                    counter_exemplars: embed(flat(&sem.counter_exemplars))?,
                                    threshold: sem.threshold,
                                })),
                                expect: sem.expect,
                                window: compile_window(&mut b, sem.window.as_ref(), gap),
                            }
                        }
                        None => CompiledDetector::SemanticUnavailable,
                    },
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
        let graded_checks: Vec<(GradedKind, SpeakerFilter)> = checks
            .iter()
            .flatten()
            .filter_map(|c| match c.detector {
                CompiledDetector::Graded { kind, .. } => Some((kind, c.speaker)),
                _ => None,
            })
            .collect();
        let uses: Vec<GradedKind> = graded_checks.iter().map(|(k, _)| *k).collect();
        // A lexicon only the agent's turns are judged by need not be matched
        // on the customer's.
        let agent_only: Vec<GradedKind> = uses
            .iter()
            .copied()
            .filter(|k| {
                graded_checks
                    .iter()
                    .filter(|(kind, _)| kind == k)
                    .all(|(_, speaker)| *speaker == SpeakerFilter::Agent)
            })
            .collect();
        let graded = (!uses.is_empty()).then(|| GradedSets::build(&mut b, &uses, &agent_only));
        let versions = scorer_versions(rubric, encoder.as_deref().map(Encoder::id));
        Ok(CompiledRubric {
            rubric: rubric.clone(),
            hash: rubric_hash(rubric, &versions),
            engine: b.build(),
            metric_settings,
            checks,
            graded,
            versions,
            encoder,
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

fn compile_applies(b: &mut EngineBuilder, a: &Applicability, gap: u8) -> CompiledApplies {
    CompiledApplies {
        said: a.said.as_ref().map(|lists| {
            let phrases: Vec<String> = lists.values().flatten().cloned().collect();
            (b.add_set_with_gap(&phrases, gap), a.said_by)
        }),
        customer_negative: a.customer_negative,
        has_hold: a.has_hold,
        speakers_known: a.speakers_known,
        min_duration_ms: a.min_duration_seconds.map(seconds_to_ms),
        min_agent_turns: a.min_agent_turns,
    }
}

fn compile_window(b: &mut EngineBuilder, w: Option<&Window>, gap: u8) -> CompiledWindow {
    match w {
        None => CompiledWindow::All,
        Some(Window::FirstSeconds(s)) => CompiledWindow::First(seconds_to_ms(*s)),
        Some(Window::LastSeconds(s)) => CompiledWindow::Last(seconds_to_ms(*s)),
        Some(Window::AfterTrigger(t)) => CompiledWindow::After {
            speaker: t.speaker,
            negative: t.negative_sentiment,
            set: t.phrases.as_ref().map(|lists| {
                let phrases: Vec<String> = lists.values().flatten().cloned().collect();
                b.add_set_with_gap(&phrases, gap)
            }),
            within: t.within_turns,
        },
    }
}
