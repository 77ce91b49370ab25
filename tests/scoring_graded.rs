//! Graded courtesy, register and empathy with the default rubric: cues
//! count where they mean what they say (not negated, not reported), each
//! point is traceable to words and times, and the scripted cases of the
//! validity issue are caught.

use callscore::rubric::{default_rubric_source, parse_rubric};
use callscore::scoring::{CheckResult, CompiledRubric, Outcome, Scorecard, score_transcript};
use callscore::transcript::{Segment, Speaker, Transcript, Word};

const A: Speaker = Speaker::Agent;
const C: Speaker = Speaker::Customer;

fn rubric() -> CompiledRubric {
    CompiledRubric::compile(&parse_rubric(default_rubric_source()).expect("valid"))
        .expect("compiles")
}

fn call(turns: &[(Speaker, &str)]) -> Transcript {
    let mut at = 0;
    let segments = turns
        .iter()
        .map(|&(speaker, text)| {
            let length = 400 * text.split_whitespace().count() as u64;
            let segment = Segment::new(speaker, at, at + length, text);
            at += length + 500;
            segment
        })
        .collect();
    Transcript {
        language: None,
        segments,
        attribution: None,
    }
}

fn check<'a>(card: &'a Scorecard, id: &str) -> &'a CheckResult {
    card.criteria
        .iter()
        .flat_map(|c| &c.checks)
        .find(|c| c.check_id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn kinds(result: &CheckResult) -> Vec<String> {
    result
        .evidence
        .iter()
        .flat_map(|e| &e.markers)
        .map(|m| m.kind.to_string())
        .collect()
}

/// The courtesy cues and fraction of one agent line said as a whole call.
fn courtesy_of(r: &CompiledRubric, line: &str) -> (Vec<String>, f64) {
    let card = score_transcript(r, &call(&[(A, line)]), "t");
    let result = check(&card, "courtesy");
    (kinds(result), result.fraction.expect("graded"))
}

/// The empathy cues and fraction of a call.
fn empathy_of(r: &CompiledRubric, turns: &[(Speaker, &str)]) -> (Vec<String>, f64) {
    let card = score_transcript(r, &call(turns), "t");
    let result = check(&card, "empathic_responses");
    (kinds(result), result.fraction.expect("graded"))
}

fn fraction(r: &CompiledRubric, turns: &[(Speaker, &str)], id: &str) -> f64 {
    check(&score_transcript(r, &call(turns), "t"), id)
        .fraction
        .expect("graded")
}

#[test]
fn negated_and_reported_cues_do_not_count() {
    let r = rubric();
    let card = score_transcript(&r, &call(&[(A, "I'm not sorry, that is the rule.")]), "t");
    assert!(!kinds(check(&card, "courtesy")).contains(&"apology".to_owned()));
    let card = score_transcript(&r, &call(&[(A, "I'm sorry, that is the rule.")]), "t");
    assert!(kinds(check(&card, "courtesy")).contains(&"apology".to_owned()));

    let reported = score_transcript(
        &r,
        &call(&[(A, "You said I was useless, sir. Let me check the order.")]),
        "t",
    );
    assert!(!kinds(check(&reported, "courtesy")).contains(&"insult".to_owned()));
    let insult = score_transcript(
        &r,
        &call(&[(A, "You are useless, sir. Let me check the order.")]),
        "t",
    );
    assert!(kinds(check(&insult, "courtesy")).contains(&"insult".to_owned()));
    assert!(check(&insult, "courtesy").fraction < check(&reported, "courtesy").fraction);

    let id_reported = score_transcript(&r, &call(&[(A, "Katanya saya bodoh, Pak.")]), "t");
    assert!(!kinds(check(&id_reported, "courtesy")).contains(&"insult".to_owned()));
    let not_understood = score_transcript(
        &r,
        &call(&[
            (C, "Saya kecewa sekali, paket saya hilang."),
            (A, "Saya tidak mengerti maksud Bapak."),
        ]),
        "t",
    );
    assert!(
        !kinds(check(&not_understood, "empathic_responses"))
            .contains(&"acknowledgement".to_owned())
    );
}

#[test]
fn a_word_one_letter_from_a_cue_is_not_that_cue() {
    let r = rubric();
    // "banjir" (flood) is one letter from the insult "anjir"; "pending" and
    // "barang" from the colloquial "mending" and "bayang".
    let flood = score_transcript(
        &r,
        &call(&[(
            A,
            "Mohon maaf, Pak, ada banjir di gudang Surabaya, jadi transaksi Bapak masih pending.",
        )]),
        "t",
    );
    assert!(!kinds(check(&flood, "courtesy")).contains(&"insult".to_owned()));
    assert!(!kinds(check(&flood, "formal_register")).contains(&"colloquial_word".to_owned()));
    // An elongated insult is still one.
    let insult = score_transcript(&r, &call(&[(A, "Anjirr, ribet banget, Pak.")]), "t");
    assert!(kinds(check(&insult, "courtesy")).contains(&"insult".to_owned()));
}

#[test]
fn a_prefixed_verb_counts_as_its_root() {
    // "memohon" is meN- + mohon (the rule alone reads "pohon", a tree).
    let r = rubric();
    let card = score_transcript(
        &r,
        &call(&[(A, "Saya memohon Bapak menunggu sebentar.")]),
        "t",
    );
    assert!(kinds(check(&card, "courtesy")).contains(&"softener".to_owned()));
    let card = score_transcript(&r, &call(&[(A, "Ada pohon tumbang, Pak.")]), "t");
    assert!(!kinds(check(&card, "courtesy")).contains(&"softener".to_owned()));
}

#[test]
fn courtesy_prefers_softened_requests_to_bare_imperatives() {
    let r = rubric();
    let polite = fraction(
        &r,
        &[(A, "Mohon maaf, Bu. Boleh saya minta nomor pesanannya?")],
        "courtesy",
    );
    let curt = fraction(&r, &[(A, "Sebutin nomor pesanannya.")], "courtesy");
    assert!(polite > curt, "{polite} vs {curt}");
    let en_polite = fraction(
        &r,
        &[(A, "Could you please give me your policy number?")],
        "courtesy",
    );
    let en_curt = fraction(&r, &[(A, "Give me your policy number.")], "courtesy");
    assert!(en_polite > en_curt, "{en_polite} vs {en_curt}");
    // A passive at the start is no imperative, though it shares the stem.
    let passive = score_transcript(&r, &call(&[(A, "Dikirim besok pagi, Pak.")]), "t");
    assert!(!kinds(check(&passive, "courtesy")).contains(&"bare_imperative".to_owned()));
    let imperative = score_transcript(&r, &call(&[(A, "Kirim fotonya sekarang.")]), "t");
    assert!(kinds(check(&imperative, "courtesy")).contains(&"bare_imperative".to_owned()));
}

#[test]
fn reassurances_and_invitations_earn_no_impoliteness_cue() {
    // Said to put a customer at ease or to invite them back: a QA reviewer
    // reads these as courteous, though they open with "don't" or a verb.
    let r = rubric();
    let impolite = [
        "bare_imperative",
        "blame",
        "obligation",
        "dismissal",
        "dismissal_alone",
        "factuality",
    ];
    let courteous = [
        "Don't worry, I will sort this out for you right now.",
        "Do not worry, sir, your money is safe.",
        "Don't hesitate to call us again if anything else comes up.",
        "Please don't apologize, it is not your fault at all.",
        "Go ahead, I'm listening.",
        "Take your time, there is no rush.",
        "Sure, I can help you with that.",
        "Jangan khawatir, Pak, saya bantu selesaikan sekarang juga.",
        "Jangan ragu untuk menghubungi kami kembali jika ada kendala lain.",
        "Jangan sungkan bertanya ya, Bu.",
        "Jangan menyerah ya, Pak, kita coba sekali lagi bersama.",
        "Itu bukan salah Bapak, sistem kami yang bermasalah.",
        "You're welcome, it was my pleasure.",
        "Your refund has been processed.",
        "So the charge was made twice on the fifth.",
        "Tapi kabar baiknya, garansinya masih berlaku.",
        "You should have received a confirmation email yesterday.",
        "You will receive a text message with the tracking number.",
        "Bapak seharusnya sudah menerima email konfirmasi kemarin.",
        "Dananya seharusnya sudah masuk hari ini, Pak.",
    ];
    for line in courteous {
        let (found, _) = courtesy_of(&r, line);
        assert!(
            !found.iter().any(|k| impolite.contains(&k.as_str())
                || k == "second_person_start"
                || k == "direct_start"),
            "{line}: {found:?}"
        );
    }
    // A dismissal's words with another word let in are not a dismissal.
    for line in [
        "So what I'll do now is raise a ticket with our technical team.",
        "Cek kembali email Bapak ya, kami sudah kirimkan.",
    ] {
        let (found, _) = courtesy_of(&r, line);
        assert!(
            !found.iter().any(|k| k.starts_with("dismissal")),
            "{line}: {found:?}"
        );
    }
    // The same openings, said curtly, still count against the agent.
    for (line, kind) in [
        ("Don't call this line again for that.", "bare_imperative"),
        ("Take the form to the branch yourself.", "bare_imperative"),
        ("Jangan telepon ke sini lagi buat itu.", "bare_imperative"),
        ("It is your fault, not ours.", "blame"),
        ("Salah Bapak sendiri tidak telepon dari awal.", "blame"),
        ("Ya sudah, terserah Bapak.", "dismissal_alone"),
        ("Surely you read the letter.", "factuality"),
        ("So what?", "dismissal_alone"),
        ("You should have called us before cancelling.", "blame"),
        ("Bapak seharusnya menelepon sebelum membatalkan.", "blame"),
        ("Bapak harus mengisi formulir ini dulu.", "obligation"),
        ("So why did you not read the letter?", "direct_start"),
        ("You did not read the letter.", "second_person_start"),
    ] {
        let (found, _) = courtesy_of(&r, line);
        assert!(found.iter().any(|k| k == kind), "{line}: {found:?}");
    }
}

#[test]
fn silencing_and_talking_down_to_a_customer_count_in_both_languages() {
    // Culpeper's silencers and condescension, and an imperative after a
    // lead-in or a form of address: what a QA reviewer marks as curt.
    let r = rubric();
    for (line, kind) in [
        ("Let me finish, I'm talking now.", "silencer"),
        ("Stop interrupting me.", "silencer"),
        ("Be quiet and listen for a second.", "silencer"),
        ("Biar saya selesai bicara dulu.", "silencer"),
        ("Jangan potong omongan saya.", "silencer"),
        ("Tidak usah marah-marah ke saya.", "silencer"),
        ("I'm not going to repeat myself.", "condescension"),
        ("You people never read the terms.", "condescension"),
        ("Sudah tiga kali saya jelaskan.", "condescension"),
        (
            "Kalian ini tidak pernah baca syarat dan ketentuan.",
            "condescension",
        ),
        ("Look, I don't make the rules.", "dismissal"),
        ("Aturannya bukan saya yang buat.", "dismissal"),
        ("Just give me the account number.", "bare_imperative"),
        ("Next time fill in the form properly.", "bare_imperative"),
        ("Lain kali isi formulirnya dengan benar.", "bare_imperative"),
        ("Bapak jangan teriak-teriak dulu.", "bare_imperative"),
    ] {
        let (found, fraction) = courtesy_of(&r, line);
        assert!(found.iter().any(|k| k == kind), "{line}: {found:?}");
        assert!(fraction < 0.3, "{line}: {fraction}");
    }
}

#[test]
fn offering_the_customer_something_is_no_bare_imperative() {
    // Leech's tact maxim: an imperative whose action benefits the hearer
    // ("Give us a call if…") is an offer, not an order.
    let r = rubric();
    for line in [
        "Keep an eye on your inbox, the voucher will arrive within the hour.",
        "Give us a call back if the courier hasn't come by Friday.",
        "Contact us again if the error comes back.",
        "Take all the time you need, I'll stay on the line.",
        "All you need to do is tap the link we sent and confirm.",
        "You can reach us on this number any time.",
        "Just so you know, the technician will call before arriving.",
        "Hubungi kami lagi kalau ada kendala lain ya, Pak.",
        "Kalau kurirnya belum datang hari Jumat, telepon kami lagi ya, Bu.",
    ] {
        let (found, fraction) = courtesy_of(&r, line);
        assert!(
            !found
                .iter()
                .any(|k| ["bare_imperative", "obligation", "second_person_start"]
                    .contains(&k.as_str())),
            "{line}: {found:?}"
        );
        assert!(fraction >= 0.5, "{line}");
    }
}

#[test]
fn a_question_asked_again_after_its_answer_counts_against_empathy() {
    let r = rubric();
    let empathy = |turns: &[(Speaker, &str)]| {
        let card = score_transcript(&r, &call(turns), "t");
        let result = check(&card, "empathic_responses");
        let repeated: Vec<_> = result
            .evidence
            .iter()
            .filter(|e| e.markers.iter().any(|m| m.kind == "repeated_question"))
            .map(|e| (e.quote.clone(), e.start_ms))
            .collect();
        (result.fraction.expect("graded"), repeated)
    };
    for (question, answer, again) in [
        (
            "How long have you been waiting for the parcel?",
            "Two weeks now.",
            "How long have you been waiting for the parcel?",
        ),
        (
            "Sudah berapa lama Bapak menunggu paketnya?",
            "Sudah dua minggu, Mbak.",
            "Sudah berapa lama Bapak menunggu paketnya?",
        ),
    ] {
        let listened = [
            (A, question),
            (C, answer),
            (A, "I see, thank you. Let me check."),
        ];
        let unheard = [(A, question), (C, answer), (A, again)];
        let (listened_fraction, none) = empathy(&listened);
        let (unheard_fraction, found) = empathy(&unheard);
        assert!(none.is_empty(), "{none:?}");
        // The second asking is quoted, with its time.
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, again);
        assert!(found[0].1 > 0, "{found:?}");
        assert!(
            unheard_fraction < listened_fraction,
            "{unheard_fraction} vs {listened_fraction}"
        );
    }
    // Asked back by the customer, or re-asked with an apology for not
    // catching the answer, the agent is not repeating itself.
    for turns in [
        [
            (A, "May I have your account number, please?"),
            (C, "Sorry, what did you say?"),
            (A, "May I have your account number, please?"),
        ],
        [
            (A, "May I have your account number?"),
            (C, "It is four four five, uh, six."),
            (
                A,
                "Sorry, I didn't catch that, may I have your account number again?",
            ),
        ],
    ] {
        let (_, found) = empathy(&turns);
        assert!(found.is_empty(), "{turns:?}: {found:?}");
    }
}

