//! GetCallAudio: the recording for playback, as browser-seekable WAV or as
//! uploaded, in chunks and by byte range; only for roles that may listen,
//! only within the tenant, and not once retention has deleted it.

mod common;

use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::auth::Role;
use callscore::proto::{
    AudioRendering, CallMetadata, ChannelLayout as PbLayout, GetCallAudioRequest,
    GetCallAudioResponse,
};
use common::{Backend, TestApp, spawn_app, upload_call_bytes};
use tonic::Code;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/call-en-stereo-8k.wav");

async fn stored_sample(app: &TestApp, key: &str) -> String {
    let audio = std::fs::read(SAMPLE).expect("the bundled sample call");
    let metadata = CallMetadata {
        agent_id: "agent-1".into(),
        channel_layout: PbLayout::StereoAgentLeft as i32,
        ..Default::default()
    };
    upload_call_bytes(app, key, metadata, &audio).await
}

/// Every chunk of one GetCallAudio answer, or its status.
async fn fetch(
    app: &TestApp,
    key: &str,
    request: GetCallAudioRequest,
) -> Result<Vec<GetCallAudioResponse>, tonic::Status> {
    let mut stream = app
        .calls(key)
        .await
        .get_call_audio(request)
        .await?
        .into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await? {
        chunks.push(chunk);
    }
    Ok(chunks)
}

fn joined(chunks: &[GetCallAudioResponse]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.data.iter().copied()).collect()
}

async fn renders_the_recording(backend: Backend) {
    let app = spawn_app(backend).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let call_id = stored_sample(&app, &ingest).await;
    let ask = |rendering: AudioRendering, offset: u64, length: u64| GetCallAudioRequest {
        call_id: call_id.clone(),
        rendering: rendering as i32,
        offset,
        length,
    };

    // The default: 16-bit PCM WAV at 16 kHz, both channels, as long as the call.
    let chunks = fetch(&app, &reviewer, ask(AudioRendering::Unspecified, 0, 0))
        .await
        .expect("WAV");
    assert!(chunks.len() > 1, "a minute of audio comes in chunks");
    let wav = joined(&chunks);
    assert!(chunks.iter().all(|c| c.content_type == "audio/wav"));
    assert!(chunks.iter().all(|c| c.total_bytes == wav.len() as u64));
    let mut offset = 0;
    for chunk in &chunks {
        assert_eq!(chunk.offset, offset, "chunks are contiguous");
        assert!(chunk.data.len() <= 64 * 1024);
        offset += chunk.data.len() as u64;
    }
    let reader = hound::WavReader::new(std::io::Cursor::new(&wav)).expect("a valid WAV");
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 16_000, 16)
    );
    let original = decode_call(
        std::path::Path::new(SAMPLE),
        ChannelLayout::AgentLeft,
        &AudioLimits::default(),
    )
    .expect("the sample decodes");
    assert_eq!(
        reader.duration() as usize,
        original.tracks[0].samples.len(),
        "every frame of the call"
    );
    // The agent's channel carries the agent's speech where the decoder has it.
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let loudest = original.tracks[0]
        .samples
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(i, _)| i)
        .expect("samples");
    let expected = (original.tracks[0].samples[loudest] * 32767.0).round() as i16;
    assert!(
        samples[loudest * 2].abs_diff(expected) <= 1,
        "agent sample {} vs {expected}",
        samples[loudest * 2]
    );

    // A byte range is that slice of the same rendering.
    let part = fetch(&app, &reviewer, ask(AudioRendering::Wav, 1_000, 100_000))
        .await
        .expect("range");
    assert_eq!(joined(&part), wav[1_000..101_000]);
    assert_eq!(part[0].offset, 1_000);
    // Past the end: OUT_OF_RANGE naming the field.
    let error = fetch(
        &app,
        &reviewer,
        ask(AudioRendering::Wav, wav.len() as u64 + 1, 0),
    )
    .await
    .expect_err("past the end");
    assert_eq!(error.code(), Code::OutOfRange);
    assert!(error.message().starts_with("offset"), "{}", error.message());

    // The bytes as uploaded.
    let original_bytes = fetch(&app, &reviewer, ask(AudioRendering::Original, 0, 0))
        .await
        .expect("original");
    assert_eq!(
        joined(&original_bytes),
        std::fs::read(SAMPLE).expect("sample")
    );
    assert_eq!(original_bytes[0].content_type, "audio/wav");
}

async fn only_listeners_of_the_tenant_get_audio(backend: Backend) {
    let app = spawn_app(backend).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let call_id = stored_sample(&app, &ingest).await;
    let ask = || GetCallAudioRequest {
        call_id: call_id.clone(),
        ..Default::default()
    };
    // Ingest keys submit and read status; they do not listen.
    let error = fetch(&app, &ingest, ask()).await.expect_err("ingest");
    assert_eq!(error.code(), Code::PermissionDenied);
    let coach = app.key("acme", Role::Coach).await;
    fetch(&app, &coach, ask()).await.expect("a coach listens");
    // Another tenant's call does not exist for this key.
    let other = app.key("globex", Role::Admin).await;
    let error = fetch(&app, &other, ask()).await.expect_err("other tenant");
    assert_eq!(error.code(), Code::NotFound);
    // A bad id or rendering names its field.
    let admin = app.key("acme", Role::Admin).await;
    let error = fetch(
        &app,
        &admin,
        GetCallAudioRequest {
            call_id: call_id.clone(),
            rendering: 99,
            ..Default::default()
        },
    )
    .await
    .expect_err("rendering 99");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(
        error.message().starts_with("rendering"),
        "{}",
        error.message()
    );
    // Once retention deleted the audio, the answer says so.
    assert!(
        app.store
            .mark_audio_purged("acme", &call_id, "test")
            .await
            .expect("purge")
    );
    let error = fetch(&app, &admin, ask()).await.expect_err("purged");
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("retention"), "{}", error.message());
}

both_backends!(
    renders_the_recording,
    only_listeners_of_the_tenant_get_audio
);
