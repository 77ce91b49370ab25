//! The scoring engine: each detector in English and Indonesian, the scoring
//! math (critical failures, not-applicable renormalisation, overrides),
//! determinism and redaction.

use callscore::rubric::{default_rubric_source, parse_rubric};
use callscore::scoring::{
    CheckRef, CheckResult, CompiledRubric, Outcome, Redactor, Scorecard, override_outcome,
    recompute, score_transcript,
};
use callscore::transcript::{Segment, Speaker, Transcript};

const A: Speaker = Speaker::Agent;
const C: Speaker = Speaker::Customer;
const U: Speaker = Speaker::Unknown;

/// A transcript from (speaker, start s, end s, text).
fn call(turns: &[(Speaker, f64, f64, &str)]) -> Transcript {
    Transcript {
        language: None,
        segments: turns
            .iter()
            .map(|&(speaker, start, end, text)| Segment {
                speaker,
                start_ms: (start * 1000.0) as u64,
                end_ms: (end * 1000.0) as u64,
                text: text.to_owned(),
                language: None,
                confidence: None,
                words: Vec::new(),
                voice: None,
            })
            .collect(),
        attribution: None,
    }
}

const SETTINGS: &str = r#"
settings:
  hold_min_seconds: 20
  interruption_min_overlap_ms: 500
  greeting: {en: ["good morning", "thank you for calling"], id: ["selamat pagi", "terima kasih telah menghubungi"]}
  hold_request: {en: ["please hold", "may i put you on hold"], id: ["mohon ditunggu", "mohon menunggu"]}
  hold_thanks: {en: ["thank you for holding", "thanks for waiting"], id: ["terima kasih sudah menunggu"]}
"#;

/// A one-criterion rubric around the given checks (YAML list items, indented 6).
fn rubric(checks: &str) -> CompiledRubric {
    let source = format!(
        "id: t\nversion: 1\nname: T\nlanguages: [en, id]\n{SETTINGS}criteria:\n  - id: c\n    name: C\n    weight: 1\n    checks:\n{checks}"
    );
    let rubric = parse_rubric(&source).unwrap_or_else(|e| panic!("test rubric invalid: {e:#?}"));
    CompiledRubric::compile(&rubric).expect("compiles")
}

fn only_check(card: &Scorecard) -> &CheckResult {
    &card.criteria[0].checks[0]
}

fn outcome(r: &CompiledRubric, t: &Transcript) -> Outcome {
    only_check(&score_transcript(r, t, "test")).outcome
}

const GREETING: &str = r#"      - id: greeting
        description: greets in the first 30 s
        points: 5
        speaker: agent
        phrases:
          window: {first_seconds: 30}
          en: ["good morning", "thank you for calling"]
          id: ["selamat pagi", "terima kasih telah menghubungi"]
"#;

#[test]
fn phrases_in_first_seconds_en_and_id() {
    let r = rubric(GREETING);
    let en = call(&[(A, 1.0, 4.0, "Good morning! Thank you for calling.")]);
    let card = score_transcript(&r, &en, "m");
    let check = only_check(&card);
    assert_eq!(check.outcome, Outcome::Pass);
    assert_eq!(check.evidence[0].quote, "Good morning");
    assert_eq!(check.evidence[0].start_ms, 1000);
    assert_eq!(check.evidence[0].speaker, A);
    let id = call(&[(
        A,
        1.0,
        4.0,
        "Selamat pagi, terima kasih telah menghubungi kami.",
    )]);
    assert_eq!(outcome(&r, &id), Outcome::Pass);
    // Said too late, or by the customer: no greeting.
    let late = call(&[(A, 1.0, 4.0, "Ya?"), (A, 40.0, 44.0, "Selamat pagi.")]);
    let card = score_transcript(&r, &late, "m");
    assert_eq!(only_check(&card).outcome, Outcome::Fail);
    assert_eq!(
        only_check(&card).evidence[0].quote,
        "Ya?",
        "shows what was said instead"
    );
    let customer = call(&[(C, 1.0, 4.0, "Good morning"), (A, 5.0, 6.0, "Yes?")]);
    assert_eq!(outcome(&r, &customer), Outcome::Fail);
}

