//! What several instances share: rate limits per project, per client address and per
//! fingerprint (fixed one-minute windows) and the dedup window of event ids, counted in
//! memory for one instance or in Redis (`INCR` + `EXPIRE`, `EXISTS`, `SET … EX`; one
//! pipelined round trip each) when several instances share them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::RelayError;

/// How long a stored event's id is remembered: an SDK resending it (a retry after a lost
/// answer, an offline cache flushed twice) within this window is answered and not stored
/// or counted again.
pub const DEDUP_WINDOW_SECS: u64 = 600;
/// Ids one instance remembers at most (the oldest go first): bounded memory under any load.
const DEDUP_MAX_IDS: usize = 200_000;

/// One limit to check: its scope (named in `X-Sentry-Rate-Limits`), key and allowance.
#[derive(Debug, Clone)]
pub struct Check {
    pub scope: &'static str,
    pub key: String,
    pub limit: u64,
}

/// The counters and the dedup window: this instance's own, or Redis's when configured
/// (this instance's own while Redis is down).
pub struct Limiter {
    redis: Option<redis::aio::ConnectionManager>,
    local: Mutex<LocalWindows>,
    seen: Mutex<RecentIds>,
}

#[derive(Default)]
pub struct LocalWindows {
    minute: u64,
    counts: HashMap<String, u64>,
}

impl LocalWindows {
    fn hit(&mut self, minute: u64, checks: &[Check]) -> Vec<u64> {
        if minute != self.minute {
            // A new window: the old one's counts are done with.
            self.minute = minute;
            self.counts.clear();
        }
        checks
            .iter()
            .map(|c| {
                let n = self.counts.entry(c.key.clone()).or_insert(0);
                *n += 1;
                *n
            })
            .collect()
    }
}

/// Keys seen in the last `window` seconds with a value each, oldest first, each key kept
/// as a 64-bit hash (16 bytes a key instead of a string: the cap costs a few MB; two
/// distinct keys colliding among 200,000 is a one-in-a-billion chance), at most `max` of
/// them. The dedup window's event ids; the metrics' unhealthy sessions; the fingerprints
/// of recent events, for the feedback about them.
pub(super) struct Recent<V> {
    window: u64,
    max: usize,
    until: HashMap<u64, (u64, V)>,
    order: VecDeque<(u64, u64)>,
}

/// Recent keys without values.
pub(super) type RecentIds = Recent<()>;

