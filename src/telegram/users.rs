//! Who is inside the 1C bases, for the bot: `/users` (each configured
//! base with its 1C clients — user, session, since when — and the opens of
//! its file over this computer's shares, then the clients whose base
//! cannot be told and those of other infobases), the 1C lines of
//! `/sessions` (clients per user and session), and the admins' notice of a
//! warning before a scheduled backup. The facts come from
//! [`crate::onec::inside`], read on a blocking thread; the words from
//! [`crate::text`].

use super::{Ctx, api};
use crate::onec::inside::{self, Client, ShareClient, Warning};
use crate::text::Texts;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use teloxide::types::ChatId;

/// What `/users` shows about one base.
pub struct BaseInside {
    pub name: String,
    pub clients: Vec<Client>,
    pub shares: Vec<ShareClient>,
}

/// The HTML lines of some clients (and share opens), one per line.
pub fn client_lines(
    t: &Texts,
    clients: &[&Client],
    shares: &[ShareClient],
    tz: &TimeZone,
) -> String {
    clients
        .iter()
        .map(|c| {
            let since = c
                .since
                .map(|s| {
                    s.to_zoned_datetime(tz.clone())
                        .strftime("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            (t.users_client)(
                c.user.as_deref().unwrap_or(t.unknown),
                c.session,
                c.session_state.map(|s| s.as_str()),
                &since,
                c.pid,
            )
        })
        .chain(shares.iter().map(|s| (t.users_share)(&s.user)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `/users` answer (HTML): each base with who is inside, then the
/// clients whose base is unknown and those of other infobases.
pub fn users_text(
    t: &Texts,
    bases: &[BaseInside],
    unknown: &[&Client],
    other: &[&Client],
    tz: &TimeZone,
) -> String {
    let mut out = vec![t.users_title.to_string()];
    for b in bases {
        out.push(String::new());
        out.push((t.users_base)(&b.name, b.clients.len() + b.shares.len()));
        let refs: Vec<&Client> = b.clients.iter().collect();
        let lines = client_lines(t, &refs, &b.shares, tz);
        if !lines.is_empty() {
            out.push(lines);
        }
    }
    for (head, list) in [
        ((t.users_unknown)(unknown.len()), unknown),
        ((t.users_other)(other.len()), other),
    ] {
        if !list.is_empty() {
            out.push(String::new());
            out.push(head);
            out.push(client_lines(t, list, &[], tz));
        }
    }
    out.join("\n")
}

/// `/users`.
pub async fn command(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let t = ctx.texts;
    let cfg = ctx.agent.cfg.clone();
    let read = tokio::task::spawn_blocking(move || {
        let all = inside::clients()?;
        let bases: Vec<BaseInside> = cfg
            .bases
            .iter()
            .map(|b| BaseInside {
                name: b.name.clone(),
                clients: all
                    .iter()
                    .filter(|c| inside::is_in(c, &b.path))
                    .cloned()
                    .collect(),
                shares: inside::over_share(&b.path).unwrap_or_default(),
            })
            .collect();
        Ok::<_, std::io::Error>((all, bases))
    })
    .await?;
    let (all, bases) = match read {
        Ok(x) => x,
        Err(e) => {
            api::send_html(ctx, chat, &(t.users_cannot)(&ctx.describe(&e))).await;
            return Ok(());
        }
    };
    let cfg = &ctx.agent.cfg;
    let unknown: Vec<&Client> = all.iter().filter(|c| c.base.is_none()).collect();
    let other: Vec<&Client> = all
        .iter()
        .filter(|c| c.base.is_some() && !cfg.bases.iter().any(|b| inside::is_in(c, &b.path)))
        .collect();
    let text = users_text(t, &bases, &unknown, &other, &cfg.timezone);
    api::send_html(ctx, chat, &text).await;
    Ok(())
}

/// The 1C lines of `/sessions` (plain text): clients per user and session.
pub fn per_session_lines(t: &Texts, clients: &[Client]) -> Vec<String> {
    let mut per: BTreeMap<(String, Option<u32>), usize> = BTreeMap::new();
    for c in clients {
        let user = c.user.clone().unwrap_or_else(|| t.unknown.to_string());
        *per.entry((user, c.session)).or_default() += 1;
    }
    per.into_iter()
        .map(|((user, session), n)| (t.sessions_onec)(&user, session, n))
        .collect()
}

/// The admins' notice of a warning before a scheduled backup (HTML).
pub fn warning_notice(t: &Texts, w: &Warning, tz: &TimeZone) -> String {
    let refs: Vec<&Client> = w.clients.iter().collect();
    let who = client_lines(t, &refs, &w.shares, tz);
    let at =
        w.at.to_zoned_datetime(tz.clone())
            .strftime("%H:%M")
            .to_string();
    (t.users_warn_notice)(&w.base, w.minutes, &at, &who)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{EN, RU};
    use std::path::PathBuf;

    fn client(pid: u32, user: &str, session: Option<u32>, base: Option<&str>) -> Client {
        Client {
            pid,
            program: "1cv8c.exe".into(),
            user: Some(user.into()),
            session,
            session_state: None,
            since: Some("2026-01-05T06:14:00Z".parse().unwrap()),
            base: base.map(PathBuf::from),
            listed_as: None,
        }
    }

    #[test]
    fn users_lists_each_base_then_unknown_and_other_escaped() {
        let tz = TimeZone::get("Europe/Moscow").unwrap();
        let bases = [
            BaseInside {
                name: "buh".into(),
                clients: vec![client(812, "<ivan>", Some(3), Some("/b"))],
                shares: vec![ShareClient {
                    user: "petr".into(),
                    open_id: 7,
                }],
            },
            BaseInside {
                name: "zup".into(),
                clients: vec![],
                shares: vec![],
            },
        ];
        let unknown = client(900, "anna", None, None);
        let mut left = client(901, "olga", Some(5), Some("/c"));
        left.session_state = Some(crate::platform::SessionState::Disconnected);
        let other = users_text(&RU, &[], &[], &[&left], &tz);
        assert!(
            other.contains("<b>olga</b> (pid 901, сеанс 5, отключён, с 2026-01-05 09:14)"),
            "{other}"
        );
        let text = users_text(&RU, &bases, &[&unknown], &[], &tz);
        assert!(text.contains("<b>buh</b>: 2"), "{text}");
        assert!(
            text.contains("• <b>&lt;ivan&gt;</b> (pid 812, сеанс 3, с 2026-01-05 09:14)"),
            "{text}"
        );
        assert!(text.contains("<b>petr</b> (по сети"), "{text}");
        assert!(text.contains("<b>zup</b>: никого"), "{text}");
        assert!(text.contains("База не определена</b> (1)"), "{text}");
        assert!(
            text.contains("<b>anna</b> (pid 900, с 2026-01-05 09:14)"),
            "{text}"
        );
        assert!(!text.contains("Другие базы"), "{text}");
        let en = users_text(&EN, &bases, &[], &[&unknown], &tz);
        assert!(en.contains("Other infobases</b> (1)"), "{en}");
        assert!(en.contains("session 3, since 2026-01-05 09:14"), "{en}");
    }

    #[test]
    fn the_warning_notice_names_the_base_time_and_users() {
        let tz = TimeZone::UTC;
        let w = Warning {
            base: "Бух & Co".into(),
            minutes: 10,
            at: "2026-01-05T20:00:00Z".parse().unwrap(),
            clients: vec![client(5, "ivan", Some(2), Some("/b"))],
            shares: vec![],
        };
        let text = warning_notice(&RU, &w, &tz);
        assert!(text.starts_with("⏰ Через 10 минут (в 20:00)"), "{text}");
        assert!(text.contains("<b>Бух &amp; Co</b>"), "{text}");
        assert!(
            text.contains("• <b>ivan</b> (pid 5, сеанс 2, с 2026-01-05 06:14)"),
            "{text}"
        );
        let one = Warning {
            minutes: 1,
            ..w.clone()
        };
        assert!(warning_notice(&RU, &one, &tz).starts_with("⏰ Через 1 минуту"));
        assert!(warning_notice(&EN, &one, &tz).contains("starts in 1 minute (at 20:00)"));
    }

    #[test]
    fn sessions_count_1c_clients_per_user_and_session() {
        let all = [
            client(1, "ivan", Some(2), None),
            client(2, "ivan", Some(2), Some("/b")),
            client(3, "anna", None, None),
        ];
        assert_eq!(
            per_session_lines(&RU, &all),
            ["anna: 1С × 1", "ivan (сеанс 2): 1С × 2"]
        );
    }
}