#[test]
fn phrases_tolerate_asr_errors_affixes_and_numbers() {
    let r = rubric(
        r#"      - id: delay
        description: names the delay
        points: 5
        speaker: agent
        phrases:
          en: ["within 24 hours", "i understand your frustration"]
          id: ["mohon maaf atas keterlambatan", "dalam 2 hari kerja"]
"#,
    );
    for text in [
        "WITHIN twenty-four hours, sir.",
        "i undrestand your frustrations",
        "Mohon maaf atas keterlambatannya, Pak.",
        "Mohon maaf atas keterlambatn pengiriman.",
        "paling lambat dalam dua hari kerja",
    ] {
        assert_eq!(
            outcome(&r, &call(&[(A, 0.0, 5.0, text)])),
            Outcome::Pass,
            "{text}"
        );
    }
    for text in ["within 48 hours", "mohon maaf", "dalam tiga hari kerja"] {
        assert_eq!(
            outcome(&r, &call(&[(A, 0.0, 5.0, text)])),
            Outcome::Fail,
            "{text}"
        );
    }
}

#[test]
fn phrases_absent_in_last_seconds() {
    let r = rubric(
        r#"      - id: closing
        description: closes politely in the last 60 s
        points: 5
        speaker: agent
        phrases:
          window: {last_seconds: 60}
          en: ["anything else i can help"]
          id: ["ada lagi yang bisa saya bantu"]
      - id: rude
        description: no rudeness
        points: 5
        speaker: agent
        phrases:
          expect: absent
          en: ["shut up"]
          id: ["bodoh"]
"#,
    );
    let good = call(&[
        (A, 0.0, 5.0, "Halo."),
        (A, 200.0, 205.0, "Ada lagi yang bisa saya bantu, Bu?"),
    ]);
    let card = score_transcript(&r, &good, "m");
    assert_eq!(card.criteria[0].checks[0].outcome, Outcome::Pass);
    assert_eq!(card.criteria[0].checks[1].outcome, Outcome::Pass);
    let bad = call(&[
        (A, 0.0, 5.0, "Is there anything else I can help with?"),
        (A, 200.0, 205.0, "Dasar bodoh. Shut up."),
    ]);
    let card = score_transcript(&r, &bad, "m");
    assert_eq!(
        card.criteria[0].checks[0].outcome,
        Outcome::Fail,
        "too early"
    );
    let rude = &card.criteria[0].checks[1];
    assert_eq!(rude.outcome, Outcome::Fail);
    assert_eq!(rude.evidence[0].quote, "bodoh");
    assert_eq!(rude.evidence[0].start_ms, 200_000);
}

const EMPATHY: &str = r#"      - id: acknowledges
        description: acknowledges distress in the next turn
        points: 10
        speaker: agent
        phrases:
          window:
            after_trigger: {speaker: customer, negative_sentiment: true, within_turns: 1}
          en: ["i understand", "i am sorry"]
          id: ["saya mengerti", "mohon maaf"]
      - id: no_cheer
        description: no cheerful script after harm
        points: 5
        speaker: agent
        phrases:
          expect: absent
          window:
            after_trigger:
              phrases: {en: ["hurt", "fell"], id: ["terluka", "terpeleset"]}
              within_turns: 1
          en: ["great", "awesome"]
          id: ["asyik", "mantap"]
"#;

