//! Diarization cost: the pyannote telephone call (30 s, mono, two speakers)
//! split by voice with the GE2E speaker encoder, in CPU time of this thread,
//! with the mel front end and the encoder also timed on their own. Needs
//! the provisioned encoder and test audio (scripts/provision-models.sh).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use callscore::audio::vad::VadKind;
use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::diarize::encoder::SpeakerEncoder;
use callscore::diarize::{Diarizer, features};
use criterion::{Criterion, criterion_group, criterion_main};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// CPU time this thread has run, in ns (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

fn cpu_timed(c: &mut Criterion, name: &str, mut run: impl FnMut()) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_ns();
            for _ in 0..iters {
                run();
            }
            Duration::from_nanos(thread_cpu_ns().saturating_sub(start))
        });
    });
}

fn bench(c: &mut Criterion) {
    let encoder_path = root().join("models/speaker-ge2e.safetensors");
    let audio = root().join(".cache/testdata/pyannote/sample.wav");
    let diarizer = Diarizer::load(&encoder_path).expect("run scripts/provision-models.sh first");
    let encoder = SpeakerEncoder::load(&encoder_path).expect("encoder");
    let call = decode_call(&audio, ChannelLayout::Mono, &AudioLimits::default())
        .expect("run scripts/provision-models.sh first");
    let samples = call.tracks[0].samples.clone();
    let seconds = samples.len() as f64 / 16_000.0;
    eprintln!("audio: {seconds:.1} s");
    cpu_timed(c, "diarize_30s_call_cpu_time", || {
        black_box(diarizer.diarize(black_box(&samples), VadKind::WebRtc));
    });
    cpu_timed(c, "mel_frames_30s_cpu_time", || {
        black_box(features::mel_frames(black_box(&samples)));
    });
    let mel = features::mel_frames(&samples);
    // 39 windows of 1.5 s, as many as the call's speech gives.
    let starts: Vec<usize> = (0..39).map(|i| i * 75).collect();
    cpu_timed(c, "encoder_39_windows_cpu_time", || {
        black_box(encoder.embed(black_box(&mel), &starts, 150));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(15));
    targets = bench
}
criterion_main!(benches);
