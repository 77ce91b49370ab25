//! Page sizes and opaque page tokens shared by every List RPC.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tonic::Status;

use super::status::invalid;

/// Page size when the request leaves it at 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Larger requests are cut to this.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Tokens carry a version so their format can change without confusing old clients.
const TOKEN_PREFIX: &str = "v1:";

/// The page size to use, or `INVALID_ARGUMENT` for a negative one.
pub fn page_size(requested: i32) -> Result<u32, Status> {
    match requested {
        ..0 => Err(invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        size => Ok(u32::try_from(size)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE)),
    }
}

/// Wraps a cursor (the last key of a page) as an opaque token.
pub fn encode_token(cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{cursor}"))
}

/// The cursor inside a token; `None` for the first page.
pub fn decode_token(token: &str) -> Result<Option<String>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    let malformed = || {
        invalid(
            "page_token",
            "malformed; pass back a next_page_token unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    text.strip_prefix(TOKEN_PREFIX)
        .map(|cursor| Some(cursor.to_string()))
        .ok_or_else(malformed)
}

/// A cursor of (time, id) as an opaque token.
pub fn encode_time_cursor(time_ms: i64, id: &str) -> String {
    encode_token(&format!("{time_ms}:{id}"))
}

/// The (time, id) cursor inside a token; `None` for the first page.
pub fn decode_time_cursor(token: &str) -> Result<Option<(i64, String)>, Status> {
    let Some(cursor) = decode_token(token)? else {
        return Ok(None);
    };
    let malformed = || {
        invalid(
            "page_token",
            "malformed; pass back a next_page_token unchanged",
        )
    };
    let (time, id) = cursor.split_once(':').ok_or_else(malformed)?;
    let time = time.parse().map_err(|_| malformed())?;
    Ok(Some((time, id.to_string())))
}

/// Trims a page fetched with one extra row and returns the next token, made
/// from the last kept row by `cursor`.
pub fn finish_page<T>(rows: &mut Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> String {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(cursor).unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let token = encode_token("rubric-7");
        assert_eq!(
            decode_token(&token).ok().flatten().as_deref(),
            Some("rubric-7")
        );
        assert_eq!(decode_token("").ok(), Some(None));
        assert!(decode_token("!!!").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("v0:x")).is_err());
    }

    #[test]
    fn sizes_are_defaulted_and_capped() {
        assert_eq!(page_size(0).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(10_000).ok(), Some(MAX_PAGE_SIZE));
        assert!(page_size(-1).is_err());
    }
}
