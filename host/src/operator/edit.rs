//! In-place edits of the operator's TOML config for `vox-host rollout …`: comments, order and
//! formatting of everything untouched survive, and the file is replaced atomically.

use std::fs::{self, File};
use std::io::{self, Write as _};
#[cfg(unix)]
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use toml_edit::{Array, DocumentMut, InlineTable, Item, Key, RawString, Table, TableLike, Value};

/// One change to a config file.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Sets `path` (e.g. `["plugins","my_reports","rollout","percent"]`) to a value, creating tables as needed.
    Set { path: Vec<String>, value: EditValue },
    /// Adds an integer to the array at `path` (created if missing) unless already present.
    Add { path: Vec<String>, value: i64 },
    /// Removes an integer from the array at `path` (no-op if absent or the array is missing).
    Remove { path: Vec<String>, value: i64 },
}

/// A plain value [`Edit::Set`] writes.
#[derive(Debug, Clone, PartialEq)]
pub enum EditValue {
    /// `true` / `false`.
    Bool(bool),
    /// Printed as `25`.
    Int(i64),
    /// Printed as `0.5` (a whole float as `25.0`).
    Float(f64),
    /// A string, quoted and escaped as needed.
    Str(String),
}

/// Why an edit was not made; the file is then left as it was.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file is not valid TOML; `message` is toml_edit's, with line and column.
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    /// A key on the path is not a table, or the target has the wrong type; `key` is dotted.
    #[error("cannot edit `{key}`: {message}")]
    Conflict { key: String, message: String },
    /// Reading or replacing the file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The caller's check refused the edited text (see [`edit_file_checked`]).
    #[error("{0}")]
    Refused(String),
}

/// Applies edits to TOML text; everything not edited stays byte-for-byte (comments included).
/// Edits apply in order; the first error stops them. A parse error names the file `<input>`.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, EditError> {
    apply_named(text, edits, "<input>")
}

/// Reads `path` (empty if missing), applies the edits, writes atomically: temp file in the same dir,
/// write, fsync, keep the original file's permissions, rename over, fsync the directory. Returns the new text.
///
/// A symlink is followed, so the link stays a link. An existing file the edits do not change is
/// not rewritten, so the running host sees no reload.
pub fn edit_file(path: &Path, edits: &[Edit]) -> Result<String, EditError> {
    edit_file_checked(path, edits, |_| Ok(()))
}

/// [`edit_file`], but `check` sees the edited text first and can refuse it: the
/// text checked is exactly the text written (read, edited and written in one go).
pub fn edit_file_checked(
    path: &Path,
    edits: &[Edit],
    check: impl FnOnce(&str) -> Result<(), String>,
) -> Result<String, EditError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EditError::Io { path, source }
    };
    // Renaming over a symlink would replace the link with a plain copy.
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(io_err(path))?,
        _ => path.to_path_buf(),
    };
    let (text, meta) = match fs::read_to_string(&target) {
        Ok(text) => (text, Some(fs::metadata(&target).map_err(io_err(&target))?)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (String::new(), None),
        Err(e) => return Err(io_err(&target)(e)),
    };
    let edited = apply_named(&text, edits, &target.display().to_string())?;
    check(&edited).map_err(EditError::Refused)?;
    if meta.is_none() || edited != text {
        write_atomically(&target, &edited, meta.as_ref()).map_err(io_err(&target))?;
    }
    Ok(edited)
}

