//! Rubric parsing and validation: the default rubric, and errors with positions.

use callscore::rubric::{
    Detector, Expect, Language, RubricError, Window, default_rubric_source, parse_rubric,
};

fn errors(source: &str) -> Vec<RubricError> {
    match parse_rubric(source) {
        Ok(_) => panic!("expected validation errors"),
        Err(errors) => errors,
    }
}

fn find<'a>(errors: &'a [RubricError], path: &str) -> &'a RubricError {
    errors
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}; got {errors:#?}"))
}

#[test]
fn default_rubric_is_valid_and_bilingual() {
    let rubric = parse_rubric(default_rubric_source()).expect("default rubric must validate");
    assert_eq!(rubric.id(), "default");
    assert_eq!(rubric.version(), 2);
    assert_eq!(rubric.languages, vec![Language::En, Language::Id]);
    let ids: Vec<&str> = rubric.criteria.iter().map(|c| c.id.as_str()).collect();
    for wanted in [
        "integrity",
        "credibility",
        "professionalism",
        "empathy",
        "privacy",
    ] {
        assert!(ids.contains(&wanted), "missing criterion {wanted}");
    }
    for criterion in &rubric.criteria {
        for check in &criterion.checks {
            if let Detector::Phrases(p) = &check.detector {
                assert!(p.lists.contains_key(&Language::En), "{} lacks en", check.id);
                assert!(p.lists.contains_key(&Language::Id), "{} lacks id", check.id);
            }
        }
    }
    let privacy = rubric
        .criteria
        .iter()
        .find(|c| c.id == "privacy")
        .expect("privacy");
    let sensitive = privacy
        .checks
        .iter()
        .find(|c| matches!(c.detector, Detector::SensitiveData(_)))
        .expect("sensitive-data check");
    assert!(sensitive.critical, "sensitive data is critical by default");
}

#[test]
fn content_hash_ignores_formatting_but_not_meaning() {
    let a = parse_rubric(default_rubric_source()).expect("valid");
    let reformatted = format!("# a comment\n{}\n", default_rubric_source());
    let b = parse_rubric(&reformatted).expect("valid");
    assert_eq!(a.content_hash(), b.content_hash());
    assert_eq!(a.content_hash().len(), 64);
    let changed = default_rubric_source().replacen("weight: 25", "weight: 26", 1);
    let c = parse_rubric(&changed).expect("valid");
    assert_ne!(a.content_hash(), c.content_hash());
}

#[test]
fn json_is_accepted() {
    let json = r#"{"id": "j", "version": 2, "name": "J", "languages": ["en"],
      "criteria": [{"id": "c", "name": "C", "weight": 1,
        "checks": [{"id": "k", "description": "d", "points": 1,
          "phrases": {"expect": "absent", "en": ["bad word"]}}]}]}"#;
    let rubric = parse_rubric(json).expect("JSON rubric");
    assert_eq!(rubric.version(), 2);
    let Detector::Phrases(p) = &rubric.criteria[0].checks[0].detector else {
        panic!("phrases detector expected");
    };
    assert_eq!(p.expect, Expect::Absent);
}

const BROKEN: &str = r#"id: Bad Id
version: 0
name: broken
languages: [en, fr]
colour: blue
criteria:
  - id: a
    name: A
    weight: 0
    checks:
      - id: x
        description: d
        points: -1
        speaker: robot
        phrases:
          en: ["ok"]
          id: ["baik"]
  - id: a
    name: A again
    weight: 1
    checks:
      - id: y
        description: d
        points: 1
        regex:
          patterns: ["(unclosed"]
      - id: y
        description: d
        points: 1
        metric: {name: talk_speed, max: 3}
      - id: z
        description: d
        points: 1
        phrases:
          expct: absent
          window: {first_seconds: 10, last_seconds: 5}
          en: ["hello"]
      - id: w
        description: d
        points: 1
        phrases:
          window:
            after_trigger: {within_turns: 99}
          en: ["sorry"]
"#;