#[test]
fn after_trigger_en_and_id() {
    let r = rubric(EMPATHY);
    let good_en = call(&[
        (
            C,
            0.0,
            4.0,
            "My son fell on your escalator and got hurt, I am so upset.",
        ),
        (A, 5.0, 9.0, "Oh no, I am sorry to hear that. Is he okay?"),
    ]);
    let card = score_transcript(&r, &good_en, "m");
    assert_eq!(card.criteria[0].checks[0].outcome, Outcome::Pass);
    assert_eq!(card.criteria[0].checks[1].outcome, Outcome::Pass);
    let bad_en = call(&[
        (
            C,
            0.0,
            4.0,
            "My son fell on your escalator and got hurt, I am so upset.",
        ),
        (
            A,
            5.0,
            9.0,
            "Great! Welcome to Mall Nusantara, how can I help?",
        ),
    ]);
    let card = score_transcript(&r, &bad_en, "m");
    let ack = &card.criteria[0].checks[0];
    assert_eq!(ack.outcome, Outcome::Fail);
    assert_eq!(ack.evidence[0].speaker, C, "the trigger turn is cited");
    assert_eq!(ack.evidence[1].speaker, A, "and the reply that failed it");
    let cheer = &card.criteria[0].checks[1];
    assert_eq!(cheer.outcome, Outcome::Fail);
    assert_eq!(cheer.evidence[1].quote, "Great");
    let bad_id = call(&[
        (
            C,
            0.0,
            4.0,
            "Anak saya terpeleset di eskalator dan terluka, saya kesal sekali.",
        ),
        (A, 5.0, 9.0, "Mantap, ada lagi yang bisa dibantu?"),
    ]);
    let card = score_transcript(&r, &bad_id, "m");
    assert_eq!(card.criteria[0].checks[0].outcome, Outcome::Fail);
    assert_eq!(card.criteria[0].checks[1].outcome, Outcome::Fail);
    let good_id = call(&[
        (
            C,
            0.0,
            4.0,
            "Anak saya terpeleset di eskalator dan terluka, saya kesal sekali.",
        ),
        (
            A,
            5.0,
            9.0,
            "Mohon maaf Bu, saya mengerti. Apakah anaknya baik baik saja?",
        ),
    ]);
    let card = score_transcript(&r, &good_id, "m");
    assert_eq!(card.criteria[0].checks[0].outcome, Outcome::Pass);
    assert_eq!(card.criteria[0].checks[1].outcome, Outcome::Pass);
    // No distress: both checks do not apply.
    let calm = call(&[
        (C, 0.0, 4.0, "Halo, mau tanya jam buka."),
        (A, 5.0, 9.0, "Jam sembilan, Bu."),
    ]);
    let card = score_transcript(&r, &calm, "m");
    assert_eq!(card.criteria[0].checks[0].outcome, Outcome::NotApplicable);
    assert_eq!(card.criteria[0].checks[1].outcome, Outcome::NotApplicable);
    assert_eq!(card.criteria[0].score, None);
}

#[test]
fn regex_detector() {
    let r = rubric(
        r#"      - id: time_frame
        description: gives a time frame
        points: 5
        speaker: agent
        regex:
          patterns: ["\\bwithin \\d+ (days|hours)\\b", "\\bdalam \\d+ (hari|jam)\\b"]
"#,
    );
    assert_eq!(
        outcome(&r, &call(&[(A, 0.0, 3.0, "It arrives WITHIN 3 days.")])),
        Outcome::Pass
    );
    assert_eq!(
        outcome(&r, &call(&[(A, 0.0, 3.0, "Sampai dalam 2 hari.")])),
        Outcome::Pass
    );
    assert_eq!(
        outcome(&r, &call(&[(A, 0.0, 3.0, "Secepatnya ya.")])),
        Outcome::Fail
    );
    assert_eq!(
        outcome(&r, &call(&[(C, 0.0, 3.0, "within 3 days?")])),
        Outcome::Fail,
        "speaker filter"
    );
}

const HOLDS: &str = r#"      - id: etiquette
        description: asks before and thanks after each hold
        points: 5
        metric: {name: holds_without_etiquette, max: 0}
      - id: dead_air
        description: no silence over 10 s
        points: 5
        metric: {name: longest_silence_seconds, max: 10}
"#;

