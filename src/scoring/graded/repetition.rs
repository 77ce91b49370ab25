//! An agent who asks again what it asked in its previous turn, after the
//! customer answered: the answer went unheard. In the iEval chats, where a
//! bot's repeated question is the commonest such failure, it is the
//! strongest sign of low perceived empathy found (docs/eval.md).

use smallvec::SmallVec;

use super::super::analysis::Analysis;
use super::super::matcher::UNKNOWN;
use super::Turn;
use super::scope::{TokenContext, surface_hash};

/// Least share of distinct words (Jaccard) the two turns must have in
/// common: "May I have your account number?" asked twice is a repeat;
/// "Sorry, may I have your account number again?" (a clarifying re-ask)
/// shares 6 of 8 words and is not.
const MIN_OVERLAP: f64 = 0.8;

/// Longest turn compared, in tokens: a repeated question is short, and
/// this bounds the work on a long turn.
const MAX_TOKENS: usize = 48;

/// A turn's tokens, as a range of the analysis's token indices.
fn tokens(a: &Analysis<'_>, turn: &Turn) -> (usize, usize) {
    (
        a.seg_tokens[turn.first_seg].0 as usize,
        a.seg_tokens[turn.last_seg].1 as usize,
    )
}

/// Distinct values, sorted, of a short sequence.
fn distinct<T: Ord + Copy>(values: impl Iterator<Item = T>) -> SmallVec<[T; MAX_TOKENS]> {
    let mut v: SmallVec<[T; MAX_TOKENS]> = values.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// |a ∩ b| / |a ∪ b| of two sorted, distinct sequences.
fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Whether `turn` asks a question in nearly the words of `previous`, the
/// same speaker's turn before it, when the other speaker's words between
/// them do not end in a question. Returns the token range to quote.
pub(super) fn repeats(
    a: &Analysis<'_>,
    ctx: &TokenContext,
    previous: &Turn,
    turn: &Turn,
) -> Option<(u32, u32)> {
    let (lo, hi) = tokens(a, turn);
    let (p_lo, p_hi) = tokens(a, previous);
    let (n, m) = (hi - lo, p_hi - p_lo);
    if n == 0 || m == 0 || n.max(m) > MAX_TOKENS || n.min(m) * 2 < n.max(m) {
        return None;
    }
    if !(lo..hi).any(|t| ctx.question(t)) {
        return None;
    }
    // Asked back ("Sorry, what was that?"), the agent repeats as an answer.
    if lo > p_hi && ctx.question(lo - 1) {
        return None;
    }
    // The phrase vocabulary's ids first: cheap, and most turns differ there.
    let known = |range: std::ops::Range<usize>| {
        distinct(a.ids[range].iter().copied().filter(|&id| id != UNKNOWN))
    };
    let (k, p_k) = (known(lo..hi), known(p_lo..p_hi));
    if !k.is_empty() && !p_k.is_empty() && jaccard(&k, &p_k) < MIN_OVERLAP / 2.0 {
        return None;
    }
    // Each word of a turn, as written (lower case), segment by segment.
    let words = |turn: &Turn| {
        distinct((turn.first_seg..=turn.last_seg).flat_map(|seg| {
            let (first, last) = a.seg_tokens[seg];
            (first as usize..last as usize).map(move |t| surface_hash(ctx.surface(a, seg, t)))
        }))
    };
    let (w, p_w) = (words(turn), words(previous));
    if jaccard(&w, &p_w) < MIN_OVERLAP {
        return None;
    }
    Some((u32::try_from(lo).ok()?, u32::try_from(hi).ok()?))
}
