//! Path security for report files: lexical checks on a relative path and symlink-resolved
//! containment in the owner's `user_<id>/` directory.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::error::PathRefusal;

/// The directory (relative to the reports directory) holding a user's report files.
pub(crate) fn user_dir_name(user: i64) -> String {
    format!("user_{user}")
}

/// Checks `rel` without touching the disk: relative, no `..`, inside `user_<user>/`.
pub(crate) fn check_lexically(user: i64, rel: &str) -> Result<(), PathRefusal> {
    let path = Path::new(rel);
    let components: Vec<Component<'_>> = path.components().collect();
    if path.is_absolute() || components.iter().any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
    {
        return Err(PathRefusal::Absolute);
    }
    if components.contains(&Component::ParentDir) {
        return Err(PathRefusal::ParentDir);
    }
    match components.first() {
        Some(Component::Normal(first)) if first.to_str() == Some(user_dir_name(user).as_str()) => Ok(()),
        _ => Err(PathRefusal::OtherUser),
    }
}

/// The canonical path of the file `rel` names, if it is a regular file whose symlink-resolved
/// location is inside the canonical `user_<user>/` directory. Call [`check_lexically`] first.
pub(crate) fn contained_file(root: &Path, user: i64, rel: &str) -> Result<PathBuf, PathRefusal> {
    let user_dir = fs::canonicalize(root.join(user_dir_name(user))).map_err(|_| PathRefusal::Missing)?;
    let file = fs::canonicalize(root.join(rel)).map_err(|_| PathRefusal::Missing)?;
    if file == user_dir || !file.starts_with(&user_dir) {
        return Err(PathRefusal::OutsideUserDir);
    }
    if !file.is_file() {
        return Err(PathRefusal::Missing);
    }
    Ok(file)
}

/// The path to unlink when deleting `rel`: the directory entry itself (a symlink is removed, not
/// its target), allowed only when the directory holding it resolves inside `user_<user>/`.
pub(crate) fn removable_file(root: &Path, user: i64, rel: &str) -> Result<PathBuf, PathRefusal> {
    check_lexically(user, rel)?;
    let path = root.join(rel);
    let name_is_normal = matches!(Path::new(rel).components().next_back(), Some(Component::Normal(_)));
    let parent = path.parent().filter(|_| name_is_normal).ok_or(PathRefusal::OutsideUserDir)?;
    let user_dir = fs::canonicalize(root.join(user_dir_name(user))).map_err(|_| PathRefusal::Missing)?;
    let parent = fs::canonicalize(parent).map_err(|_| PathRefusal::Missing)?;
    if !parent.starts_with(&user_dir) {
        return Err(PathRefusal::OutsideUserDir);
    }
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => Err(PathRefusal::Missing),
        Ok(_) => Ok(path),
        Err(_) => Err(PathRefusal::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::os::unix::fs::symlink;

    #[test]
    fn lexical_checks() {
        assert_eq!(check_lexically(42, "user_42/a.txt"), Ok(()));
        assert_eq!(check_lexically(42, "/etc/passwd"), Err(PathRefusal::Absolute));
        assert_eq!(check_lexically(42, "/user_42/a.txt"), Err(PathRefusal::Absolute));
        assert_eq!(check_lexically(42, "user_42/../user_43/a.txt"), Err(PathRefusal::ParentDir));
        assert_eq!(check_lexically(42, "../user_42/a.txt"), Err(PathRefusal::ParentDir));
        assert_eq!(check_lexically(42, "user_43/a.txt"), Err(PathRefusal::OtherUser));
        assert_eq!(check_lexically(42, "user_420/a.txt"), Err(PathRefusal::OtherUser));
        assert_eq!(check_lexically(-5, "user_-5/a.txt"), Ok(()));
        assert_eq!(check_lexically(42, ""), Err(PathRefusal::OtherUser));
    }

    #[test]
    fn containment_follows_symlinks() {
        let tmp = TempDir::new("paths");
        let root = tmp.path();
        fs::create_dir_all(root.join("user_42")).expect("mkdir");
        fs::create_dir_all(root.join("user_43")).expect("mkdir");
        fs::write(root.join("user_42/a.txt"), b"x").expect("write");
        fs::write(root.join("user_43/b.txt"), b"x").expect("write");
        symlink(root.join("user_43/b.txt"), root.join("user_42/link.txt")).expect("symlink");
        symlink(root.join("user_42/a.txt"), root.join("user_42/inner.txt")).expect("symlink");

        let canonical = fs::canonicalize(root.join("user_42/a.txt")).expect("canonical");
        assert_eq!(contained_file(root, 42, "user_42/a.txt"), Ok(canonical.clone()));
        assert_eq!(contained_file(root, 42, "user_42/inner.txt"), Ok(canonical));
        assert_eq!(contained_file(root, 42, "user_42/link.txt"), Err(PathRefusal::OutsideUserDir));
        assert_eq!(contained_file(root, 42, "user_42/none.txt"), Err(PathRefusal::Missing));
        assert_eq!(contained_file(root, 42, "user_42"), Err(PathRefusal::OutsideUserDir));

        // Deleting a link removes the link, never what it points to.
        assert_eq!(removable_file(root, 42, "user_42/link.txt"), Ok(root.join("user_42/link.txt")));
        assert_eq!(removable_file(root, 42, "user_42/none.txt"), Err(PathRefusal::Missing));
        assert_eq!(removable_file(root, 42, "user_43/b.txt"), Err(PathRefusal::OtherUser));
    }
}