#[test]
fn every_error_is_reported_with_its_position() {
    let errors = errors(BROKEN);
    let e = find(&errors, "id");
    assert_eq!((e.line, e.column), (1, 5));
    let e = find(&errors, "version");
    assert_eq!((e.line, e.column), (2, 10));
    let e = find(&errors, "languages[1]");
    assert_eq!((e.line, e.column), (4, 17));
    assert!(e.message.contains("fr"));
    let e = find(&errors, "colour");
    assert_eq!((e.line, e.column), (5, 1));
    assert!(e.message.contains("unknown key"));
    let e = find(&errors, "criteria[0].weight");
    assert_eq!(e.line, 9);
    let e = find(&errors, "criteria[0].checks[0].points");
    assert_eq!((e.line, e.column), (13, 17));
    let e = find(&errors, "criteria[0].checks[0].speaker");
    assert_eq!(e.line, 14);
    let e = find(&errors, "criteria[0].checks[0].phrases.id");
    assert_eq!((e.line, e.column), (17, 15));
    let e = find(&errors, "criteria[1].id");
    assert_eq!((e.line, e.column), (18, 9));
    assert!(e.message.contains("duplicate"));
    let e = find(&errors, "criteria[1].checks[0].regex.patterns[0]");
    assert_eq!((e.line, e.column), (26, 22));
    assert!(e.message.contains("does not compile"));
    let e = find(&errors, "criteria[1].checks[1].id");
    assert_eq!((e.line, e.column), (27, 13));
    let e = find(&errors, "criteria[1].checks[1].metric.name");
    assert!(e.message.contains("unknown metric"));
    let e = find(&errors, "criteria[1].checks[2].phrases.expct");
    assert!(e.message.contains("did you mean `expect`"), "{}", e.message);
    let e = find(&errors, "criteria[1].checks[2].phrases.window");
    assert_eq!(e.line, 36);
    let e = find(
        &errors,
        "criteria[1].checks[3].phrases.window.after_trigger.within_turns",
    );
    assert!(e.message.contains("1 to 10"));
    let e = find(
        &errors,
        "criteria[1].checks[3].phrases.window.after_trigger",
    );
    assert!(e.message.contains("negative_sentiment"));
    // Sorted in document order.
    assert!(
        errors
            .windows(2)
            .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column))
    );
}

#[test]
fn yaml_syntax_error_has_a_position() {
    let errors = errors("id: x\nversion: [1\nname: y\n");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].line >= 2);
    assert!(errors[0].message.contains("invalid YAML"));
}

#[test]
fn missing_fields_and_detectors_are_named() {
    let errors = errors(
        "id: x\nversion: 1\ncriteria:\n  - id: c\n    weight: 1\n    checks:\n      - id: k\n        points: 1\n",
    );
    find(&errors, "name");
    find(&errors, "languages");
    find(&errors, "criteria[0].name");
    find(&errors, "criteria[0].checks[0].description");
    let e = find(&errors, "criteria[0].checks[0]");
    assert!(e.message.contains("exactly one detector"));
}

#[test]
fn metric_settings_are_required() {
    let src = "id: x\nversion: 1\nname: n\nlanguages: [en]\ncriteria:\n  - id: c\n    name: C\n    weight: 1\n    checks:\n      - id: k\n        description: d\n        points: 1\n        metric: {name: time_to_greeting_seconds, max: 10}\n";
    let errors = errors(src);
    let e = find(&errors, "criteria[0].checks[0].metric");
    assert!(e.message.contains("settings.greeting"));
    assert_eq!(e.line, 13);
}

#[test]
fn windows_parse() {
    let rubric = parse_rubric(default_rubric_source()).expect("valid");
    let empathy = rubric
        .criteria
        .iter()
        .find(|c| c.id == "empathy")
        .expect("empathy");
    let check = empathy
        .checks
        .iter()
        .find(|c| c.id == "no_cheerful_script_after_distress")
        .expect("cheerful-script check");
    let Detector::Phrases(p) = &check.detector else {
        panic!("phrases expected");
    };
    let Some(Window::AfterTrigger(t)) = &p.window else {
        panic!("after_trigger expected");
    };
    assert!(t.negative_sentiment);
    assert_eq!(t.within_turns, 1);
}

#[test]
fn odd_documents_are_rejected_not_panicked_on() {
    for source in [
        "",
        "42",
        "- a\n- b",
        "id: [1, 2]",
        "{",
        "---\nid: a\n---\nid: b\n",
        "a: &x 1\nb: *x\n",
    ] {
        let errors = errors(source);
        assert!(!errors.is_empty(), "{source:?}");
        assert!(
            errors.iter().all(|e| e.line >= 1 && e.column >= 1),
            "{source:?}: {errors:?}"
        );
    }
}

