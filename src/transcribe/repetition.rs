//! Repetition suppression: Whisper's best-known failure on noise and long
//! pauses is looping on a phrase. Loops are collapsed after decoding.

/// Longest phrase (in words) checked for immediate repetition.
const MAX_PHRASE: usize = 8;
/// Repeats of a phrase kept before the rest are dropped.
const KEEP_REPEATS: usize = 2;

/// Collapses a phrase repeated back to back more than [`KEEP_REPEATS`] times.
pub fn collapse_loops(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let mut skipped = false;
        for n in 1..=MAX_PHRASE.min((words.len() - i) / (KEEP_REPEATS + 1)) {
            let phrase = &words[i..i + n];
            let mut repeats = 1;
            while i + (repeats + 1) * n <= words.len()
                && same(&words[i + repeats * n..i + (repeats + 1) * n], phrase)
            {
                repeats += 1;
            }
            if repeats > KEEP_REPEATS {
                out.extend_from_slice(&words[i..i + KEEP_REPEATS * n]);
                i += repeats * n;
                skipped = true;
                break;
            }
        }
        if !skipped {
            out.push(words[i]);
            i += 1;
        }
    }
    out.join(" ")
}

/// Compares phrases ignoring case and trailing punctuation.
fn same(a: &[&str], b: &[&str]) -> bool {
    let norm = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    a.iter().zip(b).all(|(x, y)| norm(x) == norm(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_looping_phrases() {
        assert_eq!(
            collapse_loops("thank you. thank you. thank you. thank you. bye"),
            "thank you. thank you. bye"
        );
        assert_eq!(collapse_loops("no no no no no"), "no no");
    }

    #[test]
    fn keeps_ordinary_text() {
        let text = "ask not what your country can do for you, ask what you can do";
        assert_eq!(collapse_loops(text), text);
        assert_eq!(collapse_loops("very very good"), "very very good");
    }
}
