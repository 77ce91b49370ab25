//! A bounded pool of Whisper decoding states: each concurrent transcription
//! holds one; callers beyond the pool size wait.

use std::sync::{Condvar, Mutex, PoisonError};

use whisper_rs::WhisperState;

/// Fixed set of states handed out one at a time.
pub(super) struct StatePool {
    free: Mutex<Vec<WhisperState>>,
    returned: Condvar,
}

impl StatePool {
    /// Wraps already created states.
    pub fn new(states: Vec<WhisperState>) -> Self {
        Self {
            free: Mutex::new(states),
            returned: Condvar::new(),
        }
    }

    /// Takes up to `wanted` states (at least one), blocking until one is
    /// free: a call decodes on as many as are free, so calls beyond the
    /// pool's size wait instead of sharing a state.
    pub fn acquire_up_to(&self, wanted: usize) -> PooledStates<'_> {
        // A panic while holding the lock cannot leave the Vec inconsistent,
        // so a poisoned lock is safe to keep using.
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if !free.is_empty() {
                let keep = free.len().saturating_sub(wanted.max(1));
                return PooledStates {
                    pool: self,
                    states: free.split_off(keep),
                };
            }
            free = self
                .returned
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, states: Vec<WhisperState>) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(states);
        self.returned.notify_all();
    }
}

/// States on loan from the pool; returned on drop.
pub(super) struct PooledStates<'a> {
    pool: &'a StatePool,
    states: Vec<WhisperState>,
}

impl PooledStates<'_> {
    /// The borrowed states (at least one).
    pub fn states(&mut self) -> Vec<&mut WhisperState> {
        self.states.iter_mut().collect()
    }
}

impl Drop for PooledStates<'_> {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.states));
    }
}
