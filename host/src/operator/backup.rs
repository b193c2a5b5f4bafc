//! `vox-host backup-paths`: everything a backup of this host must hold, as
//! the config resolves it — the data directory (state store, status file), the
//! rollback override file, and each plugin's own data (my-reports' reports
//! directory, wherever it lives) — one `kind<TAB>absolute path` per line, for
//! `scripts/deploy.sh`. The plugins say where their data is
//! (`PluginConfig::data_paths`); the host knows none of it.

use std::path::{Path, PathBuf};

use crate::registry::load::Checked;

/// The lines to print, `(kind, path)`: `data_dir`, `overrides`, then
/// `plugin:<id>` per path a plugin named; absolute, without repeats and
/// without paths inside the data directory (the data directory holds them).
pub fn paths(checked: &Checked, data_dir: &Path, overrides: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    let data_dir = absolute(data_dir);
    let mut out =
        vec![("data_dir".to_owned(), data_dir.clone()), ("overrides".to_owned(), absolute(overrides))];
    let setup = vox_plugin::Setup::new(&data_dir);
    for p in &checked.plugins {
        let named = (p.registration.data_paths)(&p.section, &setup)
            .map_err(|e| format!("`plugins.{}.{}`: {}", p.manifest.id, e.key, e.message))?;
        for path in named.iter().map(|p| absolute(p)) {
            if !path.starts_with(&data_dir) && !out.iter().any(|(_, seen)| *seen == path) {
                out.push((format!("plugin:{}", p.manifest.id), path));
            }
        }
    }
    Ok(out)
}
