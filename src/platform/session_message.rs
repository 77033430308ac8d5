//! A message box in a user's RDP or console session, sent by the service
//! (`WTSSendMessageW` on Windows): how users inside a 1C base are warned
//! before a scheduled backup. The text is built here, pure and tested on
//! every OS ([`WtsMessage`]: UTF-16 without NULs, lengths in bytes as the
//! API wants them); the call is `windows.rs`'s. Linux has no such thing:
//! [`send_session_message`] returns an [`io::ErrorKind::Unsupported`] error
//! there and the caller tells it once.

use std::io;
use std::time::Duration;

/// The longest title and text sent, in UTF-16 units (a message box shows
/// no more; a longer one is cut with `…`).
pub const MAX_TITLE: usize = 256;
pub const MAX_TEXT: usize = 4000;

/// A message box's title and text as `WTSSendMessageW` takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WtsMessage {
    /// UTF-16, no terminating NUL (the API takes lengths).
    pub title: Vec<u16>,
    pub text: Vec<u16>,
}

impl WtsMessage {
    /// `title` and `text` in UTF-16; a NUL (which would end the text
    /// early) becomes a space, and either is cut to its maximum.
    pub fn new(title: &str, text: &str) -> WtsMessage {
        WtsMessage {
            title: utf16(title, MAX_TITLE),
            text: utf16(text, MAX_TEXT),
        }
    }

    /// The title's length in bytes (`TitleLength`).
    pub fn title_bytes(&self) -> u32 {
        (self.title.len() * 2) as u32
    }

    /// The text's length in bytes (`MessageLength`).
    pub fn text_bytes(&self) -> u32 {
        (self.text.len() * 2) as u32
    }
}

fn utf16(s: &str, max: usize) -> Vec<u16> {
    let mut out: Vec<u16> = s
        .encode_utf16()
        .map(|u| if u == 0 { u16::from(b' ') } else { u })
        .collect();
    if out.len() > max {
        out.truncate(max - 1);
        // Never leave half a surrogate pair.
        if out.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            out.pop();
        }
        out.push('…' as u16);
    }
    out
}

/// Whether this OS can show a message in a user's session.
pub const HAS_SESSION_MESSAGES: bool = cfg!(windows);

/// Show `title` / `text` in session `session` (an RDP or console session
/// id) without waiting for an answer; the box closes itself after
/// `timeout` (at least a second). Windows only: elsewhere an
/// [`io::ErrorKind::Unsupported`] error.
pub fn send_session_message(
    session: u32,
    title: &str,
    text: &str,
    timeout: Duration,
) -> io::Result<()> {
    let msg = WtsMessage::new(title, text);
    let secs = timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32;
    super::sys::send_session_message(session, &msg, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_text_in_utf16_with_byte_lengths() {
        let m = WtsMessage::new(
            "Резервное копирование",
            "Через 10 минут начнётся резервное копирование базы «Бухгалтерия». \
             Сохраните документы и закройте 1С.",
        );
        assert_eq!(
            String::from_utf16(&m.title).unwrap(),
            "Резервное копирование"
        );
        assert_eq!(m.title.len(), 21, "one unit per Cyrillic letter");
        assert_eq!(m.title_bytes(), 42);
        let text = String::from_utf16(&m.text).unwrap();
        assert!(text.starts_with("Через 10 минут"), "{text}");
        assert!(text.ends_with("закройте 1С."), "{text}");
        assert_eq!(m.text_bytes() as usize, m.text.len() * 2);
        assert!(!m.text.contains(&0), "no NUL inside");
    }

    #[test]
    fn nuls_become_spaces_and_long_texts_are_cut_whole() {
        let m = WtsMessage::new("a\0b", "x");
        assert_eq!(String::from_utf16(&m.title).unwrap(), "a b");
        // An emoji is a surrogate pair: a cut never splits one.
        let long = "😀".repeat(MAX_TEXT);
        let m = WtsMessage::new("t", &long);
        assert!(m.text.len() <= MAX_TEXT, "{}", m.text.len());
        let back = String::from_utf16(&m.text).expect("valid UTF-16 after the cut");
        assert!(back.ends_with('…'));
        let m = WtsMessage::new(&"я".repeat(MAX_TITLE + 5), "x");
        assert_eq!(m.title.len(), MAX_TITLE);
    }

    #[cfg(not(windows))]
    #[test]
    fn elsewhere_it_is_unsupported() {
        let e = send_session_message(1, "t", "x", Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("session messages"), "{e}");
    }
}
