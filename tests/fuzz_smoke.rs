//! CI's smoke run of the fuzz targets (fuzz/, see fuzz/README.md): the same
//! checks, over the committed seeds and a fixed set of their mutations, in
//! the ordinary test build. The long runs with libFuzzer's coverage guidance
//! are `scripts/fuzz.sh`; their figures are in fuzz/README.md.

#[allow(dead_code)]
#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mutations tried per seed: enough to reach past every header check.
const MUTATIONS_PER_SEED: usize = 1000;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("seed"))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 3, "{target} has too few seeds");
    seeds
}

/// libFuzzer's simplest mutations: flip, overwrite with an interesting
/// value, insert, delete, truncate, duplicate a slice.
fn mutate(input: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                out[at] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let at = rng.random_range(0..len);
                let interesting = [0x00, 0xff, 0x7f, 0x80, b'"', b'[', b'{', b'-', b':', b'\n'];
                out[at] = interesting[rng.random_range(0..interesting.len())];
            }
            2 => {
                let at = rng.random_range(0..=len);
                out.insert(at, rng.random());
            }
            3 if len > 0 => {
                out.remove(rng.random_range(0..len));
            }
            4 if len > 0 => out.truncate(rng.random_range(0..len)),
            5 if len > 1 => {
                let start = rng.random_range(0..len);
                let end = rng.random_range(start..len.min(start + 64) + 1).min(len);
                let slice = out[start..end].to_vec();
                let at = rng.random_range(0..=out.len());
                out.splice(at..at, slice);
            }
            _ => {}
        }
    }
    out
}

fn smoke(target: &str, check: fn(&[u8])) {
    let mut rng = StdRng::seed_from_u64(0x5eed_ca11);
    let mut runs = 0;
    for (name, seed) in seeds(target) {
        check(&seed);
        for _ in 0..MUTATIONS_PER_SEED {
            let input = mutate(&seed, &mut rng);
            let outcome = std::panic::catch_unwind(|| check(&input));
            assert!(
                outcome.is_ok(),
                "{target} failed on a mutation of seed {name}: {:?}",
                String::from_utf8_lossy(&input)
            );
            runs += 1;
        }
    }
    assert!(runs >= 900, "{target}: only {runs} runs");
}

#[test]
fn audio_decode_survives_its_seeds_and_their_mutations() {
    smoke("audio_decode", checks::audio_decode);
}

#[test]
fn rubric_read_survives_its_seeds_and_their_mutations() {
    smoke("rubric_read", checks::rubric_read);
}

#[test]
fn transcript_json_survives_its_seeds_and_their_mutations() {
    smoke("transcript_json", checks::transcript_json);
}

#[test]
fn page_token_survives_its_seeds_and_their_mutations() {
    smoke("page_token", checks::page_token);
}
