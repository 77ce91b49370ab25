//! Word error rate after normalising case, punctuation and numbers.

/// Word error rate of `hypothesis` against `reference`: word edit distance
/// divided by the reference length, after [`normalise`].
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    assert!(!r.is_empty(), "empty reference");
    edit_distance(&r, &h) as f64 / r.len() as f64
}

/// Lower-case words without punctuation; bracketed annotations dropped;
/// numbers spelled out ("3" → "three", "25" → "twenty five").
pub fn normalise(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            // Apostrophes join ("didn't" = "didnt"); other punctuation separates.
            '\'' | '’' => {}
            c if c.is_alphanumeric() => cleaned.extend(c.to_lowercase()),
            _ => cleaned.push(' '),
        }
    }
    cleaned
        .split_whitespace()
        .flat_map(|word| match word.parse::<u64>() {
            Ok(n) if n < 1_000_000 => spell(n),
            _ => vec![word.to_string()],
        })
        .collect()
}

/// English words for a number below a million.
pub fn spell(n: u64) -> Vec<String> {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let mut words = Vec::new();
    let push_below_thousand = |n: u64, words: &mut Vec<String>| {
        if n >= 100 {
            words.push(ONES[(n / 100) as usize].to_string());
            words.push("hundred".to_string());
        }
        let rest = n % 100;
        if rest >= 20 {
            words.push(TENS[(rest / 10) as usize].to_string());
            if !rest.is_multiple_of(10) {
                words.push(ONES[(rest % 10) as usize].to_string());
            }
        } else if rest > 0 || n == 0 {
            words.push(ONES[rest as usize].to_string());
        }
    };
    if n >= 1000 {
        push_below_thousand(n / 1000, &mut words);
        words.push("thousand".to_string());
        if !n.is_multiple_of(1000) {
            push_below_thousand(n % 1000, &mut words);
        }
    } else {
        push_below_thousand(n, &mut words);
    }
    words
}

/// Levenshtein distance over words.
fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}