fn apply_named(text: &str, edits: &[Edit], name: &str) -> Result<String, EditError> {
    let parse_err =
        |path: String| move |e: toml_edit::TomlError| EditError::Parse { path, message: e.to_string() };
    let mut doc: DocumentMut = text.parse().map_err(parse_err(name.to_owned()))?;
    for edit in edits {
        apply_one(&mut doc, edit)?;
    }
    let mut edited = doc.to_string();
    if text.contains("\r\n") {
        // toml_edit writes LF only; a CRLF file keeps its line endings.
        edited = edited.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    // A bug here must never reach the file the running host reads.
    edited.parse::<DocumentMut>().map_err(parse_err(format!("{name} (as edited)")))?;
    Ok(edited)
}

fn apply_one(doc: &mut DocumentMut, edit: &Edit) -> Result<(), EditError> {
    let (Edit::Set { path, .. } | Edit::Add { path, .. } | Edit::Remove { path, .. }) = edit;
    let Some((leaf, parents)) = path.split_last() else {
        return Err(conflict(path, "empty key path".into()));
    };
    let create = !matches!(edit, Edit::Remove { .. });
    let Some((node, inline)) = walk(doc.as_table_mut(), parents, create)? else { return Ok(()) };
    if node.get(leaf).is_none() {
        // A new value is then set like an existing one.
        match edit {
            Edit::Set { value, .. } => insert_value(node, inline, leaf, value.to_value()),
            Edit::Add { .. } => insert_value(node, inline, leaf, Value::Array(Array::new())),
            Edit::Remove { .. } => {}
        }
    }
    let Some(item) = node.get_mut(leaf) else { return Ok(()) };
    let found = item.type_name();
    let expected = match (edit, item.as_value_mut()) {
        (Edit::Set { value, .. }, Some(old)) if !old.is_array() && !old.is_inline_table() => {
            let mut value = value.to_value();
            // The decor holds the spacing and the comment after the value.
            *value.decor_mut() = old.decor().clone();
            *old = value;
            return Ok(());
        }
        (Edit::Add { value, .. } | Edit::Remove { value, .. }, Some(Value::Array(array))) => {
            let find = |a: &Array| a.iter().position(|v| v.as_integer() == Some(*value));
            if matches!(edit, Edit::Remove { .. }) {
                while let Some(i) = find(array) {
                    remove_styled(array, i);
                }
            } else if find(array).is_none() {
                push_styled(array, *value);
            }
            return Ok(());
        }
        (Edit::Set { .. }, _) => "a plain value",
        _ => "an array",
    };
    Err(conflict(path, format!("expected {expected}, found {found}")))
}

impl EditValue {
    fn to_value(&self) -> Value {
        match self {
            EditValue::Bool(b) => Value::from(*b),
            EditValue::Int(i) => Value::from(*i),
            EditValue::Float(f) => Value::from(*f),
            EditValue::Str(s) => Value::from(s.as_str()),
        }
    }
}

fn conflict(path: &[String], message: String) -> EditError {
    let key = path.iter().map(|k| Key::new(k.as_str()).display_repr().into_owned()).collect::<Vec<_>>();
    EditError::Conflict { key: key.join("."), message }
}

/// Descends to the table holding the leaf (`None`: one is missing and `create` is off); the
/// flag says it is (inside) an inline table, where no `[header]` table may be created.
fn walk<'a>(
    root: &'a mut Table,
    parents: &[String],
    create: bool,
) -> Result<Option<(&'a mut dyn TableLike, bool)>, EditError> {
    let (mut pos, mut new_pos, mut inline) = (root.position(), None, false);
    let mut node: &'a mut dyn TableLike = root;
    for (depth, key) in parents.iter().enumerate() {
        if node.get(key).is_none() {
            if !create {
                return Ok(None);
            }
            if inline {
                insert_value(node, true, key, Value::InlineTable(InlineTable::new()));
            } else {
                // After every table already under the nearest existing ancestor (for a new
                // `rollout`: after the plugin's tables), not at the end of the file.
                let p = *new_pos.get_or_insert_with(|| pos.max(max_position(&*node)));
                let mut table = Table::new();
                table.set_implicit(true); // a mere parent gets no empty `[plugins.x]` header
                table.set_position(p);
                node.insert(key, Item::Table(table));
            }
        }
        let Some(item) = node.get_mut(key) else { return Ok(None) };
        let found = item.type_name();
        inline |= item.is_inline_table();
        pos = item.as_table().and_then(Table::position).or(pos);
        node = match item.as_table_like_mut() {
            Some(table) => table,
            None => return Err(conflict(&parents[..=depth], format!("expected a table, found {found}"))),
        };
    }
    Ok(Some((node, inline)))
}

fn max_position(node: &dyn TableLike) -> Option<isize> {
    let of = |t: &Table| t.position().max(max_position(t));
    let each = node.iter().filter_map(|(_, item)| match item {
        Item::Table(t) => of(t),
        Item::ArrayOfTables(a) => a.iter().filter_map(of).max(),
        _ => None,
    });
    each.max()
}