#[test]
fn a_customer_who_has_to_say_it_again_counts_against_the_turn_before() {
    let r = rubric();
    // The empathy fraction, and each customer_unheard cue with the quote and
    // start of its turn's evidence and its own quote and start.
    let unheard = |transcript: &Transcript| {
        let card = score_transcript(&r, transcript, "t");
        let result = check(&card, "empathic_responses");
        let found: Vec<_> = result
            .evidence
            .iter()
            .flat_map(|e| {
                e.markers
                    .iter()
                    .filter(|m| m.kind == "customer_unheard")
                    .map(|m| (e.quote.clone(), m.quote.clone(), m.start_ms))
            })
            .collect();
        (result.fraction.expect("graded"), found)
    };
    for (question, other, heard, told_you, cue) in [
        (
            "I'm sorry about the delay. May I have your order number?",
            "Thank you. And what is your order number?",
            "Sure, it is four five six.",
            "I already told you, it is four five six.",
            "I already told you",
        ),
        (
            "Mohon maaf atas keterlambatannya. Boleh saya minta nomor pesanannya?",
            "Terima kasih. Nomor pesanannya berapa, Pak?",
            "Nomornya empat lima enam, Mbak.",
            "Kan tadi sudah saya bilang, empat lima enam.",
            "Kan tadi sudah saya bilang",
        ),
    ] {
        let turns = |reply: &str| {
            call(&[
                (A, question),
                (C, "Empat lima enam. Four five six."),
                (A, other),
                (C, reply),
                (A, "Baik, terima kasih. Thank you."),
            ])
        };
        let (heard_fraction, none) = unheard(&turns(heard));
        let (unheard_fraction, found) = unheard(&turns(told_you));
        assert!(none.is_empty(), "{none:?}");
        // Counted on the agent turn the customer answers, quoted and timed
        // from the customer's words.
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, other);
        assert_eq!(found[0].1, cue);
        let customer_start = turns(told_you).segments[3].start_ms;
        assert_eq!(found[0].2, customer_start, "{found:?}");
        assert!(
            unheard_fraction < heard_fraction,
            "{unheard_fraction} vs {heard_fraction}"
        );
    }
    // Not a reaction: a story about someone else, the agent's own words, or
    // a call whose speakers are not told apart.
    for turns in [
        vec![
            (A, "How can I help you today?"),
            (C, "I already told my bank about it, and they sent me here."),
        ],
        vec![
            (A, "Ada yang bisa saya bantu?"),
            (C, "Saya sudah bilang ke petugasnya, tapi belum ada kabar."),
        ],
        vec![
            (C, "Where is my refund?"),
            (A, "I already told you, it takes ten days."),
        ],
    ] {
        let (_, found) = unheard(&call(&turns));
        assert!(found.is_empty(), "{turns:?}: {found:?}");
    }
    let mut mono = call(&[
        (A, "May I have your order number?"),
        (C, "I already told you, it is four five six."),
    ]);
    for segment in &mut mono.segments {
        segment.speaker = Speaker::Unknown;
    }
    let card = score_transcript(&r, &mono, "t");
    let result = check(&card, "empathic_responses");
    assert!(
        !kinds(result).iter().any(|k| k == "customer_unheard"),
        "{:?}",
        kinds(result)
    );
}