fn id_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl<V> Recent<V> {
    pub(super) fn new(window: u64, max: usize) -> Self {
        Self { window, max, until: HashMap::new(), order: VecDeque::new() }
    }

    fn forget_old(&mut self, now: u64) {
        while let Some((until, _)) = self.order.front() {
            if *until > now && self.order.len() <= self.max {
                break;
            }
            if let Some((until, id)) = self.order.pop_front()
                && self.until.get(&id).is_some_and(|(u, _)| *u == until)
            {
                self.until.remove(&id);
            }
        }
    }

    pub(super) fn get(&mut self, key: &str, now: u64) -> Option<&V> {
        self.forget_old(now);
        self.until.get(&id_hash(key)).map(|(_, v)| v)
    }

    pub(super) fn contains(&mut self, key: &str, now: u64) -> bool {
        self.get(key, now).is_some()
    }

    pub(super) fn insert(&mut self, key: &str, value: V, now: u64) {
        let (id, until) = (id_hash(key), now + self.window);
        self.until.insert(id, (until, value));
        self.order.push_back((until, id));
        self.forget_old(now);
    }
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Limiter {
    /// In memory, or through Redis at `url` (checked with a PING before serving).
    pub async fn open(url: Option<&str>) -> crate::Result<Self> {
        let redis = match url {
            None => None,
            Some(url) => {
                let failed = |e: redis::RedisError| crate::Error::Failed(format!("redis {url}: {e}"));
                let client = redis::Client::open(url).map_err(failed)?;
                let mut conn = redis::aio::ConnectionManager::new(client).await.map_err(failed)?;
                let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(failed)?;
                Some(conn)
            }
        };
        Ok(Self { redis, local: Mutex::default(), seen: Mutex::new(RecentIds::new(DEDUP_WINDOW_SECS, DEDUP_MAX_IDS)) })
    }

    /// Counts one event against every check; the first limit exceeded refuses it with
    /// the seconds left in the window.
    pub async fn hit(&self, checks: &[Check]) -> Result<(), RelayError> {
        let checks: Vec<Check> = checks.iter().filter(|c| c.limit > 0).cloned().collect();
        if checks.is_empty() {
            return Ok(());
        }
        let now = now_secs();
        let minute = now / 60;
        let local = || self.local.lock().map(|mut w| w.hit(minute, &checks)).unwrap_or_default();
        let counts = match &self.redis {
            None => local(),
            Some(conn) => match redis_hit(conn.clone(), minute, &checks).await {
                Ok(c) => c,
                Err(e) => {
                    // Redis down: keep serving with this instance's own counts.
                    tracing::warn!("redis: {e}; counting limits locally");
                    local()
                }
            },
        };
        match checks.iter().zip(counts).find(|(c, n)| *n > c.limit) {
            Some((c, _)) => Err(RelayError::RateLimited { retry_after: 60 - now % 60, scope: c.scope }),
            None => Ok(()),
        }
    }

    /// Which of these ids were stored within the dedup window (by any instance sharing
    /// Redis).
    pub async fn seen(&self, ids: &[String]) -> Vec<bool> {
        if ids.is_empty() {
            return Vec::new();
        }
        if let Some(conn) = &self.redis {
            let mut pipe = redis::pipe();
            for id in ids {
                pipe.exists(seen_key(id));
            }
            match pipe.query_async::<Vec<bool>>(&mut conn.clone()).await {
                Ok(found) => return found,
                Err(e) => tracing::warn!("redis: {e}; checking duplicates locally"),
            }
        }
        let now = now_secs();
        let Ok(mut seen) = self.seen.lock() else { return vec![false; ids.len()] };
        ids.iter().map(|id| seen.contains(id, now)).collect()
    }

    /// Remembers ids just stored, for the dedup window.
    pub async fn remember(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let now = now_secs();
        if let Ok(mut seen) = self.seen.lock() {
            ids.iter().for_each(|id| seen.insert(id, (), now));
        }
        if let Some(conn) = &self.redis {
            let mut pipe = redis::pipe();
            for id in ids {
                pipe.set_ex(seen_key(id), 1u8, DEDUP_WINDOW_SECS).ignore();
            }
            if let Err(e) = pipe.query_async::<()>(&mut conn.clone()).await {
                tracing::warn!("redis: {e}; duplicates are remembered by this instance only");
            }
        }
    }
}

fn seen_key(id: &str) -> String {
    format!("homeostat:relay:seen:{id}")
}

async fn redis_hit(
    mut conn: redis::aio::ConnectionManager,
    minute: u64,
    checks: &[Check],
) -> redis::RedisResult<Vec<u64>> {
    let mut pipe = redis::pipe();
    for c in checks {
        let key = format!("homeostat:relay:{}:{minute}", c.key);
        pipe.incr(&key, 1u64).expire(&key, 120).ignore();
    }
    pipe.query_async(&mut conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_window_refuses_past_the_limit_per_key() {
        let limiter = Limiter::open(None).await.unwrap();
        let check = |key: &str| vec![Check { scope: "key", key: key.into(), limit: 2 }];
        assert!(limiter.hit(&check("a")).await.is_ok());
        assert!(limiter.hit(&check("a")).await.is_ok());
        let e = limiter.hit(&check("a")).await.unwrap_err();
        assert!(matches!(e, RelayError::RateLimited { retry_after: 1..=60, scope: "key" }), "{e:?}");
        assert!(limiter.hit(&check("b")).await.is_ok(), "another key has its own window");
        let off = vec![Check { scope: "project", key: "a".into(), limit: 0 }];
        assert!(limiter.hit(&off).await.is_ok(), "0 turns a limit off");
    }

    #[test]
    fn ids_are_remembered_for_the_window_and_memory_stays_bounded() {
        let mut seen = RecentIds::new(DEDUP_WINDOW_SECS, DEDUP_MAX_IDS);
        seen.insert("p:a", (), 1_000);
        assert!(seen.contains("p:a", 1_000 + DEDUP_WINDOW_SECS - 1));
        assert!(!seen.contains("p:a", 1_000 + DEDUP_WINDOW_SECS), "forgotten after the window");
        for n in 0..DEDUP_MAX_IDS + 10 {
            seen.insert(&format!("p:{n}"), (), 2_000);
        }
        assert_eq!(seen.until.len(), DEDUP_MAX_IDS);
        assert!(!seen.contains("p:0", 2_000) && seen.contains(&format!("p:{}", DEDUP_MAX_IDS + 9), 2_000));
        // Stored again later, an id lives on from its latest store.
        seen.insert("p:b", (), 3_000);
        seen.insert("p:b", (), 3_500);
        assert!(seen.contains("p:b", 3_000 + DEDUP_WINDOW_SECS + 1));
    }
}
