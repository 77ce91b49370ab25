//! Token bytes from CTranslate2's `vocabulary.txt`, which spells each token
//! with GPT-2's byte-to-unicode table ("Ġthe" is " the").

use std::collections::HashMap;

/// The special token that ends the text vocabulary; whisper.cpp synthesises
/// it and every token after it.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// Raw bytes of every text token (ids below `<|endoftext|>`), in id order.
pub fn text_tokens(vocabulary: &str) -> Result<Vec<Vec<u8>>, String> {
    let table = unicode_to_byte();
    let lines: Vec<&str> = vocabulary.lines().collect();
    let end = lines
        .iter()
        .position(|line| *line == END_OF_TEXT)
        .ok_or_else(|| format!("vocabulary has no {END_OF_TEXT}"))?;
    Ok(lines[..end]
        .iter()
        .map(|token| {
            token
                .chars()
                .map(|c| table.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                // A token outside the table is written as it is spelled.
                .unwrap_or_else(|| token.as_bytes().to_vec())
        })
        .collect())
}

/// GPT-2's `bytes_to_unicode`, inverted: printable bytes map to themselves,
/// the others to code points from 256 up, in byte order.
fn unicode_to_byte() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut table = HashMap::with_capacity(256);
    let mut next = 256u32;
    for byte in 0..=255u8 {
        let code = if printable(byte) {
            u32::from(byte)
        } else {
            next += 1;
            next - 1
        };
        if let Some(c) = char::from_u32(code) {
            table.insert(c, byte);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_gpt2_byte_level_spelling() {
        let vocabulary = "!\nĠthe\nĊ\nÃ©\n<|endoftext|>\n<|startoftranscript|>\n";
        let tokens = text_tokens(vocabulary).expect("has end of text");
        assert_eq!(
            tokens,
            vec![
                b"!".to_vec(),
                b" the".to_vec(),
                b"\n".to_vec(),
                "é".as_bytes().to_vec()
            ]
        );
    }
}