#[test]
fn sympathy_for_good_news_misreads_the_feeling() {
    let r = rubric();
    let empathy = |turns: &[(Speaker, &str)]| empathy_of(&r, turns);
    let misread = |k: &[String]| k.iter().any(|k| k.starts_with("misread_feeling"));
    for (joy, distress, sympathy, gladness) in [
        (
            "I passed my driving test, I am so happy!",
            "I failed my driving test, I am so sad.",
            "I'm sorry to hear that. What will you do next?",
            "That's wonderful, congratulations! What will you do next?",
        ),
        (
            "Alhamdulillah, saya lulus ujian, senang sekali.",
            "Saya tidak lulus ujian, sedih sekali.",
            "Turut prihatin ya, Bu. Apa rencana Ibu selanjutnya?",
            "Wah, bagus sekali, Bu! Apa rencana Ibu selanjutnya?",
        ),
    ] {
        let (misread_kinds, misread_fraction) = empathy(&[(C, joy), (A, sympathy)]);
        let (glad_kinds, glad_fraction) = empathy(&[(C, joy), (A, gladness)]);
        assert!(
            glad_kinds.iter().any(|k| k == "shared_gladness"),
            "{gladness}: {glad_kinds:?}"
        );
        let (fitting_kinds, fitting_fraction) = empathy(&[(C, distress), (A, sympathy)]);
        assert!(misread(&misread_kinds), "{joy}: {misread_kinds:?}");
        assert!(!misread(&fitting_kinds), "{distress}: {fitting_kinds:?}");
        assert!(
            misread_fraction < glad_fraction && misread_fraction < fitting_fraction,
            "{misread_fraction} vs {glad_fraction} and {fitting_fraction}"
        );
        // The joy holds through a plain answer, until distress is voiced.
        let (kinds_later, _) = empathy(&[
            (C, joy),
            (A, "Which test was it?"),
            (C, "The written one."),
            (A, sympathy),
        ]);
        assert!(misread(&kinds_later), "{kinds_later:?}");
        let (kinds_after_distress, _) =
            empathy(&[(C, joy), (A, gladness), (C, distress), (A, sympathy)]);
        assert!(!misread(&kinds_after_distress), "{kinds_after_distress:?}");
        // Gladness after distress is no shared gladness.
        let (kinds_glad_after_distress, _) = empathy(&[(C, distress), (A, gladness)]);
        assert!(
            !kinds_glad_after_distress
                .iter()
                .any(|k| k == "shared_gladness"),
            "{kinds_glad_after_distress:?}"
        );
    }
    // Relief after trouble still takes an apology for the trouble, and joy
    // that is denied is no joy.
    for turns in [
        [
            (C, "It finally arrived, I am so relieved."),
            (A, "I'm sorry it took so long."),
        ],
        [
            (C, "Akhirnya sampai juga, saya lega."),
            (A, "Mohon maaf atas keterlambatannya, Bu."),
        ],
        [
            (C, "I am not happy with this at all."),
            (A, "I'm sorry to hear that."),
        ],
    ] {
        let (found, _) = empathy(&turns);
        assert!(!misread(&found), "{turns:?}: {found:?}");
    }
    // Being misunderstood is the customer's reaction to the turn before.
    for (agent, customer) in [
        (
            "So you would like to cancel the order?",
            "No, you got it wrong, I want to change the address.",
        ),
        (
            "Jadi Bapak mau membatalkan pesanan?",
            "Bukan, Mbak salah paham, saya mau ganti alamat.",
        ),
    ] {
        let (found, _) = empathy(&[(A, agent), (C, customer), (A, "Baik. Okay.")]);
        assert!(
            found.iter().any(|k| k == "customer_unheard"),
            "{customer}: {found:?}"
        );
    }
}