#[test]
fn holds_and_dead_air_en_and_id() {
    let r = rubric(HOLDS);
    for (ask, thanks) in [
        (
            "May I put you on hold for a moment?",
            "Thank you for holding.",
        ),
        (
            "Mohon ditunggu sebentar ya Pak.",
            "Terima kasih sudah menunggu, Pak.",
        ),
    ] {
        let good = call(&[
            (A, 0.0, 3.0, ask),
            (C, 3.5, 4.0, "Ok."),
            (A, 40.0, 43.0, thanks),
        ]);
        let card = score_transcript(&r, &good, "m");
        assert_eq!(card.metrics.hold_count, 1);
        assert_eq!(card.criteria[0].checks[0].outcome, Outcome::Pass, "{ask}");
        assert_eq!(
            card.criteria[0].checks[1].outcome,
            Outcome::Pass,
            "announced holds are not dead air"
        );
        let unannounced = call(&[
            (A, 0.0, 3.0, "Ok."),
            (C, 3.5, 4.0, "Ok."),
            (A, 40.0, 43.0, thanks),
        ]);
        let card = score_transcript(&r, &unannounced, "m");
        assert_eq!(card.metrics.holds_without_etiquette, 1);
        assert_eq!(card.criteria[0].checks[0].outcome, Outcome::Fail);
        let dead = &card.criteria[0].checks[1];
        assert_eq!(dead.outcome, Outcome::Fail);
        assert_eq!(card.metrics.longest_silence_ms, 36_000);
        assert_eq!(dead.evidence.len(), 2, "the turns around the silence");
    }
    let no_hold = call(&[(A, 0.0, 3.0, "Halo."), (C, 4.0, 5.0, "Halo.")]);
    let card = score_transcript(&r, &no_hold, "m");
    assert_eq!(card.criteria[0].checks[0].outcome, Outcome::NotApplicable);
}

#[test]
fn interruptions_need_attributed_speakers() {
    let r = rubric(
        r#"      - id: no_interrupting
        description: does not talk over the customer
        points: 5
        metric: {name: interruptions, max: 0}
"#,
    );
    let polite = call(&[
        (C, 0.0, 5.0, "I have a problem with my bill."),
        (A, 5.5, 8.0, "I see."),
    ]);
    assert_eq!(outcome(&r, &polite), Outcome::Pass);
    let rude_en = call(&[
        (C, 0.0, 5.0, "I have a problem with my bill."),
        (A, 3.0, 8.0, "Yes yes, I know."),
    ]);
    let card = score_transcript(&r, &rude_en, "m");
    assert_eq!(card.metrics.interruptions, Some(1));
    assert_eq!(only_check(&card).outcome, Outcome::Fail);
    assert_eq!(only_check(&card).evidence[0].start_ms, 3000);
    let rude_id = call(&[
        (C, 0.0, 5.0, "Tagihan saya salah, mbak."),
        (A, 4.0, 8.0, "Iya iya, sudah tahu."),
    ]);
    assert_eq!(outcome(&r, &rude_id), Outcome::Fail);
    let mono = call(&[(U, 0.0, 5.0, "Tagihan saya salah."), (U, 3.0, 8.0, "Iya.")]);
    assert_eq!(outcome(&r, &mono), Outcome::NotApplicable);
}

#[test]
fn talk_ratio_speech_rate_and_time_to_greeting() {
    let r = rubric(
        r#"      - id: ratio
        description: agent talks at most 70%
        points: 1
        metric: {name: agent_talk_ratio, max: 0.7}
      - id: rate
        description: at most 190 words per minute
        points: 1
        metric: {name: agent_words_per_minute, max: 190}
      - id: greeting_time
        description: greets within 5 s
        points: 1
        metric: {name: time_to_greeting_seconds, max: 5}
"#,
    );
    let t = call(&[
        (
            A,
            2.0,
            6.0,
            "Selamat pagi, dengan Rina, ada yang bisa dibantu?",
        ),
        (
            C,
            6.5,
            16.5,
            "Saya mau tanya tagihan bulan ini kenapa naik terus ya mbak?",
        ),
    ]);
    let card = score_transcript(&r, &t, "m");
    let m = &card.metrics;
    assert_eq!(m.agent_talk_ratio, Some(0.286));
    assert_eq!(m.agent_words, 8);
    assert_eq!(m.agent_words_per_minute, Some(120.0));
    assert_eq!(m.time_to_greeting_ms, Some(2000));
    let outcomes: Vec<Outcome> = card.criteria[0].checks.iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, [Outcome::Pass, Outcome::Pass, Outcome::Pass]);
    let fast = call(&[
        (C, 0.0, 0.5, "Halo?"),
        (
            A,
            10.0,
            12.0,
            "Good morning this is Rina from the billing team how can I help",
        ),
    ]);
    let card = score_transcript(&r, &fast, "m");
    let outcomes: Vec<Outcome> = card.criteria[0].checks.iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, [Outcome::Fail, Outcome::Fail, Outcome::Fail]);
}

