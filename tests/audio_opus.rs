//! Opus, the codec of WebRTC and softphone recordings, in its two containers:
//! Ogg (encoded by `opusenc` from Debian's opus-tools) and WebM (the same
//! packets muxed into Matroska here, as browsers' MediaRecorder writes them).
//! Decoding is libopus through symphonia's codec registry.

mod common;

use std::path::Path;
use std::process::Command;

use callscore::audio::{
    AudioError, AudioInput, AudioLimits, ChannelLayout, SAMPLE_RATE, decode_call,
};
use callscore::transcribe::TranscribeOptions;
use callscore::transcript::Speaker;
use common::wer::wer;

/// Encodes a WAV file to Ogg Opus with opusenc.
fn opusenc(input: &Path, out: &Path) {
    let status = Command::new("opusenc")
        .arg("--quiet")
        .arg(input)
        .arg(out)
        .status()
        .expect("opusenc runs (apt package opus-tools; scripts/setup.sh installs it)");
    assert!(status.success(), "opusenc {}", input.display());
}

/// The packets of an Ogg stream, in order (the first two of an Opus stream
/// are its OpusHead and OpusTags headers).
fn ogg_packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut current = Vec::new();
    let mut at = 0;
    while at + 27 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"OggS", "an Ogg page at {at}");
        let segments = usize::from(bytes[at + 26]);
        let table = &bytes[at + 27..at + 27 + segments];
        let mut body = at + 27 + segments;
        for &lace in table {
            let lace = usize::from(lace);
            current.extend_from_slice(&bytes[body..body + lace]);
            body += lace;
            // A lacing value below 255 ends the packet.
            if lace < 255 {
                packets.push(std::mem::take(&mut current));
            }
        }
        at = body;
    }
    packets
}