#[test]
fn telling_a_customer_what_to_expect_is_no_blame_shifting() {
    let r = rubric();
    let outcome = |line: &str| {
        check(
            &score_transcript(&r, &call(&[(A, line)]), "t"),
            "no_blame_shifting",
        )
        .outcome
    };
    assert_eq!(
        outcome("You should have received a refund email yesterday."),
        Outcome::Pass
    );
    assert_eq!(
        outcome("You should have called us before cancelling."),
        Outcome::Fail
    );
    assert_eq!(
        outcome("You should have just read the terms, sir."),
        Outcome::Fail
    );
}

#[test]
fn indonesian_words_that_share_a_cue_stem_are_not_that_cue() {
    let r = rubric();
    let found = |text: &str, check_id: &str| {
        let card = score_transcript(
            &r,
            &call(&[(C, "Saya mau tanya soal tiket saya."), (A, text)]),
            "t",
        );
        kinds(check(&card, check_id))
    };
    // (reply, check, kind, whether it is that cue)
    for (text, check_id, kind, expected) in [
        (
            "Makanya saya bilang dari awal.",
            "courtesy",
            "gratitude",
            false,
        ),
        ("Makasih ya, Pak.", "courtesy", "gratitude", true),
        (
            "Nanti Bapak dikasih nomor tiket.",
            "empathic_responses",
            "sympathy",
            false,
        ),
        (
            "Kasihan sekali, Bu.",
            "empathic_responses",
            "sympathy",
            true,
        ),
        (
            "Produknya tersedia di toko.",
            "courtesy",
            "indirect_request",
            false,
        ),
        (
            "Bersediakah Bapak menunggu?",
            "courtesy",
            "indirect_request",
            true,
        ),
        (
            "Saya akan memberikan penjelasan.",
            "courtesy",
            "factuality",
            false,
        ),
        (
            "Ternyata ada gangguan sistem.",
            "courtesy",
            "factuality",
            false,
        ),
        ("Jelas itu kesalahan Bapak.", "courtesy", "factuality", true),
        (
            "Mohon baca syarat dan ketentuan di aplikasi.",
            "courtesy",
            "deference",
            false,
        ),
        ("Tentu, saya bantu, Bu.", "courtesy", "deference", true),
        (
            "Bapak bisa menghubungi nomor ini kapan saja.",
            "courtesy",
            "indirect_request",
            false,
        ),
        (
            "Bisakah Bapak mengirim fotonya?",
            "courtesy",
            "indirect_request",
            true,
        ),
        (
            "Maaf, saya tidak bisa bantu untuk itu.",
            "courtesy",
            "indicative_modal",
            false,
        ),
        (
            "I'm sorry, I can't help you like this.",
            "courtesy",
            "hedge",
            false,
        ),
    ] {
        let kinds = found(text, check_id);
        assert_eq!(
            kinds.contains(&kind.to_owned()),
            expected,
            "{text}: {kind} in {kinds:?}"
        );
    }
}