#[test]
fn customer_sentiment_en_and_id() {
    let r = rubric(
        r#"      - id: mood
        description: mood does not worsen
        points: 5
        sentiment: {min_change: 0}
"#,
    );
    let better_en = call(&[
        (C, 0.0, 3.0, "I am really angry, this is unacceptable."),
        (A, 3.5, 5.0, "I am sorry."),
        (C, 6.0, 8.0, "Okay, thank you, that is great."),
    ]);
    let card = score_transcript(&r, &better_en, "m");
    assert_eq!(only_check(&card).outcome, Outcome::Pass);
    assert_eq!(card.metrics.customer_sentiment_start, Some(-1.0));
    assert_eq!(card.metrics.customer_sentiment_end, Some(1.0));
    assert_eq!(card.metrics.negative_customer_turns, 1);
    let worse_id = call(&[
        (C, 0.0, 3.0, "Halo, terima kasih mbak."),
        (A, 3.5, 5.0, "Ya."),
        (
            C,
            6.0,
            8.0,
            "Saya kecewa, pelayanannya buruk dan tidak puas.",
        ),
    ]);
    let card = score_transcript(&r, &worse_id, "m");
    assert_eq!(only_check(&card).outcome, Outcome::Fail);
    assert_eq!(
        card.metrics.customer_sentiment_end,
        Some(-1.0),
        "tidak puas is negative"
    );
    assert_eq!(only_check(&card).evidence.len(), 2);
    let short = call(&[(C, 0.0, 3.0, "Halo.")]);
    assert_eq!(outcome(&r, &short), Outcome::NotApplicable);
}

const SENSITIVE: &str = r#"      - id: no_secrets
        description: never asks for card number, PIN, OTP, password or CVV
        points: 10
        speaker: agent
        sensitive_data: {}
"#;

#[test]
fn sensitive_data_is_critical_en_and_id() {
    let r = rubric(SENSITIVE);
    assert!(
        r.rubric.criteria[0].checks[0].critical,
        "critical by default"
    );
    for text in [
        "Could you tell me your PIN please?",
        "Please read me your full card number.",
        "What is the CVV on the back of your card?",
        "Mohon sebutkan kode OTP yang Bapak terima.",
        "Boleh dibacakan nomor kartu kreditnya?",
        "Berapa kata sandi akun Ibu?",
        "Nomor kartu Bapak 4532 0151 1283 0366 ya.",
    ] {
        let card = score_transcript(&r, &call(&[(A, 0.0, 4.0, text)]), "m");
        assert_eq!(only_check(&card).outcome, Outcome::Fail, "{text}");
        assert_eq!(card.overall_score, Some(0.0), "{text}");
        assert_eq!(card.critical_failures.len(), 1);
        assert!(
            !only_check(&card).evidence[0].quote.contains("4532"),
            "evidence is masked"
        );
    }
    for text in [
        "Never share your PIN or OTP with anyone, including us.",
        "Jangan berikan kode OTP kepada siapa pun ya Pak.",
        "Boleh sebutkan 4 digit terakhir nomor kartu Bapak?",
        "Could you confirm the last four digits of your card number?",
        "Terima kasih, PIN Bapak sudah kami reset.",
        "Mohon maaf Bu, kartu terblokir, silakan ganti PIN di ATM terdekat.",
        "Could you reset your PIN at the ATM tomorrow?",
    ] {
        let card = score_transcript(&r, &call(&[(A, 0.0, 4.0, text)]), "m");
        assert_eq!(only_check(&card).outcome, Outcome::Pass, "{text}");
    }
}

/// Two criteria: one with a critical check, one that may not apply.
const MATH: &str = r#"id: m
version: 3
name: M
languages: [en]
criteria:
  - id: courtesy
    name: Courtesy
    weight: 3
    checks:
      - {id: sir, description: says sir, points: 6, speaker: agent, phrases: {en: ["sir"]}}
      - {id: thanks, description: thanks, points: 4, speaker: agent, phrases: {en: ["thank you"]}}
  - id: empathy
    name: Empathy
    weight: 1
    checks:
      - id: apology
        description: apologises when the customer is upset
        points: 5
        speaker: agent
        applies_when: {customer_negative: true}
        phrases: {en: ["sorry"]}
  - id: privacy
    name: Privacy
    weight: 1
    checks:
      - {id: secrets, description: no secrets, points: 1, speaker: agent, sensitive_data: {kinds: [pin]}}
