//! Readers for the human-labelled corpora the harness knows, each turned
//! into transcripts with a label (or into better/worse pairs). Files are read
//! from a local folder; docs/eval.md says where each comes from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::convert::{reply, single_turn, transcript};
use crate::transcript::{Speaker, Transcript};

/// One labelled item.
#[derive(Debug, Clone)]
pub struct Rated {
    /// Where it came from, for the per-item listing.
    pub id: String,
    /// The item as a call.
    pub transcript: Transcript,
    /// The human label (higher is more polite, formal or empathic).
    pub label: f64,
}

/// Two versions of one item, the first the better one by construction.
#[derive(Debug, Clone)]
pub struct Paired {
    /// Where it came from.
    pub id: String,
    /// The version people prefer.
    pub better: Transcript,
    /// The other version.
    pub worse: Transcript,
    /// The criterion that must rank them (when the pair names one).
    pub criterion: Option<String>,
}

/// What a corpus holds.
#[derive(Debug)]
pub enum Items {
    /// Items with a numeric label.
    Rated(Vec<Rated>),
    /// Better/worse pairs.
    Paired(Vec<Paired>),
}

/// Reads a file as text; Latin-1 when it is not UTF-8 (Pavlick & Tetreault's
/// blog and news files).
fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => error.into_bytes().iter().map(|&b| char::from(b)).collect(),
    })
}

/// A CSV reader with a header; `backslash` for files that escape quotes with `\`.
fn csv_reader(path: &Path, backslash: bool) -> anyhow::Result<csv::Reader<std::fs::File>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut builder = csv::ReaderBuilder::new();
    builder.flexible(true);
    if backslash {
        builder.escape(Some(b'\\'));
    }
    Ok(builder.from_reader(file))
}

/// The index of a header column, or an error naming the file and the column.
fn column(headers: &csv::StringRecord, path: &Path, names: &[&str]) -> anyhow::Result<usize> {
    names
        .iter()
        .find_map(|name| headers.iter().position(|h| h.trim() == *name))
        .with_context(|| {
            format!(
                "{}: no column named {} (columns: {})",
                path.display(),
                names.join(" or "),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Stanford Politeness Corpus files (`stack-exchange.annotated.csv`,
/// `wikipedia.annotated.csv`): each request a single agent turn, labelled
/// with its normalised politeness score.
pub fn politeness(path: &Path) -> anyhow::Result<Items> {
    let mut reader = csv_reader(path, false)?;
    let headers = reader.headers()?.clone();
    let text = column(&headers, path, &["Request"])?;
    let score = column(&headers, path, &["Normalized Score"])?;
    let id = column(&headers, path, &["Id"]).ok();
    let mut items = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), row + 2))?;
        let Some(label) = record.get(score).and_then(number) else {
            continue;
        };
        items.push(Rated {
            id: id
                .and_then(|i| record.get(i))
                .map_or_else(|| format!("row{}", row + 2), str::to_owned),
            transcript: single_turn("en", record.get(text).unwrap_or("")),
            label,
        });
    }
    Ok(Items::Rated(items))
}

/// STIF (Indonesian informal → formal): `<split>.inf` and `<split>.for`,
/// line-aligned; the formal rewrite must score higher than the original.
pub fn stif(dir: &Path, split: &str) -> anyhow::Result<Items> {
    let informal = read_text(&dir.join(format!("{split}.inf")))?;
    let formal = read_text(&dir.join(format!("{split}.for")))?;
    let (informal, formal): (Vec<&str>, Vec<&str>) =
        (informal.lines().collect(), formal.lines().collect());
    if informal.len() != formal.len() {
        bail!(
            "{}: {split}.inf has {} lines but {split}.for has {}",
            dir.display(),
            informal.len(),
            formal.len()
        );
    }
    let pairs = informal
        .iter()
        .zip(&formal)
        .enumerate()
        .filter(|(_, (i, f))| !i.trim().is_empty() && !f.trim().is_empty())
        .map(|(n, (i, f))| Paired {
            id: format!("{split}:{}", n + 1),
            better: single_turn("id", f),
            worse: single_turn("id", i),
            criterion: None,
        })
        .collect();
    Ok(Items::Paired(pairs))
}

/// Pavlick & Tetreault (2016) formality ratings: tab-separated mean rating,
/// individual ratings, id, sentence; one file or a folder of them.
pub fn formality(path: &Path) -> anyhow::Result<Items> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && ["answers", "blog", "email", "news"]
                        .iter()
                        .any(|n| p.file_name().is_some_and(|f| f == *n))
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut items = Vec::new();
    for file in files {
        let text = read_text(&file)?;
        for line in text.lines() {
            let fields: Vec<&str> = line.splitn(4, '\t').collect();
            let [mean, _, id, sentence] = fields.as_slice() else {
                continue;
            };
            if let Some(label) = number(mean) {
                items.push(Rated {
                    id: (*id).to_owned(),
                    transcript: single_turn("en", sentence),
                    label,
                });
            }
        }
    }
    Ok(Items::Rated(items))
}