#[test]
fn type_errors_name_what_was_found() {
    let src = "id: x\nversion: \"1\"\nname: n\nlanguages: en\ncriteria:\n  - id: c\n    name: C\n    weight: heavy\n    checks:\n      - id: k\n        description: d\n        points: 1\n        critical: yes\n        phrases: {en: [\"hi\"], window: {first_seconds: -5}}\n";
    let errors = errors(src);
    let e = find(&errors, "version");
    assert!(e.message.contains("found a string"), "{}", e.message);
    let e = find(&errors, "languages");
    assert!(e.message.contains("expected a list"), "{}", e.message);
    let e = find(&errors, "criteria[0].weight");
    assert!(e.message.contains("expected a number"), "{}", e.message);
    let e = find(&errors, "criteria[0].checks[0].critical");
    assert!(e.message.contains("true or false"), "{}", e.message);
    let e = find(
        &errors,
        "criteria[0].checks[0].phrases.window.first_seconds",
    );
    assert_eq!(e.line, 14);
}

#[test]
fn graded_semantic_gap_and_synonym_settings_parse_and_are_checked() {
    let rubric = parse_rubric(default_rubric_source()).expect("valid");
    assert_eq!(rubric.settings.phrase_gap, 2);
    assert!(
        rubric
            .settings
            .synonyms
            .iter()
            .any(|g| g.iter().any(|w| w == "menelepon"))
    );
    let courtesy = rubric
        .check("professionalism", "courtesy")
        .expect("courtesy");
    assert!(courtesy.detector.is_graded());
    assert_eq!(courtesy.detector.pass_at(), Some(0.6));
    assert_eq!(courtesy.speaker, callscore::rubric::SpeakerFilter::Agent);

    let base = "id: x\nversion: 1\nname: n\nlanguages: [en]\n";
    let check = |detector: &str| {
        format!(
            "{base}criteria:\n  - id: c\n    name: C\n    weight: 1\n    checks:\n      - id: k\n        description: d\n        points: 1\n        {detector}\n"
        )
    };
    assert!(parse_rubric(&check("courtesy: {}")).is_ok());
    assert!(parse_rubric(&check("empathy:")).is_ok());
    let e = errors(&check("register: {pass_at: 1.5}"));
    assert!(
        find(&e, "criteria[0].checks[0].register.pass_at")
            .message
            .contains("at most 1")
    );
    let e = errors(&check("semantic: {exemplars: {en: [\"hi\"]}}"));
    assert!(
        find(&e, "criteria[0].checks[0].semantic.threshold")
            .message
            .contains("missing")
    );
    let e = errors(&check(
        "semantic: {threshold: 1.2, exemplars: {en: [\"hi\"]}}",
    ));
    find(&e, "criteria[0].checks[0].semantic.threshold");
    let e = errors(&check("phrases: {max_gap: 9, en: [\"a b\"]}"));
    find(&e, "criteria[0].checks[0].phrases.max_gap");
    let e = errors(&format!(
        "{base}settings:\n  synonyms: [[alone]]\ncriteria:\n  - id: c\n    name: C\n    weight: 1\n    checks:\n      - id: k\n        description: d\n        points: 1\n        courtesy: {{}}\n"
    ));
    find(&e, "settings.synonyms[0]");
    let e = errors(&format!(
        "{base}criteria:\n  - id: c\n    name: C\n    weight: 1\n    checks:\n      - id: k\n        description: d\n        points: 1\n        speaker: customer\n        courtesy: {{}}\n"
    ));
    find(&e, "criteria[0].checks[0].speaker");
}

#[test]
fn regex_patterns_are_validated_as_scoring_compiles_them() {
    // Each pattern fits the limit alone; together they would not.
    let patterns: Vec<String> = (0..8).map(|i| format!("\"\\\\w{{20}}q{i}\"")).collect();
    let src = format!(
        "id: x\nversion: 1\nname: n\nlanguages: [en]\ncriteria:\n  - id: c\n    name: C\n    weight: 1\n    checks:\n      - id: k\n        description: d\n        points: 1\n        regex: {{patterns: [{}]}}\n",
        patterns.join(", ")
    );
    match parse_rubric(&src) {
        Ok(rubric) => {
            callscore::scoring::CompiledRubric::compile(&rubric)
                .expect("a rubric that validates compiles");
        }
        Err(errors) => {
            let e = find(&errors, "criteria[0].checks[0].regex.patterns");
            assert!(e.message.contains("together"), "{e:?}");
        }
    }
}