#[test]
fn everyday_indonesian_words_are_not_the_feelings_that_share_their_stem() {
    let r = rubric();
    let reply = "Baik, Bapak bisa datang ke cabang terdekat.";
    // Words that stem like an emotion word ("lalu" like "keterlaluan",
    // "tinggal" like "meninggal", "masa" like "masalah", "tangan" and
    // "ditangani" like "menangis", "saya rasa" like "saya merasa") voice no
    // emotion: the reply to them is no missed reply.
    for customer in [
        "Lalu saya harus bagaimana?",
        "Saya tinggal di Bandung.",
        "Masa aktif kartu saya habis besok.",
        "Kapan pesanan saya ditangani? Tangan saya sudah pegal menunggu.",
        "Saya rasa alamatnya sudah benar.",
    ] {
        let empathy = fraction(&r, &[(C, customer), (A, reply)], "empathic_responses");
        assert!(empathy >= 0.5, "{customer}: {empathy}");
    }
    // The emotion words themselves, as written or with a clitic, still do.
    for customer in [
        "Ayah saya meninggal minggu lalu.",
        "Ini sudah keterlaluan!",
        "Masalahnya belum selesai juga.",
        "Anak saya menangis terus.",
        "Saya merasa dibohongi.",
    ] {
        let empathy = fraction(&r, &[(C, customer), (A, reply)], "empathic_responses");
        assert!(empathy < 0.5, "{customer}: {empathy}");
    }
    // "Lalu" (then) in the agent's words is no negative word.
    let (cues, _) = courtesy_of(&r, "Lalu Bapak bisa datang ke cabang terdekat.");
    assert!(!cues.iter().any(|c| c == "negative_lexicon"), "{cues:?}");
    let (cues, _) = courtesy_of(&r, "Ini keterlaluan, Pak.");
    assert!(cues.iter().any(|c| c == "negative_lexicon"), "{cues:?}");
}

#[test]
fn register_moves_with_informal_words_in_both_languages() {
    let r = rubric();
    let formal = fraction(
        &r,
        &[(
            A,
            "Baik, Bapak. Mohon ditunggu sebentar, saya sudah mengecek pesanan Anda.",
        )],
        "formal_register",
    );
    let informal = fraction(
        &r,
        &[(
            A,
            "Oke deh, bentar ya, gue udah cek pesenan lo kok, gak ada masalah sih.",
        )],
        "formal_register",
    );
    assert!(formal > 0.8 && informal < 0.2, "{formal} vs {informal}");
    let en_formal = fraction(
        &r,
        &[(A, "Certainly, sir. I will check your order now.")],
        "formal_register",
    );
    let en_slang = fraction(
        &r,
        &[(A, "Yeah dude, gonna check ur order now, no worries.")],
        "formal_register",
    );
    assert!(en_formal > en_slang, "{en_formal} vs {en_slang}");
}