/// ESConv (`ESConv.json`): each conversation a call, the seeker as the
/// customer and the supporter as the agent, labelled with the seeker's
/// rating of the supporter's empathy.
pub fn esconv(path: &Path) -> anyhow::Result<Items> {
    let text = read_text(path)?;
    let conversations: Vec<serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON list of conversations", path.display()))?;
    let mut items = Vec::new();
    for (n, conversation) in conversations.iter().enumerate() {
        let label = conversation["survey_score"]["seeker"]["empathy"]
            .as_str()
            .and_then(number)
            .or_else(|| conversation["survey_score"]["seeker"]["empathy"].as_f64());
        let Some(label) = label else { continue };
        let Some(dialog) = conversation["dialog"].as_array() else {
            continue;
        };
        let turns: Vec<(Speaker, &str)> = dialog
            .iter()
            .filter_map(|turn| {
                let speaker = match turn["speaker"].as_str()? {
                    "seeker" | "usr" => Speaker::Customer,
                    _ => Speaker::Agent,
                };
                Some((speaker, turn["content"].as_str()?))
            })
            .collect();
        items.push(Rated {
            id: format!("conversation:{n}"),
            transcript: transcript("en", &turns),
            label,
        });
    }
    Ok(Items::Rated(items))
}

/// EPITOME-style files (`sp_id,rp_id,seeker_post,response_post,level`): a
/// reply to a post, labelled with the level (0-2); with several files (one
/// per mechanism) the levels of one reply are summed (0-6).
pub fn epitome(paths: &[PathBuf]) -> anyhow::Result<Items> {
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut levels: HashMap<String, f64> = HashMap::new();
    for path in paths {
        let mut reader = csv_reader(path, false)?;
        let headers = reader.headers()?.clone();
        let sp = column(&headers, path, &["sp_id"])?;
        let rp = column(&headers, path, &["rp_id"])?;
        let post = column(&headers, path, &["seeker_post"])?;
        let response = column(&headers, path, &["response_post"])?;
        let level = column(&headers, path, &["level"])?;
        for record in reader.records() {
            let record = record.with_context(|| format!("{}: bad row", path.display()))?;
            let key = format!(
                "{}/{}",
                record.get(sp).unwrap_or(""),
                record.get(rp).unwrap_or("")
            );
            let Some(value) = record.get(level).and_then(number) else {
                continue;
            };
            if !levels.contains_key(&key) {
                order.push((
                    key.clone(),
                    record.get(post).unwrap_or("").to_owned(),
                    record.get(response).unwrap_or("").to_owned(),
                ));
            }
            *levels.entry(key).or_insert(0.0) += value;
        }
    }
    let items = order
        .into_iter()
        .map(|(key, post, response)| Rated {
            label: levels.get(&key).copied().unwrap_or(0.0),
            transcript: reply("en", &post, &response),
            id: key,
        })
        .collect();
    Ok(Items::Rated(items))
}