/// One EBML element with an 8-byte size field.
fn element(id: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

fn uint(id: &[u8], value: u64) -> Vec<u8> {
    element(id, &value.to_be_bytes())
}

/// A WebM file holding the Opus packets of an Ogg Opus stream: one track,
/// one cluster, a SimpleBlock per packet (20 ms each, opusenc's default).
fn webm_from_ogg_opus(ogg: &[u8], channels: u64) -> Vec<u8> {
    let packets = ogg_packets(ogg);
    assert!(packets.len() > 3, "opusenc wrote audio packets");
    assert!(
        packets[0].starts_with(b"OpusHead"),
        "first packet is OpusHead"
    );
    let pre_skip = u64::from(u16::from_le_bytes([packets[0][10], packets[0][11]]));
    let header = [
        uint(&[0x42, 0x86], 1),
        uint(&[0x42, 0xF7], 1),
        uint(&[0x42, 0xF2], 4),
        uint(&[0x42, 0xF3], 8),
        element(&[0x42, 0x82], b"webm"),
        uint(&[0x42, 0x87], 4),
        uint(&[0x42, 0x85], 2),
    ]
    .concat();
    let info = element(
        &[0x15, 0x49, 0xA9, 0x66],
        &[
            uint(&[0x2A, 0xD7, 0xB1], 1_000_000),
            element(&[0x4D, 0x80], b"callscore test"),
            element(&[0x57, 0x41], b"callscore test"),
        ]
        .concat(),
    );
    let audio = element(
        &[0xE1],
        &[
            element(&[0xB5], &48_000f64.to_be_bytes()),
            uint(&[0x9F], channels),
        ]
        .concat(),
    );
    let track = element(
        &[0xAE],
        &[
            uint(&[0xD7], 1),
            uint(&[0x73, 0xC5], 1),
            uint(&[0x83], 2),
            element(&[0x86], b"A_OPUS"),
            element(&[0x63, 0xA2], &packets[0]),
            uint(&[0x56, 0xAA], pre_skip * 1_000_000_000 / 48_000),
            uint(&[0x56, 0xBB], 80_000_000),
            audio,
        ]
        .concat(),
    );
    let tracks = element(&[0x16, 0x54, 0xAE, 0x6B], &track);
    let mut cluster = uint(&[0xE7], 0);
    for (i, packet) in packets[2..].iter().enumerate() {
        let mut block = vec![0x81];
        block.extend_from_slice(&i16::try_from(i * 20).expect("short").to_be_bytes());
        block.push(0x80);
        block.extend_from_slice(packet);
        cluster.extend(element(&[0xA3], &block));
    }
    let cluster = element(&[0x1F, 0x43, 0xB6, 0x75], &cluster);
    let segment = element(&[0x18, 0x53, 0x80, 0x67], &[info, tracks, cluster].concat());
    [element(&[0x1A, 0x45, 0xDF, 0xA3], &header), segment].concat()
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// Checks a decoded stereo test signal: 1.5 s, the tone left, silence right.
fn assert_stereo_tone(call: &callscore::audio::DecodedCall, name: &str) {
    assert_eq!(call.tracks.len(), 2, "{name}");
    assert_eq!(call.tracks[0].speaker, Speaker::Agent);
    assert_eq!(call.tracks[1].speaker, Speaker::Customer);
    let expected = SAMPLE_RATE as usize * 3 / 2;
    let len = call.tracks[0].samples.len();
    // Opus frames are 20 ms (320 samples at 16 kHz); the encoder pads the last.
    assert!(
        len.abs_diff(expected) <= 640,
        "{name}: {len} samples, expected ~{expected}"
    );
    let agent = rms(&call.tracks[0].samples);
    let customer = rms(&call.tracks[1].samples);
    assert!(agent > 0.2 && agent < 0.5, "{name}: agent rms {agent}");
    assert!(customer < 0.02, "{name}: customer rms {customer}");
}

#[test]
fn ogg_opus_decodes_to_16k_tracks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ogg = dir.path().join("call.opus");
    opusenc(&common::synth::stereo_tone(dir.path()), &ogg);
    let call = decode_call(&ogg, ChannelLayout::AgentLeft, &AudioLimits::default())
        .unwrap_or_else(|e| panic!("call.opus: {e}"));
    assert_stereo_tone(&call, "call.opus");
}

#[test]
fn webm_opus_decodes_from_a_file_and_from_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ogg = dir.path().join("call.opus");
    opusenc(&common::synth::stereo_tone(dir.path()), &ogg);
    let webm = webm_from_ogg_opus(&std::fs::read(&ogg).expect("read"), 2);
    let path = dir.path().join("call.webm");
    std::fs::write(&path, &webm).expect("write");
    let call = decode_call(&path, ChannelLayout::AgentLeft, &AudioLimits::default())
        .unwrap_or_else(|e| panic!("call.webm: {e}"));
    assert_stereo_tone(&call, "call.webm");
    // An upload arrives as bytes without a file name to hint the container.
    let from_bytes = decode_call(
        AudioInput::Bytes {
            data: &webm,
            name: "upload",
        },
        ChannelLayout::AgentLeft,
        &AudioLimits::default(),
    )
    .unwrap_or_else(|e| panic!("webm bytes: {e}"));
    assert_eq!(
        from_bytes.tracks[0].samples.len(),
        call.tracks[0].samples.len()
    );
}

#[test]
fn truncated_ogg_opus_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ogg = dir.path().join("call.opus");
    opusenc(&common::synth::stereo_tone(dir.path()), &ogg);
    let bytes = std::fs::read(&ogg).expect("read");
    // Cut inside the headers: nothing decodable is left.
    let cut = dir.path().join("cut.opus");
    std::fs::write(&cut, &bytes[..40]).expect("write");
    let error = decode_call(&cut, ChannelLayout::AgentLeft, &AudioLimits::default())
        .expect_err("a file cut inside its headers is refused");
    assert!(
        error.to_string().contains("cut.opus"),
        "names the file: {error}"
    );
    assert!(
        !matches!(error, AudioError::UnsupportedCodec { .. }),
        "Opus is supported; the file is damaged: {error:?}"
    );
}

#[test]
fn speech_in_ogg_opus_transcribes_like_the_wav() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ogg = dir.path().join("jfk.opus");
    opusenc(&common::testdata("jfk.wav"), &ogg);
    let call = decode_call(&ogg, ChannelLayout::Mono, &AudioLimits::default())
        .unwrap_or_else(|e| panic!("jfk.opus: {e}"));
    let transcript = common::engine("ggml-tiny.en-q8_0.bin")
        .transcribe(&call, &TranscribeOptions::default())
        .expect("transcribes");
    let text = common::text_of(&transcript);
    let error = wer(
        "And so my fellow Americans, ask not what your country can do for you, \
         ask what you can do for your country.",
        &text,
    );
    eprintln!("jfk.opus tiny.en q8_0 WER {error:.3}: {text}");
    assert!(error <= 0.10, "WER {error:.3} > 10 %: {text}");
}
