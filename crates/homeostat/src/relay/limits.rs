//! Rate limits per project, per client address and per fingerprint: fixed one-minute
//! windows, counted in memory for one instance or in Redis (`INCR` + `EXPIRE`, one
//! pipelined round trip per request) when several instances share them.

use std::collections::HashMap;
use std::sync::Mutex;

use super::RelayError;

/// One limit to check: its scope (named in `X-Sentry-Rate-Limits`), key and allowance.
#[derive(Debug, Clone)]
pub struct Check {
    pub scope: &'static str,
    pub key: String,
    pub limit: u64,
}

/// The counters.
pub enum Limiter {
    Local(Mutex<LocalWindows>),
    Redis { conn: redis::aio::ConnectionManager, fallback: Mutex<LocalWindows> },
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

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Limiter {
    /// In memory, or through Redis at `url` (checked with a PING before serving).
    pub async fn open(url: Option<&str>) -> crate::Result<Self> {
        let Some(url) = url else { return Ok(Self::Local(Mutex::new(LocalWindows::default()))) };
        let failed = |e: redis::RedisError| crate::Error::Failed(format!("redis {url}: {e}"));
        let client = redis::Client::open(url).map_err(failed)?;
        let mut conn = redis::aio::ConnectionManager::new(client).await.map_err(failed)?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(failed)?;
        Ok(Self::Redis { conn, fallback: Mutex::new(LocalWindows::default()) })
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
        let counts = match self {
            Self::Local(w) => w.lock().map(|mut w| w.hit(minute, &checks)).unwrap_or_default(),
            Self::Redis { conn, fallback } => match redis_hit(conn.clone(), minute, &checks).await {
                Ok(c) => c,
                Err(e) => {
                    // Redis down: keep serving with this instance's own counts.
                    tracing::warn!("redis: {e}; counting limits locally");
                    fallback.lock().map(|mut w| w.hit(minute, &checks)).unwrap_or_default()
                }
            },
        };
        match checks.iter().zip(counts).find(|(c, n)| *n > c.limit) {
            Some((c, _)) => Err(RelayError::RateLimited { retry_after: 60 - now % 60, scope: c.scope }),
            None => Ok(()),
        }
    }
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
}