/// One WASSA conversation turn with who spoke it.
struct WassaTurn {
    conversation: String,
    turn: i64,
    person: String,
    text: String,
    empathy: Option<f64>,
}

fn wassa_turns(path: &Path) -> anyhow::Result<Vec<WassaTurn>> {
    let mut reader = csv_reader(path, true)?;
    let headers = reader.headers()?.clone();
    let conversation = column(&headers, path, &["conversation_id"])?;
    let turn = column(&headers, path, &["turn_id"])?;
    let text = column(&headers, path, &["text"])?;
    let empathy = column(&headers, path, &["Empathy"]).ok();
    let speaker = column(&headers, path, &["speaker", "speaker_id"])?;
    let first = column(&headers, path, &["person_id_1"]).ok();
    let second = column(&headers, path, &["person_id_2"]).ok();
    let mut turns = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{}: bad row", path.display()))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        // "Person 1"/"Person 2" name the pair's first and second person ids.
        let person = match field(speaker).as_str() {
            "Person 1" => first.map(field).unwrap_or_default(),
            "Person 2" => second.map(field).unwrap_or_default(),
            other => other.to_owned(),
        };
        turns.push(WassaTurn {
            conversation: field(conversation),
            turn: field(turn).parse().unwrap_or(0),
            person,
            text: field(text),
            empathy: empathy.and_then(|i| record.get(i)).and_then(number),
        });
    }
    turns.sort_by(|a, b| {
        a.conversation
            .cmp(&b.conversation)
            .then(a.turn.cmp(&b.turn))
    });
    Ok(turns)
}

/// WASSA 2024 turn-level empathy (`trac2_CONVT_*.csv`): each rated turn as
/// the agent's reply to the turn before it, labelled 0-5 by annotators.
pub fn wassa_turns_items(path: &Path) -> anyhow::Result<Items> {
    let turns = wassa_turns(path)?;
    let mut items = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        let Some(label) = turn.empathy else { continue };
        let previous = i
            .checked_sub(1)
            .map(|p| &turns[p])
            .filter(|p| p.conversation == turn.conversation);
        let transcript = match previous {
            Some(p) => reply("en", &p.text, &turn.text),
            None => single_turn("en", &turn.text),
        };
        items.push(Rated {
            id: format!("{}:{}", turn.conversation, turn.turn),
            transcript,
            label,
        });
    }
    Ok(Items::Rated(items))
}

/// WASSA 2024 perceived empathy (`trac1_CONVD_*.csv` with the matching
/// `trac2_CONVT_*.csv`): the whole conversation, the rated partner as the
/// agent and the rater as the customer, labelled 1-7 by the rater.
pub fn wassa_conversations(ratings: &Path, turns: &Path) -> anyhow::Result<Items> {
    let turns = wassa_turns(turns)?;
    let mut by_conversation: HashMap<&str, Vec<&WassaTurn>> = HashMap::new();
    for turn in &turns {
        by_conversation
            .entry(&turn.conversation)
            .or_default()
            .push(turn);
    }
    let mut reader = csv_reader(ratings, true)?;
    let headers = reader.headers()?.clone();
    let conversation = column(&headers, ratings, &["conversation_id"])?;
    let rater = column(&headers, ratings, &["person_id_1", "person_id"])?;
    let rating = column(
        &headers,
        ratings,
        &["this_persons_perceived_empathy_of_other_person"],
    )?;
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{}: bad row", ratings.display()))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        let (id, who) = (field(conversation), field(rater));
        let Some(label) = number(&field(rating)).filter(|v| (1.0..=7.0).contains(v)) else {
            continue;
        };
        let Some(turns) = by_conversation.get(id.as_str()) else {
            continue;
        };
        let spoken: Vec<(Speaker, &str)> = turns
            .iter()
            .map(|t| {
                let speaker = if t.person == who {
                    Speaker::Customer
                } else {
                    Speaker::Agent
                };
                (speaker, t.text.as_str())
            })
            .collect();
        items.push(Rated {
            id: format!("{id}:{who}"),
            transcript: transcript("en", &spoken),
            label,
        });
    }
    Ok(Items::Rated(items))
}

