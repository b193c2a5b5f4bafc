//! A plugin's keyboard as Telegram takes it: the SDK's buttons to teloxide's
//! inline keyboard, with what Telegram would refuse refused before sending
//! (callback data of 1–64 bytes, a parseable URL) and the home button made
//! the home plugin's callback.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use vox_plugin::{ButtonAction, HostError, Keyboard};

use crate::registry::CALLBACK_DATA_MAX;

/// `kb` as an inline keyboard; `home` is what a home button sends.
pub(super) fn keyboard(kb: Keyboard, home: Option<&'static str>) -> Result<InlineKeyboardMarkup, HostError> {
    let rows = kb
        .rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|b| match b.action {
                    ButtonAction::Home => match home {
                        Some(data) => Ok(InlineKeyboardButton::callback(b.text, data)),
                        None => Err(HostError::Telegram(format!(
                            "button `{}` opens the main menu, but no linked plugin declares `home`",
                            b.text
                        ))),
                    },
                    ButtonAction::Callback(data) if data.is_empty() || data.len() > CALLBACK_DATA_MAX => {
                        Err(HostError::TooLong(format!(
                            "button `{}`: callback data must be 1-{CALLBACK_DATA_MAX} bytes, `{data}` is {}",
                            b.text,
                            data.len()
                        )))
                    }
                    ButtonAction::Callback(data) => Ok(InlineKeyboardButton::callback(b.text, data)),
                    ButtonAction::Url(url) => url
                        .parse()
                        .map(|u| InlineKeyboardButton::url(b.text, u))
                        .map_err(|e| HostError::Telegram(format!("button url `{url}`: {e}"))),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InlineKeyboardMarkup::new(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::InlineKeyboardButtonKind;
    use vox_plugin::Button;

    #[test]
    fn a_home_button_sends_the_home_plugins_data_or_is_refused_without_one() {
        let kb = || Keyboard::new().row([Button::home("« Назад")]);
        let markup = keyboard(kb(), Some("menu_main")).expect("home linked");
        let button = &markup.inline_keyboard[0][0];
        assert_eq!(button.text, "« Назад");
        assert!(
            matches!(&button.kind, InlineKeyboardButtonKind::CallbackData(d) if d == "menu_main"),
            "{button:?}"
        );
        assert!(keyboard(kb(), None).expect_err("no home").to_string().contains("declares `home`"));
    }

    #[test]
    fn keyboards_convert_and_bad_callback_data_is_refused_before_sending() {
        let ok =
            Keyboard::new().row([Button::callback("Да", "yes"), Button::url("Docs", "https://example.org")]);
        assert_eq!(keyboard(ok, None).expect("valid").inline_keyboard[0].len(), 2);
        let long = Keyboard::new().row([Button::callback("Длинная", "x".repeat(65))]);
        assert!(keyboard(long, None).expect_err("65 bytes").to_string().contains("1-64 bytes"));
        let empty = Keyboard::new().row([Button::callback("Пустая", "")]);
        assert!(keyboard(empty, None).is_err());
        let url = Keyboard::new().row([Button::url("Битая", "not a url")]);
        assert!(keyboard(url, None).is_err());
    }
}
