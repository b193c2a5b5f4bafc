//! Automatic rollbacks shared by every replica (`state.backend = "redis"`):
//! the overrides live in Redis (`<prefix>rollout:overrides`, one JSON map,
//! with `<prefix>rollout:generation` counting its changes), so one replica's
//! trip is every replica's — each one's reloader notices the generation move
//! within a second and applies it. The file beside the config stays as a
//! mirror (what the operator's commands and a replica cut off from Redis
//! read), and every applied change is also pushed to a shared audit list.
//! Blocking: the writer calls it off the executor.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use redis::Commands;

use super::Overrides;

/// How long one Redis call may take before the mirror file is used instead.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Audit lines kept in Redis.
const AUDIT_KEPT: isize = 10_000;

/// The overrides in Redis, mirrored to a file.
pub struct Shared {
    client: redis::Client,
    prefix: String,
    mirror: PathBuf,
    conn: Mutex<Option<redis::Connection>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Overrides in the Redis at `url` under `prefix`, mirrored at `mirror`.
    pub fn new(url: &str, prefix: &str, mirror: PathBuf) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("`redis.url`: {e}"))?;
        Ok(Self { client, prefix: prefix.to_owned(), mirror, conn: Mutex::new(None) })
    }

    /// The mirror file.
    pub fn mirror(&self) -> &Path {
        &self.mirror
    }

    fn key(&self, what: &str) -> String {
        format!("{}rollout:{what}", self.prefix)
    }

    /// Runs `f` on the cached connection (made on first use, dropped on an error).
    fn with<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<T> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let conn = self.client.get_connection_with_timeout(TIMEOUT)?;
            conn.set_read_timeout(Some(TIMEOUT))?;
            conn.set_write_timeout(Some(TIMEOUT))?;
            *slot = Some(conn);
        }
        let Some(conn) = slot.as_mut() else { unreachable!("just made") };
        let result = f(conn);
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// The shared overrides (the mirror brought up to date), or the mirror's
    /// when Redis does not answer.
    pub fn load(&self) -> Overrides {
        let text: redis::RedisResult<Option<String>> = self.with(|c| c.get(self.key("overrides")));
        match text {
            Ok(text) => {
                let shared: Overrides = match text.as_deref().map(serde_json::from_str).transpose() {
                    Ok(o) => o.unwrap_or_default(),
                    Err(e) => {
                        tracing::error!(error = %e, "unreadable shared rollback overrides ignored");
                        Overrides::new()
                    }
                };
                if super::load(&self.mirror) != shared
                    && let Err(e) = super::save(&self.mirror, &shared)
                {
                    tracing::warn!(path = %self.mirror.display(), error = %e, "cannot mirror the shared overrides");
                }
                shared
            }
            Err(e) => {
                tracing::warn!(error = %e, path = %self.mirror.display(), "Redis did not answer for the rollback overrides; using the mirror file");
                super::load(&self.mirror)
            }
        }
    }

    /// Stores `overrides` for every replica (and the mirror).
    pub fn save(&self, overrides: &Overrides) -> std::io::Result<()> {
        let text = serde_json::to_string(overrides).map_err(std::io::Error::other)?;
        let key = self.key("overrides");
        let generation = self.key("generation");
        self.with(|c| {
            redis::pipe().atomic().set(&key, &text).ignore().incr(&generation, 1).ignore().query::<()>(c)
        })
        .map_err(|e| std::io::Error::other(format!("shared overrides in Redis: {e}")))?;
        super::save(&self.mirror, overrides)
    }

    /// How many times the shared overrides changed (`None`: Redis did not answer).
    pub fn generation(&self) -> Option<u64> {
        let key = self.key("generation");
        self.with(|c| c.get::<_, Option<u64>>(&key)).ok().map(|g| g.unwrap_or(0))
    }

    /// Pushes audit lines (JSON, one per line) to the shared audit list.
    pub fn audit(&self, lines: &str) {
        let key = self.key("audit");
        let lines: Vec<&str> = lines.lines().collect();
        if lines.is_empty() {
            return;
        }
        let pushed = self.with(|c| {
            redis::pipe().rpush(&key, &lines).ignore().ltrim(&key, -AUDIT_KEPT, -1).ignore().query::<()>(c)
        });
        if let Err(e) = pushed {
            tracing::warn!(error = %e, "cannot push to the shared audit log (the local one has it)");
        }
    }
}

#[cfg(test)]
mod tests {
    use vox_redis_server::RedisServer;

    use super::super::Override;
    use super::*;

    #[test]
    fn one_replicas_override_is_every_replicas_and_the_mirror_carries_it_while_redis_is_away() {
        let Some(mut redis) = RedisServer::start() else { return };
        let dir = std::env::temp_dir().join(format!("vox-shared-overrides-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = Shared::new(&redis.url(), "t:", dir.join("a/rollout-override.json")).expect("url");
        let b = Shared::new(&redis.url(), "t:", dir.join("b/rollout-override.json")).expect("url");
        assert!(b.load().is_empty());
        let before = b.generation().expect("redis answers");
        let mut o = Overrides::new();
        o.insert(
            "my_reports".into(),
            Override { candidate: "v2".into(), reason: "r".into(), at: "t".into() },
        );
        a.save(&o).expect("save");
        assert_eq!(b.generation(), Some(before + 1), "the other replica sees the change");
        assert_eq!(b.load(), o);
        assert_eq!(super::super::load(b.mirror()), o, "and mirrors it");
        a.audit("{\"cause\":\"auto_rollback\"}\n");
        redis.kill();
        assert_eq!(b.generation(), None, "Redis away");
        assert_eq!(b.load(), o, "the mirror stands in");
        assert!(a.save(&Overrides::new()).is_err(), "a change that cannot be shared is refused");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