/// Kumar et al. (2025) expert ratings of EmpatheticDialogues conversations:
/// `original_data/sample_empatheticdialogues.csv` ("Seeker:"/"Supporter:"
/// lines) with the mean of `annotations/empatheticdialogues/expert*_ratings.csv`.
pub fn empathy_judging(dir: &Path) -> anyhow::Result<Items> {
    let mut ratings: HashMap<String, Vec<f64>> = HashMap::new();
    for expert in 1..=3 {
        let path = dir.join(format!(
            "annotations/empatheticdialogues/expert{expert}_ratings.csv"
        ));
        let mut reader = csv_reader(&path, false)?;
        let headers = reader.headers()?.clone();
        let id = column(&headers, &path, &["conv_id"])?;
        let empathy = column(&headers, &path, &["empathy"])?;
        for record in reader.records() {
            let record = record?;
            if let (Some(key), Some(value)) = (record.get(id), record.get(empathy).and_then(number))
            {
                ratings.entry(key.to_owned()).or_default().push(value);
            }
        }
    }
    let path = dir.join("original_data/sample_empatheticdialogues.csv");
    let mut reader = csv_reader(&path, false)?;
    let headers = reader.headers()?.clone();
    let id = column(&headers, &path, &["conv_id"])?;
    let full = column(&headers, &path, &["full_conversation"])?;
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record?;
        let key = record.get(id).unwrap_or("").to_owned();
        let Some(values) = ratings.get(&key) else {
            continue;
        };
        if !seen.insert(key.clone()) {
            continue;
        }
        let text = record.get(full).unwrap_or("").replace("_comma_", ",");
        let turns: Vec<(Speaker, String)> = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("Seeker:") {
                    Some((Speaker::Customer, rest.trim().to_owned()))
                } else {
                    line.strip_prefix("Supporter:")
                        .map(|rest| (Speaker::Agent, rest.trim().to_owned()))
                }
            })
            .collect();
        let borrowed: Vec<(Speaker, &str)> = turns.iter().map(|(s, t)| (*s, t.as_str())).collect();
        items.push(Rated {
            id: key,
            transcript: transcript("en", &borrowed),
            label: values.iter().sum::<f64>() / values.len() as f64,
        });
    }
    Ok(Items::Rated(items))
}

/// The scripted pairs (tests/fixtures/pairs): good and bad variants of one
/// call, each naming the criterion that must rank them.
pub fn scripted_pairs(dir: &Path) -> anyhow::Result<Items> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut pairs = Vec::new();
    for path in files {
        let doc: serde_json::Value = serde_json::from_str(&read_text(&path)?)
            .with_context(|| format!("{}: not JSON", path.display()))?;
        let variant = |key: &str| {
            Transcript::from_exchange_json(&doc[key].to_string())
                .map_err(|e| anyhow::anyhow!("{}: {key}: {e}", path.display()))
        };
        pairs.push(Paired {
            id: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            better: variant("good")?,
            worse: variant("bad")?,
            criterion: doc["criterion"].as_str().map(str::to_owned),
        });
    }
    Ok(Items::Paired(pairs))
}

