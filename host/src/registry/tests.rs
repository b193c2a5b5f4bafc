//! The start-up validator against hand-made manifests; error texts are pinned.

use super::*;
use vox_plugin::{Command, Step, Version};

const MENU: Manifest = Manifest {
    commands: &[Command::new("start", "Меню"), Command::new("menu", "Меню")],
    callback_prefixes: &["menu_main", "menu_chats"],
    ..Manifest::new("main_menu", "Main menu")
};
const REPORTS: Manifest = Manifest {
    callback_prefixes: &["show_my_reports"],
    versions: &[
        Version::new("v1").callbacks(&["send_report||", "show_all_reports"]),
        Version::new("v2")
            .callbacks(&["report_", "report_delete_yes"])
            .steps(&[Step::new("report_view_ask_number").ttl(Duration::from_secs(300))]),
    ],
    ..Manifest::new("my_reports", "Мои отчеты")
};

fn messages(errors: Vec<RegistryError>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn routes_by_command_longest_prefix_and_step() {
    let r = Registry::build([&REPORTS, &MENU]).expect("valid");
    assert_eq!(r.manifest(r.command("start").expect("start")).id, "main_menu");
    assert!(r.command("cancel").is_none());
    let send = r.callback("send_report||user_1/a.txt").expect("v1 prefix");
    assert_eq!((r.manifest(send.plugin).id, send.version), ("my_reports", Some("v1")));
    let yes = r.callback("report_delete_yes:3").expect("v2 prefix");
    assert_eq!(yes.prefix, "report_delete_yes", "the longest prefix wins");
    assert_eq!(r.callback("show_my_reports").expect("free").version, None);
    assert!(r.callback("unknown").is_none());
    let step = r.step("report_view_ask_number").expect("step");
    assert_eq!((step.version, step.ttl), (Some("v2"), Some(Duration::from_secs(300))));
}

#[test]
fn duplicate_ids_name_both_plugins() {
    const A: Manifest = Manifest::new("dup", "First");
    const B: Manifest = Manifest::new("dup", "Second");
    let errors = messages(Registry::build([&A, &B]).expect_err("duplicate"));
    assert_eq!(errors, ["plugin id `dup` is registered twice: by \"First\" and by \"Second\""]);
}

#[test]
fn a_prefix_that_starts_another_plugins_prefix_is_refused() {
    const GREEDY: Manifest = Manifest { callback_prefixes: &["show_"], ..Manifest::new("greedy", "G") };
    let errors = messages(Registry::build([&REPORTS, &GREEDY]).expect_err("overlap"));
    assert_eq!(
        errors,
        [
            "callback prefix `show_` of plugin `greedy` overlaps callback prefix `show_my_reports` of plugin \
          `my_reports`: a button's data could match both",
            "callback prefix `show_` of plugin `greedy` overlaps callback prefix `show_all_reports` of plugin \
          `my_reports` (v1): a button's data could match both"
        ]
    );
}

#[test]
fn an_equal_prefix_in_another_plugin_is_refused() {
    const COPY: Manifest = Manifest { callback_prefixes: &["menu_chats"], ..Manifest::new("copy", "C") };
    let errors = messages(Registry::build([&MENU, &COPY]).expect_err("equal"));
    assert_eq!(
        errors,
        ["callback prefix `menu_chats` of plugin `copy` overlaps callback prefix `menu_chats` of plugin \
          `main_menu`: a button's data could match both"]
    );
}

#[test]
fn duplicate_steps_and_commands_name_both_owners() {
    const OTHER: Manifest = Manifest {
        commands: &[Command::new("menu", "Другое меню")],
        steps: &[Step::new("report_view_ask_number")],
        ..Manifest::new("other", "Other")
    };
    let errors = messages(Registry::build([&MENU, &REPORTS, &OTHER]).expect_err("duplicates"));
    assert_eq!(
        errors,
        [
            "command `/menu` is declared by plugin `main_menu` and by plugin `other`",
            "step `report_view_ask_number` is declared by plugin `my_reports` (v2) and by plugin `other`"
        ]
    );
}

#[test]
fn a_prefix_that_cannot_fit_callback_data_is_refused() {
    const LONG: Manifest = Manifest {
        callback_prefixes: &["a_prefix_that_is_far_too_long_to_fit_into_telegram_callback_data_x"],
        ..Manifest::new("long", "L")
    };
    let errors = messages(Registry::build([&LONG]).expect_err("too long"));
    assert_eq!(
        errors,
        ["callback prefix `a_prefix_that_is_far_too_long_to_fit_into_telegram_callback_data_x` of plugin \
          `long` is 66 bytes; Telegram's callback data holds at most 64"]
    );
}

#[test]
fn empty_prefixes_bad_ids_reserved_commands_and_repeated_versions_are_refused() {
    const BAD: Manifest = Manifest {
        commands: &[Command::new("cancel", "Отмена")],
        entry: Some("open"),
        callback_prefixes: &[""],
        versions: &[Version::new("v1"), Version::new("v1")],
        ..Manifest::new("Bad-Id", "Bad")
    };
    let errors = messages(Registry::build([&BAD]).expect_err("bad"));
    assert_eq!(
        errors,
        [
            "plugin id `Bad-Id` must be lowercase ASCII letters, digits and `_`",
            "entry `/open` of plugin `Bad-Id` is not one of its commands",
            "plugin `Bad-Id` declares version `v1` twice",
            "command `/cancel` of plugin `Bad-Id` is reserved by the host",
            "plugin `Bad-Id` declares an empty callback prefix, which would match every button"
        ]
    );
}

#[test]
fn nested_prefixes_within_one_plugin_are_fine_but_repeats_are_not() {
    const NESTED: Manifest = Manifest {
        callback_prefixes: &["x_"],
        versions: &[Version::new("v1").callbacks(&["x_a"]), Version::new("v2").callbacks(&["x_a"])],
        ..Manifest::new("nested", "N")
    };
    let errors = messages(Registry::build([&NESTED]).expect_err("repeat"));
    assert_eq!(
        errors,
        ["callback prefix `x_a` is declared by plugin `nested` (v1) and by plugin `nested` (v2)"]
    );
}

#[test]
fn menu_entries_and_home_route_to_their_own_plugin_and_one_plugin_is_home() {
    const HOME: Manifest = Manifest { home: Some("menu_main"), ..MENU };
    const LISTED: Manifest = Manifest {
        menu_entry: Some(vox_plugin::MenuEntry::new("📄 Мои отчеты", "show_my_reports")),
        ..REPORTS
    };
    let r = Registry::build([&LISTED, &HOME]).expect("valid");
    assert_eq!(r.home(), Some("menu_main"));
    assert_eq!(r.menu_entries(), vec![vox_plugin::MenuEntry::new("📄 Мои отчеты", "show_my_reports")]);

    const STEALS: Manifest =
        Manifest { menu_entry: Some(vox_plugin::MenuEntry::new("Меню", "menu_main")), ..REPORTS };
    const VERSIONED: Manifest =
        Manifest { menu_entry: Some(vox_plugin::MenuEntry::new("v1", "show_all_reports")), ..REPORTS };
    const SECOND_HOME: Manifest =
        Manifest { home: Some("x_home"), callback_prefixes: &["x_"], ..Manifest::new("x", "X") };
    for (other, expected) in [
        (
            &STEALS,
            "menu entry `menu_main` of plugin `my_reports` is not routed to it: it must start with one of its own version-free callback prefixes",
        ),
        (
            &VERSIONED,
            "menu entry `show_all_reports` of plugin `my_reports` is not routed to it: it must start with one of its own version-free callback prefixes",
        ),
    ] {
        assert_eq!(messages(Registry::build([other, &HOME]).expect_err("foreign")), [expected]);
    }
    assert_eq!(
        messages(Registry::build([&HOME, &SECOND_HOME]).expect_err("two homes")),
        ["plugins `main_menu` and `x` both declare `home`; one plugin is the main menu"]
    );
}