fn insert_value(node: &mut dyn TableLike, inline: bool, key: &str, mut value: Value) {
    if inline {
        // In `{ a = 1 }` the space before `}` is the last value's suffix: it moves behind the new one.
        let last = node.iter_mut().last().and_then(|(_, item)| item.as_value_mut());
        if let Some(last) = last
            && let Some(suffix) = last.decor().suffix().cloned()
        {
            value.decor_mut().set_suffix(suffix);
            last.decor_mut().set_suffix("");
        }
    }
    node.insert(key, Item::Value(value));
}

fn raw(s: Option<&RawString>, default: &str) -> String {
    s.and_then(RawString::as_str).unwrap_or(default).to_owned()
}

/// An array's decor as the text before each value plus the text before `]` (after a trailing
/// comma, if any). Without a trailing comma the last value's suffix is that same text: moved there.
fn take_gaps(array: &mut Array) -> Vec<String> {
    let mut end = raw(Some(array.trailing()), "");
    if !array.trailing_comma()
        && let Some(last) = array.iter_mut().last()
    {
        end = raw(last.decor().suffix(), "") + &end;
        last.decor_mut().set_suffix("");
    }
    let prefix = |(i, v): (usize, &Value)| raw(v.decor().prefix(), if i == 0 { "" } else { " " });
    let mut gaps: Vec<String> = array.iter().enumerate().map(prefix).collect();
    gaps.push(end);
    gaps
}

fn set_gaps(array: &mut Array, mut gaps: Vec<String>) {
    array.set_trailing(gaps.pop().unwrap_or_default());
    for (value, gap) in array.iter_mut().zip(gaps) {
        value.decor_mut().set_prefix(gap);
    }
}

/// Appends in the array's style. One value per line: same indent, and the comment that ended
/// the last line (it sits after the comma, in the next gap) stays on that line.
fn push_styled(array: &mut Array, value: i64) {
    let mut gaps = take_gaps(array);
    let end = gaps.pop().unwrap_or_default();
    let indent = gaps.last().and_then(|p| p.rfind('\n').map(|nl| p[nl + 1..].to_owned()));
    let (prefix, end) = match (indent, end.find('\n')) {
        (Some(indent), Some(g)) => (format!("{}{indent}", &end[..=g]), format!("\n{}", &end[g + 1..])),
        (Some(indent), None) => (format!("{end}\n{indent}"), String::new()),
        (None, _) if gaps.is_empty() && !end.contains('#') => (String::new(), String::new()), // `[ ]`
        (None, _) => (if gaps.is_empty() { "" } else { " " }.to_owned(), end),
    };
    gaps.extend([prefix, end]);
    array.push(value);
    set_gaps(array, gaps);
}

/// Removes value `i`, with its line when it has one of its own, keeping the comment that ended
/// the previous line and full-line comments above the value.
fn remove_styled(array: &mut Array, i: usize) {
    let mut gaps = take_gaps(array);
    let (own, next, last) = (&gaps[i], &gaps[i + 1], i + 2 == gaps.len());
    let merged = match (own.find('\n'), next.find('\n')) {
        (Some(o), Some(x)) => {
            let above = own[o + 1..].split_inclusive('\n').filter(|l| l.ends_with('\n') && l.contains('#'));
            format!("{}{}{}", &own[..=o], above.collect::<String>(), &next[x + 1..])
        }
        (Some(_), None) if !last => own.clone(),
        (None, _) if i == 0 => own.clone() + next.trim_start_matches([' ', '\t']),
        _ => next.clone(),
    };
    gaps.remove(i);
    gaps[i] = if gaps.len() == 1 && !merged.contains('#') { String::new() } else { merged };
    array.remove(i);
    if array.is_empty() {
        array.set_trailing_comma(false);
    }
    set_gaps(array, gaps);
}

fn write_atomically(path: &Path, text: &str, meta: Option<&fs::Metadata>) -> io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp); // only a crashed run with a reused pid leaves one
    let written = (|| {
        let mut file = File::options().write(true).create_new(true).open(&tmp)?;
        if let Some(meta) = meta {
            // As root the copy would be root's, unreadable to a host running as the owner.
            #[cfg(unix)]
            if let Err(e) = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid())) {
                tracing::warn!(error = %e, "the edited config file gets a new owner");
            }
            file.set_permissions(meta.permissions())?; // before any content is in it
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable only once the directory entry is.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests;
