//! Scripted two-channel telephone calls: espeak-ng speaks each turn, the
//! turns are laid out on the agent's and the customer's channel with pauses,
//! and sox writes 8 kHz μ-law stereo WAV, as contact-center recorders do.

use std::path::{Path, PathBuf};
use std::process::Command;

use callscore::transcript::Speaker;

/// Sample rate espeak-ng writes.
const ESPEAK_RATE: u32 = 22_050;
/// Silence before the first turn and between turns (ms).
const LEAD_MS: u64 = 1_500;
const PAUSE_MS: u64 = 1_200;
/// Level of the line noise added to both channels (linear, about -54 dBFS).
const NOISE: f32 = 0.002;

/// One scripted turn and where its speech lies in the call.
#[derive(Debug, Clone)]
pub struct Turn {
    /// Who speaks.
    pub speaker: Speaker,
    /// What is said.
    pub text: String,
    /// Start of audible speech (ms).
    pub start_ms: u64,
    /// End of audible speech (ms).
    pub end_ms: u64,
}

/// Writes `dir/name.wav`: the script spoken with `voice`, agent on the left
/// channel when `agent_left`, as 8 kHz μ-law stereo. Returns the file and the
/// turns with their true times.
pub fn stereo_call(
    dir: &Path,
    name: &str,
    voice: &str,
    script: &[(Speaker, &str)],
    agent_left: bool,
) -> (PathBuf, Vec<Turn>) {
    stereo_call_voices(dir, name, [voice, voice], script, agent_left)
}

/// [`stereo_call`] with the agent's and the customer's own espeak-ng voices
/// (`[agent, customer]`, e.g. `["en-us+f3", "en-us+m3"]`).
pub fn stereo_call_voices(
    dir: &Path,
    name: &str,
    voices: [&str; 2],
    script: &[(Speaker, &str)],
    agent_left: bool,
) -> (PathBuf, Vec<Turn>) {
    let turns: Vec<(Speaker, &str, &str)> = script
        .iter()
        .map(|&(speaker, text)| {
            let voice = if speaker == Speaker::Customer {
                voices[1]
            } else {
                voices[0]
            };
            (speaker, voice, text)
        })
        .collect();
    stereo_call_turns(dir, name, &turns, agent_left)
}

/// [`stereo_call`] with a voice per turn (`(speaker, voice, text)`): a
/// speaker who switches language switches to that language's voice.
pub fn stereo_call_turns(
    dir: &Path,
    name: &str,
    script: &[(Speaker, &str, &str)],
    agent_left: bool,
) -> (PathBuf, Vec<Turn>) {
    let mut agent: Vec<f32> = Vec::new();
    let mut customer: Vec<f32> = Vec::new();
    let mut turns = Vec::new();
    let ms = |n: u64| (n * u64::from(ESPEAK_RATE) / 1000) as usize;
    pad_to(&mut agent, ms(LEAD_MS));
    pad_to(&mut customer, ms(LEAD_MS));
    for (index, (speaker, voice, text)) in script.iter().enumerate() {
        let speech = speak(dir, voice, text, index);
        let (first, last) = audible_extent(&speech);
        let at = agent.len();
        let (own, other) = match speaker {
            Speaker::Customer => (&mut customer, &mut agent),
            _ => (&mut agent, &mut customer),
        };
        own.extend_from_slice(&speech);
        pad_to(other, own.len());
        turns.push(Turn {
            speaker: *speaker,
            text: (*text).to_string(),
            start_ms: ((at + first) as u64 * 1000) / u64::from(ESPEAK_RATE),
            end_ms: ((at + last) as u64 * 1000) / u64::from(ESPEAK_RATE),
        });
        let next = agent.len() + ms(PAUSE_MS);
        pad_to(&mut agent, next);
        pad_to(&mut customer, next);
    }
    add_noise(&mut agent, 1);
    add_noise(&mut customer, 2);
    let (left, right) = if agent_left {
        (&agent, &customer)
    } else {
        (&customer, &agent)
    };
    let left_path = dir.join(format!("{name}.left.wav"));
    let right_path = dir.join(format!("{name}.right.wav"));
    write_wav(&left_path, left);
    write_wav(&right_path, right);
    let out = dir.join(format!("{name}.wav"));
    let status = Command::new("sox")
        .arg("-M")
        .arg(&left_path)
        .arg(&right_path)
        .args(["-r", "8000", "-e", "u-law", "-b", "8"])
        .arg(&out)
        .status()
        .expect("sox runs (apt package sox; scripts/provision-models.sh installs it)");
    assert!(status.success(), "sox failed to write {}", out.display());
    (out, turns)
}