"#;

fn math_rubric() -> CompiledRubric {
    CompiledRubric::compile(&parse_rubric(MATH).expect("valid")).expect("compiles")
}

#[test]
fn not_applicable_criteria_drop_out_of_the_weighted_mean() {
    let r = math_rubric();
    let calm = call(&[(C, 0.0, 2.0, "Hello."), (A, 2.5, 4.0, "Yes sir.")]);
    let card = score_transcript(&r, &calm, "whisper-small");
    assert_eq!(card.rubric_id, "m");
    assert_eq!(card.rubric_version, 3);
    assert_eq!(card.rubric_hash.len(), 64);
    assert_eq!(card.model_id, "whisper-small");
    let courtesy = &card.criteria[0];
    assert_eq!(
        (courtesy.earned, courtesy.possible, courtesy.score),
        (6.0, 10.0, Some(60.0))
    );
    let empathy = &card.criteria[1];
    assert_eq!(empathy.checks[0].outcome, Outcome::NotApplicable);
    assert_eq!((empathy.possible, empathy.score), (0.0, None));
    assert_eq!(card.criteria[2].score, Some(100.0));
    // (3 × 60 + 1 × 100) / (3 + 1): empathy's weight is not counted.
    assert_eq!(card.overall_score, Some(70.0));
    assert!(card.critical_failures.is_empty());
    let upset = call(&[
        (C, 0.0, 2.0, "I am angry."),
        (A, 2.5, 4.0, "Yes sir, thank you."),
    ]);
    let card = score_transcript(&r, &upset, "m");
    assert_eq!(card.criteria[1].score, Some(0.0));
    // (3 × 100 + 1 × 0 + 1 × 100) / 5
    assert_eq!(card.overall_score, Some(80.0));
}

#[test]
fn a_critical_failure_zeroes_the_overall_score_and_is_listed() {
    let r = math_rubric();
    let t = call(&[
        (C, 0.0, 2.0, "Hi."),
        (A, 2.5, 4.0, "Thank you sir, now tell me your PIN."),
    ]);
    let mut card = score_transcript(&r, &t, "m");
    assert_eq!(
        card.criteria[0].score,
        Some(100.0),
        "other criteria keep their scores"
    );
    assert_eq!(card.overall_score, Some(0.0));
    let failed = CheckRef {
        criterion_id: "privacy".to_owned(),
        check_id: "secrets".to_owned(),
    };
    assert_eq!(card.critical_failures, vec![failed.clone()]);
    // A reviewer overturns it: the same math gives the score back.
    assert!(override_outcome(&mut card, &failed, Outcome::Pass, 1.0));
    assert!(card.critical_failures.is_empty());
    assert_eq!(card.overall_score, Some(100.0));
    // A reviewer makes a not-applicable check applicable and failed.
    let apology = CheckRef {
        criterion_id: "empathy".to_owned(),
        check_id: "apology".to_owned(),
    };
    assert!(override_outcome(&mut card, &apology, Outcome::Fail, 5.0));
    assert_eq!(card.criteria[1].score, Some(0.0));
    assert_eq!(card.overall_score, Some(80.0));
    let missing = CheckRef {
        criterion_id: "nope".to_owned(),
        check_id: "secrets".to_owned(),
    };
    assert!(!override_outcome(&mut card, &missing, Outcome::Pass, 1.0));
}

#[test]
fn no_applicable_criterion_means_no_overall_score() {
    let r = math_rubric();
    let mut card = score_transcript(&r, &call(&[]), "m");
    for c in &mut card.criteria {
        for check in &mut c.checks {
            check.set_outcome(Outcome::NotApplicable, 0.0);
        }
    }
    recompute(&mut card);
    assert_eq!(card.overall_score, None);
}

