//! How many WatchCall streams each API key holds open: a stream costs a task
//! and a store read per interval until its call finishes, so one key cannot
//! open thousands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Open streams per key, with the cap.
#[derive(Clone)]
pub struct WatchSlots {
    per_key: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream's place; given back when the stream ends.
pub struct WatchSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    key_id: String,
}

impl WatchSlots {
    /// At most `per_key` streams per key.
    pub fn new(per_key: usize) -> Self {
        Self {
            per_key,
            open: Arc::default(),
        }
    }

    /// A slot for `key_id`, or `None` when it holds its share.
    pub fn take(&self, key_id: &str) -> Option<WatchSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key_id.to_string()).or_insert(0);
        if *count >= self.per_key {
            return None;
        }
        *count += 1;
        Some(WatchSlot {
            open: self.open.clone(),
            key_id: key_id.to_string(),
        })
    }
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key_id);
            }
        }
    }
}