/// Any CSV: a text column, a numeric label column, and optionally the post
/// it replies to.
pub fn generic_csv(
    path: &Path,
    text_column: &str,
    label_column: &str,
    context_column: Option<&str>,
    language: &str,
) -> anyhow::Result<Items> {
    let mut reader = csv_reader(path, false)?;
    let headers = reader.headers()?.clone();
    let text = column(&headers, path, &[text_column])?;
    let label = column(&headers, path, &[label_column])?;
    let context = context_column
        .map(|c| column(&headers, path, &[c]))
        .transpose()?;
    let mut items = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), row + 2))?;
        let Some(value) = record.get(label).and_then(number) else {
            continue;
        };
        let body = record.get(text).unwrap_or("");
        let transcript = match context.and_then(|c| record.get(c)) {
            Some(post) => reply(language, post, body),
            None => single_turn(language, body),
        };
        items.push(Rated {
            id: format!("row{}", row + 2),
            transcript,
            label: value,
        });
    }
    Ok(Items::Rated(items))
}

/// What an iEval conversation is labelled with: the rater's own 1-5 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IevalRating {
    /// The mean of "the bot understood my emotions" (EU) and "responded to
    /// my emotions appropriately" (ER).
    Empathy,
    /// "The bot was polite" (P).
    Politeness,
}

/// iEval (Svikhnushina et al. 2022, `ieval_data.json`): people who chatted
/// with four chatbots about an emotional situation rated each chat. Every
/// rated chat is a call, the person as the customer (the first line) and the
/// bot as the agent (lines alternate), labelled with the chosen rating.
pub fn ieval(path: &Path, rating: IevalRating) -> anyhow::Result<Items> {
    let text = read_text(path)?;
    let tasks: Vec<serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON list of iEval tasks", path.display()))?;
    let mut items = Vec::new();
    for (n, task) in tasks.iter().enumerate() {
        let Some(task) = task.as_object() else {
            bail!("{}: task {n} is not a JSON object", path.display());
        };
        for (polarity, dialogue) in task {
            let Some(bots) = dialogue.as_object() else {
                continue;
            };
            for (bot, chat) in bots {
                let Some(log) = chat["chat_log"].as_str() else {
                    continue;
                };
                let label = match rating {
                    IevalRating::Empathy => chat["EU"]
                        .as_f64()
                        .zip(chat["ER"].as_f64())
                        .map(|(eu, er)| (eu + er) / 2.0),
                    IevalRating::Politeness => chat["P"].as_f64(),
                };
                let Some(label) = label else { continue };
                let lines: Vec<String> = log
                    .lines()
                    .map(|line| detokenize(line.trim().trim_start_matches('-').trim()))
                    .filter(|line| !line.is_empty())
                    .collect();
                let turns: Vec<(Speaker, &str)> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, line)| {
                        let speaker = if i % 2 == 0 {
                            Speaker::Customer
                        } else {
                            Speaker::Agent
                        };
                        (speaker, line.as_str())
                    })
                    .collect();
                items.push(Rated {
                    id: format!("task{n}:{polarity}:{bot}"),
                    transcript: transcript("en", &turns),
                    label,
                });
            }
        }
    }
    if items.is_empty() {
        bail!(
            "{}: no rated chats (chat_log with EU, ER and P)",
            path.display()
        );
    }
    Ok(Items::Rated(items))
}

/// What an AnnoMI item is: a whole session or one counsellor utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnnomiLevel {
    /// Each session as a call, labelled 1 for high-quality motivational
    /// interviewing and 0 for low.
    Conversation,
    /// Each counsellor utterance as a reply to the client's utterance before
    /// it, labelled 1 when the experts coded it a reflection.
    Utterance,
}

/// One AnnoMI utterance, as the CSV holds it.
struct AnnomiUtterance {
    session: String,
    order: u64,
    high_quality: bool,
    counsellor: bool,
    reflection: bool,
    text: String,
}

