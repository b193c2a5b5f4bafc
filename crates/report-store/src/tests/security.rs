//! Path security of `resolve_user_file` and `report_path`, and the consistency scan.

use std::fs;
use std::os::unix::fs::symlink;

use super::super::PathRefusal;
use super::super::testutil::{TempDir, legacy_entry, write_legacy};
use super::open;

#[test]
fn resolve_user_file_refuses_unsafe_paths() {
    let tmp = TempDir::new("security");
    let root = tmp.path();
    let mut link = legacy_entry(1, 3, "2025-01-15T14:30:00", "link");
    link["file_path"] = "user_1/link.txt".into();
    let mut missing = legacy_entry(1, 4, "2025-01-15T14:30:00", "missing");
    missing["file_path"] = "user_1/missing.txt".into();
    write_legacy(
        root,
        &[
            legacy_entry(1, 1, "2025-01-15T14:30:00", "a"),
            legacy_entry(2, 1, "2025-01-15T14:30:00", "b"),
            link,
            missing,
        ],
    );
    fs::remove_file(root.join("user_1/link.txt")).expect("replace by link");
    fs::write(root.join("secret.txt"), b"secret").expect("secret");
    symlink(root.join("secret.txt"), root.join("user_1/link.txt")).expect("symlink");
    fs::remove_file(root.join("user_1/missing.txt")).expect("remove");
    fs::write(root.join("user_1/unlisted.txt"), b"x").expect("unlisted");
    let storage = open(root);

    let ok = storage.resolve_user_file_blocking(1, "user_1/voxpersona_0001.txt").expect("allowed");
    assert_eq!(ok, fs::canonicalize(root.join("user_1/voxpersona_0001.txt")).expect("canonical"));
    let refused = |rel: &str| storage.resolve_user_file_blocking(1, rel).expect_err(rel);
    assert_eq!(refused("user_1/../user_2/voxpersona_0001.txt"), PathRefusal::ParentDir);
    assert_eq!(refused("../secret.txt"), PathRefusal::ParentDir);
    let absolute = root.join("user_1/voxpersona_0001.txt");
    assert_eq!(refused(absolute.to_str().expect("UTF-8 temp path")), PathRefusal::Absolute);
    assert_eq!(refused("user_2/voxpersona_0001.txt"), PathRefusal::OtherUser);
    assert_eq!(refused("user_1/unlisted.txt"), PathRefusal::NotInIndex);
    assert_eq!(refused("user_1/link.txt"), PathRefusal::OutsideUserDir);
    assert_eq!(refused("user_1/missing.txt"), PathRefusal::Missing);

    let reports = storage.list_blocking(1).expect("list");
    let by_title = |t: &str| reports.iter().find(|r| r.title == t).expect("report").clone();
    assert!(storage.report_path_blocking(&by_title("a")).is_ok());
    assert_eq!(storage.report_path_blocking(&by_title("link")), Err(PathRefusal::OutsideUserDir));
    let forged = super::super::Report { file_path: "user_2/voxpersona_0001.txt".into(), ..by_title("a") };
    assert_eq!(storage.report_path_blocking(&forged), Err(PathRefusal::OtherUser));

    // Deleting the entry whose file is a link removes the link, not the target.
    storage.delete_blocking(1, 3, "user_1/link.txt").expect("delete");
    assert!(root.join("secret.txt").exists());
    assert!(fs::symlink_metadata(root.join("user_1/link.txt")).is_err());
}

#[test]
fn open_detects_orphans_and_dangling_entries_without_fixing_them() {
    let tmp = TempDir::new("scan");
    let root = tmp.path();
    write_legacy(
        root,
        &[legacy_entry(1, 1, "2025-01-15T14:30:00", "a"), legacy_entry(1, 2, "2025-01-15T14:30:00", "b")],
    );
    fs::remove_file(root.join("user_1/voxpersona_0002.txt")).expect("dangling");
    fs::create_dir_all(root.join("user_5")).expect("mkdir");
    fs::write(root.join("user_5/lost.txt"), b"x").expect("orphan");
    let storage = open(root);
    let stats = storage.stats();
    assert_eq!((stats.orphan_files, stats.dangling_entries), (1, 1));
    let found = storage.check_consistency_blocking().expect("check");
    assert_eq!(found.orphan_files, ["user_5/lost.txt"]);
    assert_eq!(found.dangling_entries, ["user_1/voxpersona_0002.txt"]);
    assert!(root.join("user_5/lost.txt").exists());
    assert_eq!(storage.list_blocking(1).expect("list").len(), 2);
}
