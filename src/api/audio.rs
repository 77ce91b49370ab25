//! GetCallAudio: a call's recording for playback. Browsers play 16-bit PCM
//! WAV everywhere and can seek in it from a Blob URL, which they cannot in
//! μ-law WAV or Opus, so the default rendering is the decoded call re-encoded
//! that way; the stored bytes are also available as uploaded. Either is sent
//! in 64 KiB chunks, from a byte range when one is asked for.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::audio::wav::encode_pcm16;
use crate::audio::{AudioInput, DecodedCall, SAMPLE_RATE, decode_call};
use crate::pipeline::{Pipeline, channel_layout};
use crate::proto as pb;
use crate::store::CallRecord;

/// Bytes per streamed message.
const CHUNK_BYTES: usize = 64 * 1024;

/// A rendering of a recording: its bytes and MIME type.
pub struct Rendering {
    /// The bytes.
    pub data: Vec<u8>,
    /// MIME type, e.g. `audio/wav`.
    pub content_type: &'static str,
}

/// Reads a call's stored audio and renders it as asked.
pub async fn render(
    pipeline: &Pipeline,
    record: &CallRecord,
    rendering: pb::AudioRendering,
) -> Result<Rendering, Status> {
    if record.audio_purged_at_ms.is_some() {
        return Err(Status::failed_precondition(
            "the call's audio was deleted by the tenant's retention policy",
        ));
    }
    let Some(key) = record.call.audio_key.as_deref() else {
        return Err(Status::failed_precondition(
            "the call has no recording: it was submitted as a transcript",
        ));
    };
    let bytes = pipeline.blobs.read(key).await.map_err(|error| {
        tracing::warn!(%error, call_id = %record.call.call_id, "stored audio unreadable");
        Status::unavailable("the call's audio cannot be read now; try again")
    })?;
    if rendering == pb::AudioRendering::Original {
        return Ok(Rendering {
            content_type: sniff(&bytes),
            data: bytes.to_vec(),
        });
    }
    let layout = channel_layout(&record.call.channel_layout);
    let limits = pipeline.audio_limits.clone();
    let decoded = tokio::task::spawn_blocking(move || {
        decode_call(
            AudioInput::Bytes {
                name: "recording",
                data: &bytes,
            },
            layout,
            &limits,
        )
    })
    .await
    .map_err(|error| Status::internal(error.to_string()))?
    .map_err(|error| Status::failed_precondition(format!("the stored audio: {error}")))?;
    Ok(Rendering {
        data: wav(&decoded),
        content_type: "audio/wav",
    })
}

/// 16-bit PCM WAV at 16 kHz, one channel per track in the recording's order.
pub fn wav(call: &DecodedCall) -> Vec<u8> {
    let tracks: Vec<&[f32]> = call.tracks.iter().map(|t| t.samples.as_slice()).collect();
    encode_pcm16(SAMPLE_RATE, &tracks)
}

/// The MIME type of stored audio, from its first bytes.
fn sniff(bytes: &[u8]) -> &'static str {
    match bytes {
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'A',
            b'V',
            b'E',
            ..,
        ] => "audio/wav",
        [b'O', b'g', b'g', b'S', ..] => "audio/ogg",
        [b'f', b'L', b'a', b'C', ..] => "audio/flac",
        [0x1A, 0x45, 0xDF, 0xA3, ..] => "audio/webm",
        [b'I', b'D', b'3', ..] => "audio/mpeg",
        [0xFF, second, ..] if second & 0xE0 == 0xE0 => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Streams `offset..offset + length` of a rendering (`length` 0: to the end).
pub fn stream(
    rendering: Rendering,
    offset: u64,
    length: u64,
) -> Result<ReceiverStream<Result<pb::GetCallAudioResponse, Status>>, Status> {
    let total = rendering.data.len() as u64;
    if offset > total {
        return Err(Status::out_of_range(format!(
            "offset: {offset} is past the end of the {total}-byte rendering"
        )));
    }
    let end = if length == 0 {
        total
    } else {
        offset.saturating_add(length).min(total)
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let data = rendering.data;
        let mut at = offset as usize;
        let end = end as usize;
        loop {
            let next = (at + CHUNK_BYTES).min(end);
            let message = pb::GetCallAudioResponse {
                data: data[at..next].to_vec(),
                offset: at as u64,
                total_bytes: total,
                content_type: rendering.content_type.to_string(),
            };
            // A receiver gone (the client hung up) ends the stream.
            if tx.send(Ok(message)).await.is_err() || next >= end {
                break;
            }
            at = next;
        }
    });
    Ok(ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_formats_are_named_by_their_bytes() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), "audio/wav");
        assert_eq!(sniff(b"OggS\0\x02"), "audio/ogg");
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1]), "audio/webm");
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90]), "audio/mpeg");
        assert_eq!(sniff(b"hello"), "application/octet-stream");
    }
}