/// AnnoMI (Wu et al. 2022, `AnnoMI-simple.csv` or `AnnoMI-full.csv`): 133
/// transcribed demonstrations of high- and low-quality motivational
/// interviewing, each utterance coded by experts. The counsellor is the
/// agent, the client the customer; the full file's repeated annotations of
/// one utterance are read once.
pub fn annomi(path: &Path, level: AnnomiLevel) -> anyhow::Result<Items> {
    let mut reader = csv_reader(path, false)?;
    let headers = reader.headers()?.clone();
    let session = column(&headers, path, &["transcript_id"])?;
    let quality = column(&headers, path, &["mi_quality"])?;
    let order = column(&headers, path, &["utterance_id"])?;
    let speaker = column(&headers, path, &["interlocutor"])?;
    let text = column(&headers, path, &["utterance_text"])?;
    let behaviour = column(&headers, path, &["main_therapist_behaviour"])?;
    let mut seen = std::collections::HashSet::new();
    let mut utterances = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), row + 2))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let Some(position) = field(order).parse::<u64>().ok() else {
            bail!(
                "{}: row {}: utterance_id {:?} is not a number",
                path.display(),
                row + 2,
                field(order)
            );
        };
        if !seen.insert((field(session).to_owned(), position)) {
            continue;
        }
        utterances.push(AnnomiUtterance {
            session: field(session).to_owned(),
            order: position,
            high_quality: field(quality) == "high",
            counsellor: field(speaker) == "therapist",
            reflection: field(behaviour) == "reflection",
            text: field(text).to_owned(),
        });
    }
    if utterances.is_empty() {
        bail!("{}: no utterances", path.display());
    }
    let mut sessions: std::collections::BTreeMap<&str, Vec<&AnnomiUtterance>> =
        std::collections::BTreeMap::new();
    for u in &utterances {
        sessions.entry(u.session.as_str()).or_default().push(u);
    }
    let mut items = Vec::new();
    for (id, mut session) in sessions {
        session.sort_by_key(|u| u.order);
        let speaker = |u: &AnnomiUtterance| {
            if u.counsellor {
                Speaker::Agent
            } else {
                Speaker::Customer
            }
        };
        match level {
            AnnomiLevel::Conversation => {
                let turns: Vec<(Speaker, &str)> = session
                    .iter()
                    .map(|u| (speaker(u), u.text.as_str()))
                    .collect();
                items.push(Rated {
                    id: format!("session:{id}"),
                    transcript: transcript("en", &turns),
                    label: if session[0].high_quality { 1.0 } else { 0.0 },
                });
            }
            AnnomiLevel::Utterance => {
                let mut before: Option<&str> = None;
                for u in &session {
                    if !u.counsellor {
                        before = Some(u.text.as_str());
                        continue;
                    }
                    let call = match before.take() {
                        Some(post) => reply("en", post, &u.text),
                        None => single_turn("en", &u.text),
                    };
                    items.push(Rated {
                        id: format!("session:{id}:{}", u.order),
                        transcript: call,
                        label: if u.reflection { 1.0 } else { 0.0 },
                    });
                }
            }
        }
    }
    Ok(Items::Rated(items))
}