#[test]
fn a_plain_english_call_is_not_read_as_casual_for_its_short_words() {
    // The same plain, courteous call in both languages: English words are
    // about a letter shorter, which is no sign of a casual register.
    let r = rubric();
    let english = [
        (A, "Good morning, this is Rina from the card team."),
        (C, "Hi, my card stopped working."),
        (A, "Your card was blocked after three wrong PIN entries."),
        (C, "Okay."),
        (A, "I can unblock it now if you confirm your date of birth."),
        (C, "Fourth of May, ninety."),
        (A, "Thanks. The card works again."),
        (C, "Great."),
        (A, "A new PIN letter will reach you in five days."),
        (C, "Okay, thanks."),
        (A, "Is there anything else?"),
        (C, "No, that's all."),
        (A, "Have a good day."),
    ];
    let indonesian = [
        (A, "Selamat pagi, dengan Rina dari tim kartu."),
        (C, "Halo, kartu saya tidak bisa dipakai."),
        (A, "Kartu Bapak terblokir setelah tiga kali salah PIN."),
        (C, "Oke."),
        (
            A,
            "Saya bisa buka blokirnya sekarang kalau Bapak konfirmasi tanggal lahir.",
        ),
        (C, "Empat Mei sembilan puluh."),
        (A, "Terima kasih. Kartunya sudah aktif lagi."),
        (C, "Bagus."),
        (A, "Surat PIN baru akan sampai dalam lima hari."),
        (C, "Oke, terima kasih."),
        (A, "Ada lagi yang bisa dibantu?"),
        (C, "Tidak, itu saja."),
        (A, "Selamat siang."),
    ];
    let en = fraction(&r, &english, "formal_register");
    let id = fraction(&r, &indonesian, "formal_register");
    assert!(en >= 0.45, "English {en}, Indonesian {id}");
    assert!(id - en < 0.45, "English {en}, Indonesian {id}");
    // Slang still reads as casual against it.
    let mut slangy = english;
    slangy[4] = (
        A,
        "Yeah gonna unblock it now, just gimme ur date of birth lol.",
    );
    slangy[8] = (A, "Yep, new PIN letter's gonna reach u in like five days.");
    let casual = fraction(&r, &slangy, "formal_register");
    assert!(casual < en - 0.3, "slang {casual} vs plain {en}");
}

#[test]
fn empathy_weighs_replies_to_voiced_emotion_and_names_a_missed_one() {
    let r = rubric();
    let customer = "Saya sangat kecewa, sudah tiga kali saya menelepon dan tidak ada yang peduli.";
    let empathic = score_transcript(
        &r,
        &call(&[
            (C, customer),
            (
                A,
                "Saya memahami kekecewaan Bapak, kedengarannya sangat melelahkan. Mohon maaf, Pak.",
            ),
        ]),
        "t",
    );
    let missed = score_transcript(
        &r,
        &call(&[(C, customer), (A, "Nomor pelanggannya berapa?")]),
        "t",
    );
    let (e, m) = (
        check(&empathic, "empathic_responses"),
        check(&missed, "empathic_responses"),
    );
    assert!(e.fraction > m.fraction);
    assert_eq!(m.outcome, Outcome::Fail);
    assert!(m.reason.contains("1 with no empathic cue"), "{}", m.reason);
    // A dismissive reply is missed too: the reason counts it as the math does.
    let dismissed = score_transcript(
        &r,
        &call(&[(C, customer), (A, "Calm down, it is not a big deal.")]),
        "t",
    );
    let d = check(&dismissed, "empathic_responses");
    assert!(
        d.fraction < m.fraction,
        "{:?} vs {:?}",
        d.fraction,
        m.fraction
    );
    assert!(d.reason.contains("1 with no empathic cue"), "{}", d.reason);
    // The missed reply's evidence quotes the customer's turn before it.
    assert_eq!(m.evidence[0].speaker, Speaker::Customer);
    let found = kinds(e);
    for kind in ["acknowledgement", "reflection", "apology"] {
        assert!(found.contains(&kind.to_owned()), "{kind} in {found:?}");
    }
}

#[test]
fn restatements_invitations_and_a_taken_back_acknowledgement_are_read() {
    let r = rubric();
    let customer = "I am so worried, the payment left my account twice and rent is due.";
    let cues = |reply: &str| {
        let card = score_transcript(&r, &call(&[(C, customer), (A, reply)]), "t");
        let result = check(&card, "empathic_responses");
        (kinds(result), result.fraction.expect("graded"))
    };
    // A paraphrase opening the sentence is a restatement; a directive is not.
    let (restated, restated_fraction) =
        cues("Okay, so you were charged twice and the rent is due this week.");
    assert!(restated.contains(&"restatement".to_owned()), "{restated:?}");
    let (directive, directive_fraction) =
        cues("So you need to send us the statement and wait five days.");
    assert!(
        !directive.contains(&"restatement".to_owned()),
        "{directive:?}"
    );
    assert!(restated_fraction > directive_fraction);
    // Information about the customer's case, and small talk, are neither.
    let (informed, _) = cues("So your refund will arrive on Monday. How are you doing today?");
    assert!(
        !informed.contains(&"restatement".to_owned())
            && !informed.contains(&"open_question".to_owned()),
        "{informed:?}"
    );
    // An invitation to say more needs no question mark.
    let (invited, _) = cues("Tell me more about what happened with the second payment.");
    assert!(invited.contains(&"invitation".to_owned()), "{invited:?}");
    // "Saya mengerti, tapi..." takes the acknowledgement back.
    let (plain, plain_fraction) = cues("I understand this is stressful.");
    let (taken_back, taken_back_fraction) =
        cues("I understand this is stressful, but that is the bank's rule.");
    assert!(!plain.contains(&"yes_but".to_owned()), "{plain:?}");
    assert!(taken_back.contains(&"yes_but".to_owned()), "{taken_back:?}");
    assert!(taken_back_fraction < plain_fraction);
    let id = |reply: &str| {
        let card = score_transcript(
            &r,
            &call(&[(C, "Saya kesal sekali, uangnya belum kembali."), (A, reply)]),
            "t",
        );
        kinds(check(&card, "empathic_responses"))
    };
    assert!(id("Saya mengerti, tapi memang prosesnya begitu.").contains(&"yes_but".to_owned()));
    // A clarifying question is no blame; the same words stated are.
    let (asked, _) = cues("You did not get the confirmation email?");
    let (stated, _) = cues("You did not read the confirmation email.");
    assert!(!asked.contains(&"blame_statement".to_owned()), "{asked:?}");
    assert!(stated.contains(&"blame_statement".to_owned()), "{stated:?}");
}

