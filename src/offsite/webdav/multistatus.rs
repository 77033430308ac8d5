//! The multistatus answers of PROPFIND (RFC 4918): a small XML reader
//! (elements without their namespace prefix, text with entities and CDATA
//! decoded) and the `<response>` entries it yields: path, folder or not,
//! size and date, as Yandex Disk, Nextcloud and rclone write them.

use jiff::Timestamp;

use crate::offsite::http::{parse_http_date, percent_decode};
use crate::offsite::xml::unescape;

/// One `<response>` of a multistatus answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// Decoded path (`/remote.php/dav/files/u/Бухгалтерия/a.zip`).
    pub(super) path: String,
    pub(super) collection: bool,
    pub(super) size: Option<u64>,
    pub(super) modified: Option<Timestamp>,
}

/// The decoded path of an href: an absolute URL or a path.
pub(super) fn href_path(href: &str) -> String {
    let h = href.trim();
    let path = match h.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => h,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    percent_decode(path)
}

/// One event of the XML reader: element names without their prefix.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Xml {
    Start(String),
    End(String),
    Text(String),
}

pub(super) fn local_name(qname: &str) -> String {
    qname.rsplit(':').next().unwrap_or(qname).to_string()
}

/// A small XML reader, enough for a multistatus answer: elements
/// (attributes skipped, quotes respected), text with the predefined and
/// numeric entities, CDATA; comments, processing instructions and
/// DOCTYPE skipped.
pub(super) fn xml_events(xml: &str) -> Result<Vec<Xml>, String> {
    let mut out = Vec::new();
    let b = xml.as_bytes();
    let mut i = 0;
    let find = |from: usize, pat: &str| -> Result<usize, String> {
        xml[from..]
            .find(pat)
            .map(|p| from + p)
            .ok_or_else(|| format!("unclosed markup at byte {from}"))
    };
    while i < b.len() {
        if b[i] != b'<' {
            let end = xml[i..].find('<').map_or(b.len(), |p| i + p);
            let text = unescape(&xml[i..end]);
            if !text.trim().is_empty() {
                out.push(Xml::Text(text));
            }
            i = end;
            continue;
        }
        let rest = &xml[i..];
        if rest.starts_with("<?") {
            i = find(i, "?>")? + 2;
        } else if rest.starts_with("<!--") {
            i = find(i + 4, "-->")? + 3;
        } else if rest.starts_with("<![CDATA[") {
            let end = find(i + 9, "]]>")?;
            out.push(Xml::Text(xml[i + 9..end].to_string()));
            i = end + 3;
        } else if rest.starts_with("<!") {
            // DOCTYPE, maybe with an internal subset in [ ].
            let end = match (rest.find('['), rest.find('>')) {
                (Some(o), Some(c)) if o < c => find(i, "]>")? + 2,
                _ => find(i, ">")? + 1,
            };
            i = end;
        } else if let Some(r) = rest.strip_prefix("</") {
            let end = r
                .find('>')
                .ok_or_else(|| format!("unclosed tag at byte {i}"))?;
            out.push(Xml::End(local_name(r[..end].trim())));
            i += 2 + end + 1;
        } else {
            let mut j = i + 1;
            let mut quote = None;
            while j < b.len() {
                let c = b[j];
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == b'"' || c == b'\'' => quote = Some(c),
                    None if c == b'>' => break,
                    None => {}
                }
                j += 1;
            }
            if j >= b.len() {
                return Err(format!("unclosed tag at byte {i}"));
            }
            let inner = &xml[i + 1..j];
            let empty = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let name = inner.split_ascii_whitespace().next().unwrap_or("");
            if name.is_empty() {
                return Err(format!("a tag without a name at byte {i}"));
            }
            out.push(Xml::Start(local_name(name)));
            if empty {
                out.push(Xml::End(local_name(name)));
            }
            i = j + 1;
        }
    }
    Ok(out)
}

