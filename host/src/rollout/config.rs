//! A plugin section's version keys — `version`, `[versions]`, `[rollout]` —
//! checked against the plugin's declared versions and compiled into a [`Policy`].

use serde::Deserialize;
use vox_plugin::Manifest;

use super::policy::{AutoRollback, Policy, Rollout};

/// `[plugins.<id>.rollout]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutSection {
    stable: String,
    candidate: String,
    #[serde(default)]
    percent: f64,
    #[serde(default)]
    allow: Vec<i64>,
    #[serde(default)]
    deny: Vec<i64>,
    #[serde(default)]
    kill: bool,
    salt: Option<String>,
    #[serde(default)]
    auto_rollback: AutoRollback,
}

fn declared(manifest: &Manifest) -> String {
    manifest.versions.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
}

fn version_of(manifest: &'static Manifest, key: &str, name: &str) -> Result<&'static str, String> {
    let id = manifest.id;
    manifest.version(name).map(|v| v.name).ok_or_else(|| {
        format!(
            "`plugins.{id}.{key}`: `{name}` is not a version of `{id}` (declared: {})",
            declared(manifest)
        )
    })
}

/// Takes `version`, `versions` and `rollout` out of a plugin section and
/// compiles them; errors name the key.
pub fn take_policy(
    manifest: &'static Manifest,
    section: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Policy, String> {
    let id = manifest.id;
    let version = section.remove("version");
    let versions = section.remove("versions");
    let rollout = section.remove("rollout");
    if manifest.versions.is_empty() {
        if let Some(key) = [("version", &version), ("versions", &versions), ("rollout", &rollout)]
            .iter()
            .find_map(|(k, v)| v.as_ref().map(|_| *k))
        {
            return Err(format!("`plugins.{id}.{key}`: plugin `{id}` has no versions"));
        }
        return Ok(Policy::unversioned());
    }

    let configured = match version {
        None => manifest.versions.first().map(|v| v.name),
        Some(serde_json::Value::String(name)) => Some(version_of(manifest, "version", &name)?),
        Some(other) => return Err(format!("`plugins.{id}.version`: expected a version name, found {other}")),
    };

    let mut enabled: Vec<(&'static str, bool)> = manifest.versions.iter().map(|v| (v.name, true)).collect();
    match versions {
        None => {}
        Some(serde_json::Value::Object(map)) => {
            for (name, on) in map {
                let key = format!("versions.{name}");
                let version = version_of(manifest, &key, &name)?;
                let on = on
                    .as_bool()
                    .ok_or_else(|| format!("`plugins.{id}.{key}`: expected true or false, found {on}"))?;
                if let Some(slot) = enabled.iter_mut().find(|(v, _)| *v == version) {
                    slot.1 = on;
                }
            }
        }
        Some(other) => {
            return Err(format!("`plugins.{id}.versions`: expected a table like `v1 = true`, found {other}"));
        }
    }

    let rollout = match rollout {
        None => None,
        Some(value) => {
            let section: RolloutSection = serde_path_to_error::deserialize(&value).map_err(|e| {
                let path = e.path().to_string();
                let key = if path == "." {
                    format!("plugins.{id}.rollout")
                } else {
                    format!("plugins.{id}.rollout.{path}")
                };
                format!("`{key}`: {}", e.into_inner())
            })?;
            Some(compile(manifest, section)?)
        }
    };
    Ok(Policy { versions: enabled, configured, rollout })
}

fn compile(manifest: &'static Manifest, r: RolloutSection) -> Result<Rollout, String> {
    let id = manifest.id;
    let stable = version_of(manifest, "rollout.stable", &r.stable)?;
    let candidate = version_of(manifest, "rollout.candidate", &r.candidate)?;
    if stable == candidate {
        return Err(format!("`plugins.{id}.rollout.candidate`: must differ from `stable` (both `{stable}`)"));
    }
    if !r.percent.is_finite() || !(0.0..=100.0).contains(&r.percent) {
        return Err(format!("`plugins.{id}.rollout.percent`: must be between 0 and 100, got {}", r.percent));
    }
    if let Some(user) = r.allow.iter().find(|u| r.deny.contains(u)) {
        return Err(format!("`plugins.{id}.rollout`: user {user} is in both `allow` and `deny`"));
    }
    let salt = r.salt.unwrap_or_else(|| format!("{id}-{candidate}"));
    if salt.is_empty() {
        return Err(format!("`plugins.{id}.rollout.salt`: must not be empty"));
    }
    let a = &r.auto_rollback;
    if !(10..=3600).contains(&a.window_secs) {
        return Err(format!("`plugins.{id}.rollout.auto_rollback.window_secs`: must be between 10 and 3600"));
    }
    if a.min_sample == 0 || a.max_failures == 0 {
        return Err(format!(
            "`plugins.{id}.rollout.auto_rollback`: `min_sample` and `max_failures` must be at least 1"
        ));
    }
    if !(0.0..=1.0).contains(&a.max_error_rate_delta) {
        return Err(format!(
            "`plugins.{id}.rollout.auto_rollback.max_error_rate_delta`: must be between 0 and 1"
        ));
    }
    let mut rollout = Rollout::new(stable, candidate, r.percent, r.allow, r.deny, r.kill, salt);
    rollout.auto = r.auto_rollback;
    Ok(rollout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vox_plugin::Version;

    const REPORTS: Manifest =
        Manifest { versions: &[Version::new("v1"), Version::new("v2")], ..Manifest::new("my_reports", "R") };
    const PLAIN: Manifest = Manifest::new("plain", "P");

    fn policy(manifest: &'static Manifest, toml_like: serde_json::Value) -> Result<Policy, String> {
        let mut map = toml_like.as_object().cloned().unwrap_or_default();
        take_policy(manifest, &mut map)
    }

    #[test]
    fn a_full_rollout_section_compiles() {
        let p = policy(
            &REPORTS,
            serde_json::json!({
                "version": "v1",
                "versions": {"v1": true, "v2": true},
                "rollout": {"stable": "v1", "candidate": "v2", "percent": 0.5, "allow": [222, 111], "deny": [333], "salt": "s"}
            }),
        )
        .expect("valid");
        let r = p.rollout.expect("rollout");
        assert_eq!(
            (r.stable, r.candidate, r.percent, r.allow(), r.deny()),
            ("v1", "v2", 0.5, &[111, 222][..], &[333][..])
        );
        assert_eq!(p.configured, Some("v1"));
        let p = policy(
            &REPORTS,
            serde_json::json!({"rollout": {"stable": "v1", "candidate": "v2", "percent": 5}}),
        )
        .expect("integer percent");
        assert_eq!(p.rollout.expect("rollout").salt, "my_reports-v2");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            (
                serde_json::json!({"version": "v3"}),
                "`plugins.my_reports.version`: `v3` is not a version of `my_reports` (declared: v1, v2)",
            ),
            (
                serde_json::json!({"versions": {"v3": false}}),
                "`plugins.my_reports.versions.v3`: `v3` is not a version",
            ),
            (
                serde_json::json!({"versions": {"v1": "no"}}),
                "`plugins.my_reports.versions.v1`: expected true or false",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v1", "candidate": "v2", "percent": 150}}),
                "`plugins.my_reports.rollout.percent`: must be between 0 and 100, got 150",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v1", "candidate": "v2", "percent": -1}}),
                "`plugins.my_reports.rollout.percent`",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v1", "candidate": "v9"}}),
                "`plugins.my_reports.rollout.candidate`: `v9` is not a version",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v2", "candidate": "v2"}}),
                "must differ from `stable`",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v1", "candidate": "v2", "allow": [1, 111], "deny": [111]}}),
                "`plugins.my_reports.rollout`: user 111 is in both `allow` and `deny`",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v1", "candidate": "v2", "percent": "five"}}),
                "`plugins.my_reports.rollout.percent`: invalid type",
            ),
            (
                serde_json::json!({"rollout": {"stable": "v1", "candidate": "v2", "kil": true}}),
                "`plugins.my_reports.rollout.kil`: unknown field `kil`",
            ),
            (serde_json::json!({"rollout": {"candidate": "v2"}}), "missing field `stable`"),
        ];
        for (section, expected) in cases {
            let err = policy(&REPORTS, section.clone()).expect_err(&section.to_string());
            assert!(err.contains(expected), "{section}: {err}");
        }
        let err = policy(&PLAIN, serde_json::json!({"version": "v1"})).expect_err("unversioned");
        assert_eq!(err, "`plugins.plain.version`: plugin `plain` has no versions");
    }
}