#[test]
fn scoring_is_deterministic() {
    let rubric = parse_rubric(default_rubric_source()).expect("valid");
    let a = CompiledRubric::compile(&rubric).expect("compiles");
    let b = CompiledRubric::compile(&rubric).expect("compiles");
    let t = call(&[
        (A, 0.0, 4.0, "Selamat pagi, dengan Rina. Good morning sir."),
        (
            C,
            4.5,
            9.0,
            "Saya kecewa, paket saya terlambat. Very frustrated.",
        ),
        (
            A,
            9.5,
            14.0,
            "Mohon maaf Pak, saya mengerti. I will call you back tomorrow.",
        ),
        (C, 14.5, 16.0, "Ok, thanks."),
    ]);
    let first = serde_json::to_string(&score_transcript(&a, &t, "m")).expect("json");
    for _ in 0..3 {
        assert_eq!(
            first,
            serde_json::to_string(&score_transcript(&a, &t, "m")).expect("json")
        );
        assert_eq!(
            first,
            serde_json::to_string(&score_transcript(&b, &t, "m")).expect("json")
        );
    }
    let back: Scorecard = serde_json::from_str(&first).expect("round-trips");
    assert_eq!(serde_json::to_string(&back).expect("json"), first);
}

#[test]
fn every_decided_check_explains_itself() {
    let r = CompiledRubric::compile(&parse_rubric(default_rubric_source()).expect("valid"))
        .expect("compiles");
    let t = call(&[
        (
            A,
            0.0,
            4.0,
            "Selamat pagi, dengan Rina, ada yang bisa dibantu Bu?",
        ),
        (C, 4.5, 9.0, "Paket saya terlambat, saya kesal."),
        (A, 9.5, 14.0, "Asyik! Ditunggu saja ya."),
    ]);
    let card = score_transcript(&r, &t, "m");
    for c in &card.criteria {
        for check in &c.checks {
            assert!(!check.reason.is_empty(), "{} has a reason", check.check_id);
            if check.outcome == Outcome::Fail && check.check_id != "verifies_identity" {
                assert!(
                    !check.evidence.is_empty() || check.reason.contains("never"),
                    "{}: {}",
                    check.check_id,
                    check.reason
                );
            }
            for e in &check.evidence {
                let seg = &t.segments[e.segment_index];
                assert_eq!(
                    (e.start_ms, e.end_ms, e.speaker),
                    (seg.start_ms, seg.end_ms, seg.speaker)
                );
            }
        }
    }
}

#[test]
fn redaction_masks_secrets_and_keeps_timing() {
    let redactor = Redactor::new();
    let t = call(&[
        (A, 0.0, 3.0, "Can I have your card number?"),
        (
            C,
            3.5,
            9.0,
            "Sure, four five three two zero one five one one two eight three zero three six six.",
        ),
        (
            C,
            9.5,
            12.0,
            "Or written: 4532-0151-1283-0366, not 4532 0151 1283 0367 which is a typo.",
        ),
        (A, 12.5, 14.0, "What is the OTP you received?"),
        (C, 14.5, 16.0, "It is 5 1 2 9 0 8."),
        (A, 16.5, 18.0, "Dan PIN Bapak berapa?"),
        (C, 18.5, 20.0, "Satu dua tiga empat."),
        (
            C,
            20.5,
            24.0,
            "Email saya budi.santoso@example.co.id, nomor HP 0812-3456-7890.",
        ),
        (
            C,
            24.5,
            27.0,
            "My email is budi at gmail dot com and I ordered 3 items.",
        ),
        (A, 27.5, 29.0, "What is your password?"),
        (C, 29.5, 31.0, "hunter two"),
    ]);
    let r = redactor.redact(&t);
    let text = |i: usize| r.segments[i].text.as_str();
    assert_eq!(text(0), t.segments[0].text);
    assert_eq!(text(1), "Sure, [CARD].");
    assert!(
        text(2).starts_with("Or written: [CARD], not "),
        "{}",
        text(2)
    );
    assert!(
        text(2).contains("[PHONE]"),
        "a non-Luhn 16-digit run is still masked: {}",
        text(2)
    );
    assert_eq!(text(4), "It is [OTP].");
    assert_eq!(text(6), "[PIN].");
    assert_eq!(text(7), "Email saya [EMAIL], nomor HP [PHONE].");
    assert_eq!(text(8), "My email is [EMAIL] and I ordered 3 items.");
    assert_eq!(text(10), "[PASSWORD]");
    for (a, b) in t.segments.iter().zip(&r.segments) {
        assert_eq!(
            (a.start_ms, a.end_ms, a.speaker),
            (b.start_ms, b.end_ms, b.speaker)
        );
    }
}