#[test]
fn wishes_encouragement_and_shared_joy_are_read_in_both_languages() {
    let r = rubric();
    let cues = |customer: &str, reply: &str| {
        let card = score_transcript(&r, &call(&[(C, customer), (A, reply)]), "t");
        let result = check(&card, "empathic_responses");
        (kinds(result), result.fraction.expect("graded"))
    };
    let worried = "My mother is in hospital, so I need to move the appointment.";
    let (wished, wished_fraction) = cues(
        worried,
        "I hope your mother recovers quickly, and good luck with everything.",
    );
    assert!(wished.contains(&"well_wishing".to_owned()), "{wished:?}");
    // "I hope you understand" comes before a refusal: no wish.
    let (refused, refused_fraction) = cues(
        worried,
        "I hope you understand that the appointment cannot be moved.",
    );
    assert!(!refused.contains(&"well_wishing".to_owned()), "{refused:?}");
    assert!(wished_fraction > refused_fraction);
    let (encouraged, _) = cues(
        "I am exhausted, the debt keeps growing and I do not know what to do.",
        "Stay strong, we will take this one step at a time.",
    );
    assert!(
        encouraged.contains(&"encouragement".to_owned()),
        "{encouraged:?}"
    );
    let arrived = "My new card finally arrived.";
    let (glad, _) = cues(arrived, "I am so glad to hear your card arrived.");
    assert!(glad.contains(&"shared_joy".to_owned()), "{glad:?}");
    // Gladness to help is courtesy, an announcement is information, and a
    // negated one is none.
    for reply in [
        "Glad to help, have a nice day.",
        "Great news, the refund is through.",
        "I am not glad to hear that.",
    ] {
        let (found, _) = cues(arrived, reply);
        assert!(
            !found.contains(&"shared_joy".to_owned()),
            "{reply}: {found:?}"
        );
    }
    // Service phrases that share words with wishes and encouragement.
    for reply in [
        "You can do it online, and I will keep you in the loop.",
        "I wish you had called us earlier.",
        "You will get through to billing if you press two.",
        "The new password must be strong.",
        "You are strongly advised to change it; your password strength is low.",
    ] {
        let (found, _) = cues(worried, reply);
        assert!(
            !found.contains(&"well_wishing".to_owned())
                && !found.contains(&"encouragement".to_owned()),
            "{reply}: {found:?}"
        );
    }
    let (sarcastic, _) = cues(worried, "Good luck with that.");
    assert!(sarcastic.contains(&"dismissal".to_owned()), "{sarcastic:?}");
    // "Whatever" dismisses as a whole clause only.
    let (offered, _) = cues(worried, "Whatever works best for you, I can move it.");
    assert!(
        !offered.iter().any(|k| k.starts_with("dismissal")),
        "{offered:?}"
    );
    let (curt, _) = cues(worried, "Whatever.");
    assert!(curt.contains(&"dismissal_alone".to_owned()), "{curt:?}");
    let id = |customer: &str, reply: &str| {
        let card = score_transcript(&r, &call(&[(C, customer), (A, reply)]), "t");
        kinds(check(&card, "empathic_responses"))
    };
    let found = id(
        "Ibu saya sedang dirawat di rumah sakit.",
        "Kami doakan ibunya lekas pulih, Bu.",
    );
    assert!(found.contains(&"well_wishing".to_owned()), "{found:?}");
    // "Menyerah" (give up) shares its root with "terserah" (whatever), and
    // "mendengarnya" (hearing it) with "kedengarannya" (it sounds): neither
    // is that word.
    let found = id(
        "Saya sudah tidak kuat lagi dengan tagihan ini.",
        "Jangan menyerah, Pak, kita cari jalan keluarnya bersama.",
    );
    assert!(
        found.contains(&"encouragement_alone".to_owned()),
        "{found:?}"
    );
    assert!(!found.contains(&"dismissal".to_owned()), "{found:?}");
    let found = id(
        "Akhirnya kartunya sudah sampai.",
        "Syukurlah, saya ikut senang mendengarnya.",
    );
    assert!(found.contains(&"shared_joy".to_owned()), "{found:?}");
    assert!(!found.contains(&"reflection".to_owned()), "{found:?}");
    let found = id("Saya kesal sekali.", "Terserah. Memang begitu aturannya.");
    assert!(found.contains(&"dismissal".to_owned()), "{found:?}");
}