/// The entries of a `207 Multi-Status` answer to PROPFIND. Only
/// properties under a `2xx` propstat count; responses with a failed
/// status of their own are skipped.
pub(super) fn parse_multistatus(xml: &str) -> Result<Vec<Entry>, String> {
    #[derive(Default)]
    struct Stat {
        collection: bool,
        size: String,
        modified: String,
        status: String,
    }
    let ok = |status: &str| {
        let s = status.trim();
        s.is_empty()
            || s.split_ascii_whitespace()
                .nth(1)
                .is_some_and(|c| c.starts_with('2'))
    };
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut href = String::new();
    let mut resp_status = String::new();
    let mut cur: Option<Entry> = None;
    let mut stat = Stat::default();
    let mut saw_multistatus = false;
    for ev in xml_events(xml)? {
        match ev {
            Xml::Start(n) => {
                match n.as_str() {
                    "multistatus" => saw_multistatus = true,
                    "response" => {
                        cur = Some(Entry::default());
                        href.clear();
                        resp_status.clear();
                    }
                    "propstat" => stat = Stat::default(),
                    "collection" if stack.iter().any(|s| s == "resourcetype") => {
                        stat.collection = true
                    }
                    _ => {}
                }
                stack.push(n);
            }
            Xml::Text(t) => {
                let parent = stack.len().checked_sub(2).map(|i| stack[i].as_str());
                match (parent, stack.last().map(String::as_str)) {
                    (Some("response"), Some("href")) => href.push_str(&t),
                    (Some("response"), Some("status")) => resp_status.push_str(&t),
                    (Some("propstat"), Some("status")) => stat.status.push_str(&t),
                    (Some("prop"), Some("getcontentlength")) => stat.size.push_str(&t),
                    (Some("prop"), Some("getlastmodified")) => stat.modified.push_str(&t),
                    _ => {}
                }
            }
            Xml::End(n) => {
                // Pop to the matching start (lenient about stray ends).
                if let Some(pos) = stack.iter().rposition(|s| *s == n) {
                    stack.truncate(pos);
                }
                match n.as_str() {
                    "propstat" => {
                        if let Some(e) = cur.as_mut().filter(|_| ok(&stat.status)) {
                            e.collection |= stat.collection;
                            if let Ok(s) = stat.size.trim().parse() {
                                e.size = Some(s);
                            }
                            if let Some(t) = parse_http_date(&stat.modified) {
                                e.modified = Some(t);
                            }
                        }
                    }
                    "response" => {
                        if let Some(mut e) = cur.take()
                            && !href.trim().is_empty()
                            && ok(&resp_status)
                        {
                            e.path = href_path(&href);
                            out.push(e);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if !saw_multistatus {
        return Err("no <multistatus> in it".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_decoded_paths() {
        assert_eq!(
            href_path("https://h:8/a%20b/%D0%91/?x=1"),
            "/a b/Б/".to_string()
        );
        assert_eq!(href_path("/a/b.zip"), "/a/b.zip");
    }

    #[test]
    fn xml_reader_handles_prefixes_entities_cdata_and_quotes() {
        let ev = xml_events(
            r#"<?xml version="1.0"?><!-- c --><a:x k="a>b" j='1'><y/>A &amp; &#x411;&#1041;<![CDATA[<z>]]></a:x>"#,
        )
        .unwrap();
        assert_eq!(
            ev,
            vec![
                Xml::Start("x".into()),
                Xml::Start("y".into()),
                Xml::End("y".into()),
                Xml::Text("A & ББ".into()),
                Xml::Text("<z>".into()),
                Xml::End("x".into()),
            ]
        );
        assert!(xml_events("<a").is_err());
    }

    #[test]
    fn multistatus_of_yandex_nextcloud_and_rclone_shapes() {
        // Yandex: d: prefix, absolute paths; Nextcloud: full URLs, a 404
        // propstat for the properties it lacks; a failed response skipped.
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<d:multistatus xmlns:d="DAV:">
 <d:response><d:href>/backups/</d:href>
  <d:propstat><d:status>HTTP/1.1 200 OK</d:status><d:prop>
   <d:resourcetype><d:collection/></d:resourcetype>
   <d:getlastmodified>Wed, 02 Dec 2026 10:00:00 GMT</d:getlastmodified>
  </d:prop></d:propstat></d:response>
 <d:response><d:href>https://cloud.example/backups/%D0%91%D1%83%D1%85/a%20b.zip</d:href>
  <d:propstat><d:prop>
   <d:resourcetype/><d:getcontentlength>1234</d:getcontentlength>
   <d:getlastmodified>Thu, 03 Dec 2026 03:00:00 GMT</d:getlastmodified>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:getcontentlength>99</d:getcontentlength></d:prop>
   <d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>
 <D:response xmlns:D="DAV:"><D:href>/backups/gone</D:href>
  <D:status>HTTP/1.1 404 Not Found</D:status></D:response>
</d:multistatus>"#;
        let e = parse_multistatus(xml).unwrap();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].path, "/backups/");
        assert!(e[0].collection);
        assert_eq!(e[1].path, "/backups/Бух/a b.zip");
        assert!(!e[1].collection);
        assert_eq!(e[1].size, Some(1234));
        assert_eq!(e[1].modified.unwrap().to_string(), "2026-12-03T03:00:00Z");
        assert!(parse_multistatus("<html>login</html>").is_err());
    }
}