#[test]
fn sensitive_check_sees_the_original_but_quotes_masked() {
    let r = CompiledRubric::compile(&parse_rubric(default_rubric_source()).expect("valid"))
        .expect("compiles");
    let t = call(&[
        (C, 0.0, 3.0, "Halo."),
        (A, 3.5, 8.0, "Nomor kartu Bapak 4532 0151 1283 0366, benar?"),
    ]);
    let card = score_transcript(&r, &t, "m");
    assert_eq!(card.overall_score, Some(0.0));
    let privacy = card
        .criteria
        .iter()
        .find(|c| c.criterion_id == "privacy")
        .expect("privacy");
    let check = &privacy.checks[0];
    assert_eq!(check.outcome, Outcome::Fail);
    assert_eq!(check.evidence[0].quote, "Nomor kartu Bapak [CARD], benar?");
    // Scoring the redacted transcript could not have seen the number.
    let masked = r.redact(&t);
    let card = score_transcript(&r, &masked, "m");
    assert_eq!(card.critical_failures.len(), 0);
}

#[test]
fn silence_is_not_a_perfect_call_and_mono_skips_reply_checks() {
    let r = CompiledRubric::compile(&parse_rubric(default_rubric_source()).expect("valid"))
        .expect("compiles");
    let card = score_transcript(&r, &call(&[]), "m");
    assert_eq!(card.overall_score, None);
    assert!(card.criteria.iter().all(|c| c.score.is_none()));
    let mono = call(&[
        (
            U,
            0.0,
            4.0,
            "Good morning, thank you for calling, my name is Rina.",
        ),
        (U, 4.5, 8.0, "My parcel is late and I am very upset."),
        (
            U,
            8.5,
            12.0,
            "I am sorry to hear that, sir, may I put you on hold?",
        ),
        (U, 12.5, 13.0, "Okay."),
        (U, 40.0, 44.0, "Thank you for holding, sir."),
    ]);
    let card = score_transcript(&r, &mono, "m");
    let empathy = card
        .criteria
        .iter()
        .find(|c| c.criterion_id == "empathy")
        .expect("empathy");
    // Who replied to whom, and whose courtesy it was, needs attributed speech.
    for check in &empathy.checks[..2] {
        assert_eq!(check.outcome, Outcome::NotApplicable, "{}", check.check_id);
        assert!(check.reason.contains("attributed"), "{}", check.reason);
    }
    let professionalism = card
        .criteria
        .iter()
        .find(|c| c.criterion_id == "professionalism")
        .expect("professionalism");
    let hold = professionalism
        .checks
        .iter()
        .find(|c| c.check_id == "hold_etiquette")
        .expect("hold check");
    assert_eq!(
        hold.outcome,
        Outcome::Pass,
        "the request two turns back counts: {}",
        hold.reason
    );
    assert_eq!(card.metrics.hold_count, 1);
}

#[test]
fn a_compiled_rubric_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let r = math_rubric();
    shareable(&r);
    let points = r.rubric.check("empathy", "apology").map(|c| c.points);
    assert_eq!(points, Some(5.0));
    assert!(r.rubric.check("empathy", "nope").is_none());
    let t = call(&[(A, 0.0, 2.0, "Thank you sir.")]);
    let card = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| score_transcript(&r, &t, "m")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("scored"))
            .collect::<Vec<_>>()
    });
    assert_eq!(card[0], card[1]);
}

#[test]
fn extreme_timings_do_not_panic() {
    let r = CompiledRubric::compile(&parse_rubric(default_rubric_source()).expect("valid"))
        .expect("compiles");
    let mut t = call(&[(A, 0.0, 1.0, "Mohon ditunggu."), (C, 2.0, 3.0, "Ok.")]);
    t.segments[1].start_ms = u64::MAX - 5;
    t.segments[1].end_ms = u64::MAX;
    t.segments.push(Segment {
        speaker: A,
        start_ms: u64::MAX,
        end_ms: 3,
        text: "Terima kasih sudah menunggu.".to_owned(),
        language: None,
        confidence: None,
        words: Vec::new(),
        voice: None,
    });
    let card = score_transcript(&r, &t, "m");
    assert!(card.overall_score.is_some());
}
