//! A key-value cache with TTL, shared by the process and partitioned by
//! resource: a plugin only ever sees its own resource's keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bounds what a plugin can store, so a hostile one cannot exhaust memory.
const MAX_ENTRIES_PER_RESOURCE: usize = 256;
const MAX_VALUE_BYTES: usize = 64 * 1024;
const MAX_KEY_BYTES: usize = 256;

/// One resource's entries: key → (value, expiry).
type Entries = HashMap<String, (String, Instant)>;

#[derive(Default)]
pub struct SharedCache {
    /// By resource.
    entries: Mutex<HashMap<String, Entries>>,
}

impl SharedCache {
    /// The view of one resource.
    pub fn scope(self: &Arc<Self>, resource: &str) -> CacheScope {
        CacheScope {
            cache: Arc::clone(self),
            resource: resource.to_owned(),
        }
    }
}

pub struct CacheScope {
    cache: Arc<SharedCache>,
    resource: String,
}

impl CacheScope {
    pub fn get(&self, key: &str) -> Option<String> {
        let mut all = self.cache.entries.lock().ok()?;
        let entries = all.get_mut(&self.resource)?;
        match entries.get(key) {
            Some((value, expires)) if *expires > Instant::now() => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Silently ignores what is over the bounds: the cache is an
    /// optimisation, a plugin must work without it.
    pub fn set(&self, key: &str, value: &str, ttl: Duration) {
        if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES || ttl.is_zero() {
            return;
        }
        let Ok(mut all) = self.cache.entries.lock() else {
            return;
        };
        let entries = all.entry(self.resource.clone()).or_default();
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES_PER_RESOURCE && !entries.contains_key(key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES_PER_RESOURCE {
                return;
            }
        }
        entries.insert(key.to_owned(), (value.to_owned(), now + ttl));
    }

    pub fn delete(&self, key: &str) {
        if let Ok(mut all) = self.cache.entries.lock()
            && let Some(entries) = all.get_mut(&self.resource)
        {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_isolated_and_entries_expire() {
        let cache = Arc::new(SharedCache::default());
        let a = cache.scope("a");
        let b = cache.scope("b");
        a.set("token", "A", Duration::from_secs(60));
        assert_eq!(a.get("token").as_deref(), Some("A"));
        assert_eq!(b.get("token"), None);
        a.set("short", "x", Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(a.get("short"), None);
        a.delete("token");
        assert_eq!(a.get("token"), None);
    }
}