/// Writes `dir/name.wav`: each word spoken on its own by espeak-ng and
/// joined after the pause given for it (ms), one mono track with line noise.
/// Returns the file and each word with its true audible start and end (ms):
/// word boundaries known by construction.
pub fn spoken_words(
    dir: &Path,
    name: &str,
    voice: &str,
    words: &[(&str, u64)],
) -> (PathBuf, Vec<Turn>) {
    let ms = |n: u64| (n * u64::from(ESPEAK_RATE) / 1000) as usize;
    let mut track: Vec<f32> = Vec::new();
    let mut timed = Vec::new();
    for (index, (word, pause_ms)) in words.iter().enumerate() {
        let next = track.len() + ms(*pause_ms);
        pad_to(&mut track, next);
        let speech = speak(dir, voice, word, index);
        let (first, last) = audible_extent(&speech);
        let at = track.len();
        track.extend_from_slice(&speech[first..=last.min(speech.len() - 1)]);
        timed.push(Turn {
            speaker: Speaker::Unknown,
            text: (*word).to_string(),
            start_ms: (at as u64 * 1000) / u64::from(ESPEAK_RATE),
            end_ms: (track.len() as u64 * 1000) / u64::from(ESPEAK_RATE),
        });
    }
    let end = track.len() + ms(LEAD_MS);
    pad_to(&mut track, end);
    add_noise(&mut track, 3);
    let out = dir.join(format!("{name}.wav"));
    write_wav(&out, &track);
    (out, timed)
}

/// espeak-ng's rendering of `text` as f32 samples at 22.05 kHz.
fn speak(dir: &Path, voice: &str, text: &str, index: usize) -> Vec<f32> {
    let path = dir.join(format!("turn-{voice}-{index}.wav"));
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng runs (apt package espeak-ng; scripts/provision-models.sh installs it)");
    assert!(status.success(), "espeak-ng failed on {text:?}");
    let mut reader = hound::WavReader::open(&path).expect("espeak-ng wrote a WAV");
    assert_eq!(reader.spec().sample_rate, ESPEAK_RATE);
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("valid sample")) / 32768.0)
        .collect()
}

/// First and last sample above the noise level.
fn audible_extent(samples: &[f32]) -> (usize, usize) {
    let loud = |s: &&f32| s.abs() > 0.01;
    let first = samples.iter().position(|s| loud(&s)).unwrap_or(0);
    let last = samples
        .iter()
        .rposition(|s| loud(&s))
        .unwrap_or(samples.len());
    (first, last)
}

fn pad_to(track: &mut Vec<f32>, len: usize) {
    if track.len() < len {
        track.resize(len, 0.0);
    }
}

/// Deterministic white noise, like a quiet telephone line.
fn add_noise(track: &mut [f32], seed: u32) {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    for sample in track {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *sample += (state as f32 / u32::MAX as f32 - 0.5) * 2.0 * NOISE;
    }
}

fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: ESPEAK_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    for s in samples {
        writer
            .write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .expect("write sample");
    }
    writer.finalize().expect("finalise wav");
}

/// A stereo test signal in `dir/source.wav`: a 300 Hz tone on the left
/// (agent) channel, silence on the right, 1.5 s of 16-bit PCM at 8 kHz.
pub fn stereo_tone(dir: &Path) -> PathBuf {
    let path = dir.join("source.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).expect("create");
    for i in 0..12_000 {
        let v = ((i as f32 * 300.0 * std::f32::consts::TAU / 8000.0).sin() * 16000.0) as i16;
        writer.write_sample(v).expect("left");
        writer.write_sample(0i16).expect("right");
    }
    writer.finalize().expect("finalise");
    path
}

/// A scripted call: who says what, in order.
pub type Script = [(Speaker, &'static str)];

/// A support call in English: the agent opens with all three opening cues.
pub const SUPPORT_CALL_EN: [(Speaker, &str); 6] = [
    (
        Speaker::Agent,
        "Good morning, thank you for calling Acme support, my name is Rina. How can I help you today?",
    ),
    (
        Speaker::Customer,
        "Hello, my internet connection has been down since yesterday evening and I work from home.",
    ),
    (
        Speaker::Agent,
        "I am sorry to hear that. Let me check the line to your address right now.",
    ),
    (
        Speaker::Customer,
        "Thank you, it is really frustrating, I missed two meetings this morning.",
    ),
    (
        Speaker::Agent,
        "I understand. A technician will visit tomorrow between nine and eleven in the morning.",
    ),
    (
        Speaker::Customer,
        "That works for me, thank you for your help.",
    ),
];

/// The same kind of call in Indonesian.
pub const SUPPORT_CALL_ID: [(Speaker, &str); 6] = [
    (
        Speaker::Agent,
        "Selamat pagi, terima kasih telah menghubungi Tokoku, dengan saya Rina, ada yang bisa saya bantu?",
    ),
    (
        Speaker::Customer,
        "Pagi mbak, paket saya belum sampai padahal sudah seminggu sejak saya pesan.",
    ),
    (
        Speaker::Agent,
        "Mohon maaf atas ketidaknyamanannya, Bapak. Saya cek dulu status pengirimannya.",
    ),
    (
        Speaker::Customer,
        "Iya mbak, tolong dicek, barangnya penting untuk pekerjaan saya minggu ini.",
    ),
    (
        Speaker::Agent,
        "Paket Bapak tertahan di gudang Surabaya dan akan dikirim besok pagi.",
    ),
    (
        Speaker::Customer,
        "Baik kalau begitu, terima kasih banyak mbak.",
    ),
];
