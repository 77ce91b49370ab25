//! `callscore eval CORPUS PATH`: scores human-labelled material with a
//! rubric and prints the agreement figures (docs/eval.md). A measuring tool,
//! not a test: the corpora live outside the repository.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::eval::{self, corpus};

use super::score::{load_encoder, load_rubric};

/// Arguments of `callscore eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    corpus: Corpus,
    /// A rubric file (YAML or JSON); the built-in default rubric when absent.
    #[arg(long, global = true)]
    rubric: Option<PathBuf>,
    /// The criterion whose score is compared with the labels (each corpus
    /// has a default: professionalism for politeness and formality, empathy
    /// for empathy).
    #[arg(long, global = true)]
    criterion: Option<String>,
    /// The graded check whose fraction is also compared (each corpus has a
    /// default: courtesy for politeness, formal_register for formality and
    /// STIF, empathic_responses for empathy).
    #[arg(long, global = true)]
    check: Option<String>,
    /// Write one JSON line per scored item (id, label, scores, cues) here.
    #[arg(long, global = true)]
    items: Option<PathBuf>,
    /// Score without the sentence encoder even when it is installed.
    #[arg(long, global = true)]
    without_encoder: bool,
}

#[derive(Debug, Subcommand)]
enum Corpus {
    /// Stanford Politeness Corpus CSV (Request, Normalized Score).
    Politeness {
        /// `stack-exchange.annotated.csv` or `wikipedia.annotated.csv`.
        file: PathBuf,
    },
    /// STIF Indonesian informal/formal pairs: DIR/SPLIT.inf and DIR/SPLIT.for.
    Stif {
        /// The folder holding the split files.
        dir: PathBuf,
        /// Which split.
        #[arg(long, default_value = "dev")]
        split: String,
    },
    /// Pavlick & Tetreault (2016) formality ratings (a file, or the folder of them).
    Formality {
        /// `answers`, `blog`, `email`, `news`, or their folder.
        path: PathBuf,
    },
    /// ESConv conversations with the seeker's empathy rating (ESConv.json).
    Esconv {
        /// `ESConv.json`.
        file: PathBuf,
    },
    /// EPITOME-style replies (sp_id, rp_id, seeker_post, response_post, level);
    /// several files (one per mechanism) are summed per reply.
    Epitome {
        /// One or more CSV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// WASSA 2024 turn-level empathy (trac2_CONVT_*.csv).
    WassaTurns {
        /// The turns file.
        file: PathBuf,
    },
    /// WASSA 2024 perceived empathy of the partner (trac1_CONVD_*.csv with trac2_CONVT_*.csv).
    WassaConversations {
        /// The ratings file.
        ratings: PathBuf,
        /// The matching turns file.
        turns: PathBuf,
    },
    /// Kumar et al. (2025) expert empathy ratings of EmpatheticDialogues conversations.
    EmpathyJudging {
        /// The replication folder (original_data/, annotations/).
        dir: PathBuf,
    },
    /// iEval (Svikhnushina et al. 2022): chats with four chatbots, each rated
    /// by the person who chatted.
    Ieval {
        /// `ieval_data.json`.
        file: PathBuf,
        /// Which rating is the label: empathy (the mean of "understood my
        /// emotions" and "responded to them appropriately") or politeness.
        #[arg(long, value_enum, default_value = "empathy")]
        rating: corpus::IevalRating,
    },
    /// AnnoMI (Wu et al. 2022): expert-coded demonstrations of high- and
    /// low-quality motivational interviewing.
    Annomi {
        /// `AnnoMI-simple.csv` or `AnnoMI-full.csv`.
        file: PathBuf,
        /// conversation: high vs low quality sessions; utterance: the
        /// counsellor's reflections vs their other utterances.
        #[arg(long, value_enum, default_value = "conversation")]
        level: corpus::AnnomiLevel,
    },
    /// The scripted good/bad call pairs (tests/fixtures/pairs).
    Pairs {
        /// The pairs folder.
        dir: PathBuf,
    },
    /// Any CSV with a text column and a numeric label column.
    Csv {
        /// The file.
        file: PathBuf,
        /// The text column.
        #[arg(long)]
        text: String,
        /// The label column (higher is better).
        #[arg(long)]
        label: String,
        /// A column holding the post the text replies to.
        #[arg(long)]
        context: Option<String>,
        /// The texts' language.
        #[arg(long, default_value = "en")]
        language: String,
    },
}

impl EvalArgs {
    /// Runs the harness and prints its figures.
    pub fn run(self) -> anyhow::Result<()> {
        let rubric = load_rubric(self.rubric.as_deref(), load_encoder(self.without_encoder))?;
        let (name, default_criterion, items) = match &self.corpus {
            Corpus::Politeness { file } => {
                ("politeness", "professionalism", corpus::politeness(file)?)
            }
            Corpus::Stif { dir, split } => ("stif", "professionalism", corpus::stif(dir, split)?),
            Corpus::Formality { path } => {
                ("formality", "professionalism", corpus::formality(path)?)
            }
            Corpus::Esconv { file } => ("esconv", "empathy", corpus::esconv(file)?),
            Corpus::Epitome { files } => ("epitome", "empathy", corpus::epitome(files)?),
            Corpus::WassaTurns { file } => {
                ("wassa-turns", "empathy", corpus::wassa_turns_items(file)?)
            }
            Corpus::WassaConversations { ratings, turns } => (
                "wassa-conversations",
                "empathy",
                corpus::wassa_conversations(ratings, turns)?,
            ),
            Corpus::EmpathyJudging { dir } => {
                ("empathy-judging", "empathy", corpus::empathy_judging(dir)?)
            }
            Corpus::Ieval { file, rating } => {
                let (name, criterion) = match rating {
                    corpus::IevalRating::Empathy => ("ieval", "empathy"),
                    corpus::IevalRating::Politeness => ("ieval-politeness", "professionalism"),
                };
                (name, criterion, corpus::ieval(file, *rating)?)
            }
            Corpus::Annomi { file, level } => {
                let name = match level {
                    corpus::AnnomiLevel::Conversation => "annomi",
                    corpus::AnnomiLevel::Utterance => "annomi-reflections",
                };
                (name, "empathy", corpus::annomi(file, *level)?)
            }
            Corpus::Pairs { dir } => ("pairs", "overall", corpus::scripted_pairs(dir)?),
            Corpus::Csv {
                file,
                text,
                label,
                context,
                language,
            } => (
                "csv",
                "professionalism",
                corpus::generic_csv(file, text, label, context.as_deref(), language)?,
            ),
        };
        let criterion = self.criterion.as_deref().unwrap_or(default_criterion);
        let default_check = match name {
            "politeness" | "ieval-politeness" => Some("courtesy"),
            "formality" | "stif" => Some("formal_register"),
            "csv" | "pairs" => None,
            _ => Some("empathic_responses"),
        };
        // A corpus's default check belongs to its default criterion only.
        let check = match (&self.check, &self.criterion) {
            (Some(check), _) => Some(check.as_str()),
            (None, None) => default_check,
            (None, Some(_)) => None,
        };
        let mut out_file = match &self.items {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => None,
        };
        let report = eval::run(
            &rubric,
            name,
            items,
            criterion,
            check,
            out_file.as_mut().map(|f| f as &mut dyn std::io::Write),
        )?;
        let encoder = rubric.encoder.as_ref().map_or("none", |e| e.id());
        println!("{report}encoder: {encoder}");
        Ok(())
    }
}
