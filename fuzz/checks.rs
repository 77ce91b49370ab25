//! What each fuzz target checks, shared by the libFuzzer targets
//! (fuzz_targets/) and the CI smoke test (tests/fuzz_smoke.rs), which runs
//! the same checks over the committed seeds and their mutations.

use callscore::api::paging::{decode_time_cursor, decode_token, encode_time_cursor, encode_token};
use callscore::audio::{AudioInput, AudioLimits, ChannelLayout, decode_call, samples_to_ms};
use callscore::rubric::parse_rubric;
use callscore::scoring::CompiledRubric;
use callscore::transcript::Transcript;

/// The audio decoder's entry: any bytes, any channel layout, decoded with
/// the service's limits. It may refuse the input; it must not panic, abort
/// or allocate without bound (libFuzzer's -rss_limit_mb catches the last).
pub fn audio_decode(data: &[u8]) {
    let Some((&selector, audio)) = data.split_first() else {
        return;
    };
    let layout = match selector % 3 {
        0 => ChannelLayout::Mono,
        1 => ChannelLayout::AgentLeft,
        _ => ChannelLayout::AgentRight,
    };
    // Shorter than the service's default so each run stays fast; the bound
    // is enforced the same way whatever its value.
    let limits = AudioLimits {
        max_duration_s: 20.0,
    };
    let input = AudioInput::Bytes {
        name: "fuzz",
        data: audio,
    };
    if let Ok(call) = decode_call(input, layout, &limits) {
        let longest_ms = call
            .tracks
            .iter()
            .map(|track| samples_to_ms(track.samples.len()))
            .max()
            .unwrap_or(0);
        // A decoded call never exceeds the limit by more than one packet.
        assert!(
            longest_ms <= 21_000,
            "decoded {longest_ms} ms past a 20 s limit"
        );
    }
}

/// The rubric reader: any text as a YAML or JSON rubric. Whatever validates
/// must also compile for scoring (a rubric that validated and then failed
/// every call was a real bug), and hash the same twice.
pub fn rubric_read(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rubric) = parse_rubric(source) {
        if let Err(error) = CompiledRubric::compile(&rubric) {
            panic!("a rubric that validates does not compile: {error}");
        }
        assert_eq!(rubric.content_hash(), rubric.content_hash());
    }
}

/// The transcript JSON reader (SubmitTranscript's file form, `callscore
/// score`): what it accepts it writes back in a form it reads to the same
/// transcript.
pub fn transcript_json(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(transcript) = Transcript::from_exchange_json(json) {
        let written = transcript.to_exchange_json().to_string();
        let read_back = Transcript::from_exchange_json(&written)
            .unwrap_or_else(|error| panic!("own output does not read back: {error}\n{written}"));
        assert_eq!(read_back, transcript);
    }
}

/// The page-token decoders every List RPC runs on a caller's token: any
/// text is a cursor or INVALID_ARGUMENT, and every cursor the service
/// encodes decodes to itself.
pub fn page_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let refusals = [decode_token(&text).err(), decode_time_cursor(&text).err()];
    for status in refusals.into_iter().flatten() {
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
    assert_eq!(
        decode_token(&encode_token(&text)).ok(),
        Some(Some(text.to_string()))
    );
    if let Some((&first, rest)) = data.split_first() {
        let time = i64::from(first as i8) * 1_000_000_007;
        let id = String::from_utf8_lossy(rest);
        assert_eq!(
            decode_time_cursor(&encode_time_cursor(time, &id)).ok(),
            Some(Some((time, id.to_string())))
        );
    }
}