#[test]
fn service_script_lines_earn_no_empathy() {
    // Openers, closings, holds, verification and security advice are said on
    // every call; empathy credit for them would lift every card alike.
    let r = rubric();
    let english = [
        "Good morning, thank you for calling Nusantara Bank, my name is Rina, how can I help you today?",
        "Is there anything else I can help you with today?",
        "May I have your account number, please?",
        "Please hold for a moment while I check your account.",
        "Never give up your PIN or OTP to anyone who calls you.",
        "I wish you had called us earlier.",
        "Take care and have a good evening.",
        "I hope your question has been answered.",
        "How are you today?",
        "The refund will be processed within three to five business days.",
    ];
    let indonesian = [
        "Selamat pagi, terima kasih telah menghubungi Bank Nusantara, dengan saya Rina, ada yang bisa saya bantu?",
        "Apakah ada yang bisa saya bantu lagi?",
        "Apakah ada hal lain yang bisa saya bantu, Pak?",
        "Bagaimana kabarnya hari ini, Pak?",
        "Pesanan Bapak sudah kami kirim kemarin.",
        "Alamat Bapak sudah saya perbarui di sistem.",
        "Jadi Bapak bisa datang ke kantor cabang terdekat.",
        "Jangan menyerahkan kartu ATM kepada siapa pun, Pak.",
        "Jangan menyerahkan PIN ya, Pak.",
        "Hati-hati, Pak, jangan berikan kode OTP kepada siapa pun.",
        "Semoga Bapak puas dengan layanan kami.",
        "Semoga harinya menyenangkan.",
        "Semoga penjelasan saya cukup jelas.",
    ];
    for (customer, lines) in [
        ("I would like to check my order.", &english[..]),
        ("Saya mau cek pesanan saya.", &indonesian[..]),
    ] {
        for line in lines {
            let card = score_transcript(&r, &call(&[(C, customer), (A, line)]), "t");
            let raised: Vec<String> = check(&card, "empathic_responses")
                .evidence
                .iter()
                .flat_map(|e| &e.markers)
                .filter(|m| m.weight > 0.0)
                .map(|m| format!("{} ({})", m.kind, m.quote))
                .collect();
            assert!(raised.is_empty(), "{line}: {raised:?}");
        }
    }
    // The same words meant as empathy still count.
    let worried = "My father is in hospital and I am so worried.";
    for (customer, reply, kind) in [
        (
            worried,
            "Never give up, we are here with you.",
            "encouragement_alone",
        ),
        (worried, "Please take good care of yourself.", "sympathy"),
        (worried, "I hope your father recovers soon.", "well_wishing"),
        (
            "Ayah saya masuk rumah sakit, saya khawatir sekali.",
            "Jangan menyerah, Pak. Semoga Bapak sekeluarga diberi kekuatan.",
            "encouragement_alone",
        ),
        (
            "Saya sudah tiga kali telepon dan belum ada kabar.",
            "Jadi Bapak sudah tiga kali menghubungi kami, saya akan bantu cek sekarang.",
            "restatement",
        ),
        (
            "Saya sudah tiga kali telepon dan belum ada kabar.",
            "Saya akan bantu cek sekarang, Pak.",
            "reassurance",
        ),
    ] {
        let card = score_transcript(&r, &call(&[(C, customer), (A, reply)]), "t");
        let found = kinds(check(&card, "empathic_responses"));
        assert!(found.contains(&kind.to_owned()), "{reply}: {found:?}");
    }
}

#[test]
fn every_cue_is_timed_from_words_when_the_transcript_has_them() {
    let r = rubric();
    let mut transcript = call(&[(A, "Thank you so much for waiting, sir.")]);
    let segment = &mut transcript.segments[0];
    segment.start_ms = 10_000;
    segment.end_ms = 13_000;
    segment.words = ["Thank", "you", "so", "much", "for", "waiting,", "sir."]
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start_ms: 10_000 + 400 * i as u64,
            end_ms: 10_300 + 400 * i as u64,
            text: (*w).to_owned(),
            confidence: None,
        })
        .collect();
    let card = score_transcript(&r, &transcript, "t");
    let courtesy = check(&card, "courtesy");
    let gratitude = courtesy
        .evidence
        .iter()
        .flat_map(|e| &e.markers)
        .find(|m| m.kind == "gratitude")
        .expect("gratitude cue");
    assert_eq!((gratitude.start_ms, gratitude.end_ms), (10_000, 10_700));
    assert_eq!(gratitude.quote, "Thank you");
    let address = courtesy
        .evidence
        .iter()
        .flat_map(|e| &e.markers)
        .find(|m| m.kind == "address")
        .expect("address cue");
    assert_eq!((address.start_ms, address.end_ms), (12_400, 12_700));
    // Points are the fraction of the check's points, to four decimals.
    let f = courtesy.fraction.expect("graded");
    assert!((courtesy.earned - f * courtesy.possible).abs() < 1e-3);
}

#[test]
fn the_scripted_indonesian_credibility_case_is_caught() {
    let r = rubric();
    let opening = (
        C,
        "Tagihan saya naik tiga kali lipat, siapa yang bisa membetulkan?",
    );
    let bad = score_transcript(
        &r,
        &call(&[
            opening,
            (
                A,
                "Itu bukan urusan bagian saya, Pak. Nanti mungkin ada yang menghubungi.",
            ),
        ]),
        "t",
    );
    let good = score_transcript(
        &r,
        &call(&[
            opening,
            (
                A,
                "Laporan Bapak saya yang pegang. Saya akan menelepon Bapak besok jam sepuluh pagi.",
            ),
        ]),
        "t",
    );
    assert_eq!(check(&bad, "no_blame_shifting").outcome, Outcome::Fail);
    assert_eq!(check(&bad, "no_vague_promises").outcome, Outcome::Fail);
    assert_eq!(check(&good, "owned_commitment").outcome, Outcome::Pass);
    let credibility = |card: &Scorecard| {
        card.criteria
            .iter()
            .find(|c| c.criterion_id == "credibility")
            .and_then(|c| c.score)
    };
    assert!(credibility(&good) > credibility(&bad));

    let en_opening = (C, "My bill tripled, who can fix this?");
    let en_bad = score_transcript(
        &r,
        &call(&[
            en_opening,
            (
                A,
                "That isn't my section's business, sir. Maybe someone will contact you later.",
            ),
        ]),
        "t",
    );
    let en_good = score_transcript(
        &r,
        &call(&[
            en_opening,
            (
                A,
                "I'll ring you myself tomorrow at ten in the morning, sir.",
            ),
        ]),
        "t",
    );
    assert_eq!(check(&en_bad, "no_blame_shifting").outcome, Outcome::Fail);
    assert_eq!(check(&en_bad, "no_vague_promises").outcome, Outcome::Fail);
    assert_eq!(check(&en_good, "owned_commitment").outcome, Outcome::Pass);
    // "I will not call you back" is no commitment: a negator is never skipped.
    let refused = score_transcript(
        &r,
        &call(&[en_opening, (A, "I will not call you back, sir.")]),
        "t",
    );
    assert_eq!(check(&refused, "owned_commitment").outcome, Outcome::Fail);
}
