//! How a call's windows are spread over its decoding states.
//!
//! Each state decodes with one thread, and a call decodes several windows
//! at once, one per state. ggml's worker threads meet at a barrier after
//! every operation and spin while they wait; with more runnable threads
//! than free cores (two calls at once, a busy node) the spinning thread
//! holds the core that the awaited one needs, and a call took 8 to 16
//! times its quiet CPU time (src/transcribe/README.md, "A busy node"). One
//! thread per state has no barrier to wait at: on a shared core it just
//! runs slower, and on a quiet one it spends no CPU on synchronisation.
//!
//! Windows are independent when the language is known. With the language
//! read per window, a track's first window is decoded first, and the rest
//! of the track then starts in the language it found.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use whisper_rs::WhisperState;

use super::TranscribeError;
use super::pack::Window;
use crate::transcript::{Segment, Speaker};

/// A decoded window: the language it ended in, and its placed segments.
#[derive(Debug)]
pub(super) struct Decoded {
    pub language: Option<&'static str>,
    pub segments: Vec<Segment>,
}

/// One window to decode: its track, its index there, and the language it
/// starts in (`None`: Whisper detects it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    pub track: usize,
    pub window: usize,
    pub language: Option<&'static str>,
}

/// The windows of a call's tracks.
#[derive(Debug)]
pub(super) struct Schedule {
    /// Windows per track.
    windows: Vec<usize>,
    /// The language every window is decoded in, when known up front.
    language: Option<&'static str>,
}

impl Schedule {
    /// The schedule of packed tracks decoded in `language` (`None`: read).
    pub fn new(plans: &[(Speaker, Vec<Window>)], language: Option<&'static str>) -> Self {
        Self {
            windows: plans.iter().map(|(_, windows)| windows.len()).collect(),
            language,
        }
    }

    /// The most windows that can be decoded at once (at least one).
    pub fn most_parallel(&self) -> usize {
        let total: usize = self.windows.iter().sum();
        let parallel = match self.language {
            Some(_) => total,
            None => {
                let first = self.windows.iter().filter(|&&n| n > 0).count();
                first.max(total - first)
            }
        };
        parallel.max(1)
    }

    /// Decodes every window on `states`, in parallel, and returns the
    /// results in track and window order; the first error stops the rest.
    pub fn run<F>(
        &self,
        mut states: Vec<&mut WhisperState>,
        decode: &F,
    ) -> Result<Vec<Decoded>, TranscribeError>
    where
        F: Fn(&mut WhisperState, Job) -> Result<Decoded, TranscribeError> + Sync,
    {
        let mut done: Vec<Vec<Option<Decoded>>> = self
            .windows
            .iter()
            .map(|&n| (0..n).map(|_| None).collect())
            .collect();
        let mut track_language: Vec<Option<&'static str>> = vec![self.language; self.windows.len()];
        let first_windows = || {
            self.windows
                .iter()
                .enumerate()
                .filter(|&(_, &n)| n > 0)
                .map(|(track, _)| Job {
                    track,
                    window: 0,
                    language: None,
                })
                .collect::<Vec<_>>()
        };
        let phases: [bool; 2] = [self.language.is_none(), true];
        for (phase, wanted) in phases.into_iter().enumerate() {
            if !wanted {
                continue;
            }
            let jobs: Vec<Job> = if phase == 0 {
                first_windows()
            } else {
                self.windows
                    .iter()
                    .enumerate()
                    .flat_map(|(track, &n)| {
                        let skip = usize::from(self.language.is_none());
                        let language = track_language[track];
                        (skip..n).map(move |window| Job {
                            track,
                            window,
                            language,
                        })
                    })
                    .collect()
            };
            for (job, result) in run_parallel(&mut states, &jobs, decode) {
                let decoded = result?;
                if phase == 0 {
                    track_language[job.track] = decoded.language;
                }
                done[job.track][job.window] = Some(decoded);
            }
        }
        Ok(done.into_iter().flatten().flatten().collect())
    }
}

/// Runs `jobs` on `states`, one thread per state, each taking the next job
/// when it is free. Results come back in job order; after an error no new
/// job starts.
fn run_parallel<F>(
    states: &mut [&mut WhisperState],
    jobs: &[Job],
    decode: &F,
) -> Vec<(Job, Result<Decoded, TranscribeError>)>
where
    F: Fn(&mut WhisperState, Job) -> Result<Decoded, TranscribeError> + Sync,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let parent = tracing::Span::current();
    let work = |state: &mut WhisperState| {
        let _entered = parent.enter();
        let mut results = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(&job) = jobs.get(index) else { break };
            let result = decode(state, job);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            results.push((index, job, result));
        }
        results
    };
    let used = states.len().min(jobs.len());
    let Some((first, rest)) = states[..used].split_first_mut() else {
        return Vec::new();
    };
    let mut results = std::thread::scope(|scope| {
        let helpers: Vec<_> = rest
            .iter_mut()
            .map(|state| scope.spawn(|| work(state)))
            .collect();
        let mut results = work(first);
        for helper in helpers {
            match helper.join() {
                Ok(more) => results.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    });
    results.sort_by_key(|(index, _, _)| *index);
    results
        .into_iter()
        .map(|(_, job, result)| (job, result))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(windows: &[usize]) -> Vec<(Speaker, Vec<Window>)> {
        windows
            .iter()
            .map(|&n| {
                let window = Window {
                    samples: Vec::new(),
                    pieces: Vec::new(),
                };
                (Speaker::Unknown, vec![window; n])
            })
            .collect()
    }

    #[test]
    fn known_languages_decode_every_window_at_once() {
        assert_eq!(
            Schedule::new(&plans(&[2, 3]), Some("en")).most_parallel(),
            5
        );
        assert_eq!(Schedule::new(&plans(&[]), Some("en")).most_parallel(), 1);
    }

    #[test]
    fn a_read_language_waits_for_each_tracks_first_window() {
        // Two first windows, then the three others.
        assert_eq!(Schedule::new(&plans(&[2, 3]), None).most_parallel(), 3);
        // A mono call: one first window, then the rest.
        assert_eq!(Schedule::new(&plans(&[1]), None).most_parallel(), 1);
        assert_eq!(Schedule::new(&plans(&[4]), None).most_parallel(), 3);
    }
}
