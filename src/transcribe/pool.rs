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

    /// Takes a state, blocking until one is free.
    pub fn acquire(&self) -> PooledState<'_> {
        // A panic while holding the lock cannot leave the Vec inconsistent,
        // so a poisoned lock is safe to keep using.
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(state) = free.pop() {
                return PooledState {
                    pool: self,
                    state: Some(state),
                };
            }
            free = self
                .returned
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, state: WhisperState) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(state);
        self.returned.notify_one();
    }
}

/// A state on loan from the pool; returned on drop.
pub(super) struct PooledState<'a> {
    pool: &'a StatePool,
    state: Option<WhisperState>,
}

impl PooledState<'_> {
    /// The borrowed state.
    pub fn state(&mut self) -> Option<&mut WhisperState> {
        self.state.as_mut()
    }
}

impl Drop for PooledState<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.pool.give_back(state);
        }
    }
}