/// Undoes the tokenised spacing of the bots' lines ("that ' s great !"),
/// so that contractions and sentence ends read as a person would write them.
fn detokenize(line: &str) -> String {
    let mut out = line
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" ,", ",")
        .replace(" .", ".")
        .replace(" !", "!")
        .replace(" ?", "?");
    // A line that ended in " '" (a closing quote) keeps it attached.
    if out.ends_with(" '") {
        out.truncate(out.len() - 2);
        out.push('\'');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An iEval task of the published shape, written here (not from the corpus).
    const IEVAL_TASK: &str = r#"[{"part": 0, "TEQ_agg": 40,
      "negative": {"conv_id": "c1", "emotion": "sad", "prompt": "p",
        "Pink": {"chat_log": "- my dog died last week\n- i ' m so sorry to hear that . how are you holding up ?\n- not great", "P": 5, "EU": 4, "ER": 5},
        "Green": {"chat_log": "- my dog died last week\n- what kind of dog ?", "P": 3, "EU": 1, "ER": 2}}}]"#;

    #[test]
    fn ieval_chats_become_calls_with_the_chosen_rating() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ieval_data.json");
        std::fs::write(&path, IEVAL_TASK).expect("write");
        let Items::Rated(items) = ieval(&path, IevalRating::Empathy).expect("reads") else {
            panic!("rated items expected");
        };
        assert_eq!(items.len(), 2);
        let pink = items
            .iter()
            .find(|i| i.id == "task0:negative:Pink")
            .expect("pink chat");
        assert_eq!(pink.label, 4.5);
        let turns: Vec<(Speaker, &str)> = pink
            .transcript
            .segments
            .iter()
            .map(|s| (s.speaker, s.text.as_str()))
            .collect();
        assert_eq!(
            turns,
            [
                (Speaker::Customer, "my dog died last week"),
                (
                    Speaker::Agent,
                    "i'm so sorry to hear that. how are you holding up?"
                ),
                (Speaker::Customer, "not great"),
            ]
        );
        let Items::Rated(polite) = ieval(&path, IevalRating::Politeness).expect("reads") else {
            panic!("rated items expected");
        };
        let green = polite
            .iter()
            .find(|i| i.id.ends_with("Green"))
            .expect("green");
        assert_eq!(green.label, 3.0);
    }

    /// AnnoMI rows of the published shape, written here (not from the corpus).
    const ANNOMI_ROWS: &str = "transcript_id,mi_quality,video_title,video_url,topic,utterance_id,interlocutor,timestamp,utterance_text,main_therapist_behaviour,client_talk_type
7,high,t,u,smoking,0,therapist,00:00:01,What brings you in today?,question,n/a
7,high,t,u,smoking,1,client,00:00:04,My wife keeps nagging me about the cigarettes.,n/a,neutral
7,high,t,u,smoking,2,therapist,00:00:09,So it feels like everyone is on your back about it.,reflection,n/a
7,high,t,u,smoking,2,therapist,00:00:09,So it feels like everyone is on your back about it.,reflection,n/a
3,low,t,u,smoking,0,therapist,00:00:02,You need to quit.,therapist_input,n/a
";

    #[test]
    fn annomi_sessions_and_utterances_become_calls() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("AnnoMI-full.csv");
        std::fs::write(&path, ANNOMI_ROWS).expect("write");
        let Items::Rated(sessions) = annomi(&path, AnnomiLevel::Conversation).expect("reads")
        else {
            panic!("rated items expected");
        };
        let labels: Vec<(&str, f64, usize)> = sessions
            .iter()
            .map(|i| (i.id.as_str(), i.label, i.transcript.segments.len()))
            .collect();
        // The repeated annotation of utterance 2 is read once.
        assert_eq!(labels, [("session:3", 0.0, 1), ("session:7", 1.0, 3)]);
        let Items::Rated(utterances) = annomi(&path, AnnomiLevel::Utterance).expect("reads") else {
            panic!("rated items expected");
        };
        let reflection = utterances
            .iter()
            .find(|i| i.id == "session:7:2")
            .expect("the reflection");
        assert_eq!(reflection.label, 1.0);
        let turns: Vec<Speaker> = reflection
            .transcript
            .segments
            .iter()
            .map(|s| s.speaker)
            .collect();
        assert_eq!(turns, [Speaker::Customer, Speaker::Agent]);
        assert_eq!(utterances.len(), 3);
        assert!(utterances.iter().filter(|i| i.label == 0.0).count() == 2);
    }

    #[test]
    fn an_annomi_file_without_its_columns_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("not-annomi.csv");
        std::fs::write(&path, "a,b\n1,2\n").expect("write");
        let error = annomi(&path, AnnomiLevel::Conversation).expect_err("refused");
        assert!(error.to_string().contains("not-annomi.csv"), "{error}");
    }

    #[test]
    fn a_file_without_rated_chats_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("other.json");
        std::fs::write(&path, r#"[{"part": 1}]"#).expect("write");
        let error = ieval(&path, IevalRating::Empathy).expect_err("refused");
        assert!(error.to_string().contains("other.json"), "{error}");
    }
}
