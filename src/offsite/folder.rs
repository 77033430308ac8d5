//! The folder kind: a local disk, a mapped drive or a UNC `\\nas\share`.
//! An upload is a copy to `<name>.part` beside the final name, flushed to
//! disk, checked for size, then renamed over the final name, so a cut copy
//! never replaces or imitates a good one.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cancel::Cancel;
use crate::config::offsite::{Location, OffsiteTarget};
use crate::platform;

use super::remote::{Download, Object, Proof, Remote, Stored, Upload, name_parts};
use super::throttle::Throttle;

const CHUNK: usize = 1 << 20;

/// A folder target.
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn open(target: &OffsiteTarget) -> Result<Self> {
        let Location::Folder(root) = &target.location else {
            bail!("offsite target {} is not a folder", target.name);
        };
        Ok(Self::at(root.clone()))
    }

    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    /// The path of `name`, refusing names that would leave the root.
    fn path(&self, name: &str) -> Result<PathBuf> {
        let mut p = self.root.clone();
        for part in name_parts(name)? {
            // `C:x` would name a drive on Windows.
            if part.contains(':') {
                bail!("object name {name:?} is not a plain relative name");
            }
            p.push(part);
        }
        Ok(p)
    }

    fn name_of(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
        Some(parts?.join("/"))
    }
}

/// Copy `from` to `to` in chunks under the throttle, reporting progress.
fn pump(
    from: &mut dyn Read,
    to: &mut dyn Write,
    throttle: &Throttle,
    cancel: &Cancel,
    progress: &dyn Fn(u64),
) -> Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        cancel.check()?;
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        throttle.take(n as u64, cancel)?;
        to.write_all(&buf[..n])?;
        done += n as u64;
        progress(done);
    }
    Ok(done)
}

impl Remote for Folder {
    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    fn put(&self, up: &Upload<'_>) -> Result<Stored> {
        let dest = self.path(up.name)?;
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        let mut tmp_name = dest.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".part");
        let tmp = dir.join(tmp_name);
        let result = (|| -> Result<u64> {
            let mut src = File::open(up.file)
                .with_context(|| format!("cannot open {}", up.file.display()))?;
            let mut out =
                File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
            let n = pump(&mut src, &mut out, up.throttle, up.cancel, up.progress)
                .with_context(|| format!("copying to {}", tmp.display()))?;
            out.sync_all()
                .with_context(|| format!("cannot flush {}", tmp.display()))?;
            let stored = fs::metadata(&tmp)?.len();
            if n != up.size || stored != up.size {
                bail!(
                    "{} holds {stored} bytes after the copy, the archive has {}",
                    tmp.display(),
                    up.size
                );
            }
            Ok(stored)
        })();
        let bytes = match result {
            Ok(b) => b,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = fs::rename(&tmp, &dest) {
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot rename into {}", dest.display()));
        }
        let _ = platform::sync_dir(&dir);
        Ok(Stored {
            bytes,
            proof: Proof::Size,
        })
    }

    fn stat(&self, name: &str) -> Result<Option<Object>> {
        let p = self.path(name)?;
        match fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(Some(Object {
                name: name.to_string(),
                size: m.len(),
                modified: m
                    .modified()
                    .ok()
                    .and_then(|t| jiff::Timestamp::try_from(t).ok()),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<Object>> {
        let start = if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir.trim_end_matches('/'))?
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(d) = stack.pop() {
            let rd = match fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot list {}", d.display())),
            };
            for entry in rd {
                let entry = entry?;
                let ft = entry.file_type()?;
                let p = entry.path();
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() {
                    let m = entry.metadata()?;
                    if let Some(name) = self.name_of(&p) {
                        out.push(Object {
                            name,
                            size: m.len(),
                            modified: m
                                .modified()
                                .ok()
                                .and_then(|t| jiff::Timestamp::try_from(t).ok()),
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn get(&self, down: Download<'_>) -> Result<u64> {
        let p = self.path(down.name)?;
        let mut f = File::open(&p).with_context(|| format!("cannot open {}", p.display()))?;
        pump(&mut f, down.to, down.throttle, down.cancel, &|_| {})
    }

    fn delete(&self, name: &str) -> Result<()> {
        let p = self.path(name)?;
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete {}", p.display())),
        }
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (self.path(from)?, self.path(to)?);
        if let Some(d) = t.parent() {
            fs::create_dir_all(d)?;
        }
        fs::rename(&f, &t)
            .with_context(|| format!("cannot move {} to {}", f.display(), t.display()))?;
        if let Some(d) = t.parent() {
            let _ = platform::sync_dir(d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offsite::remote::NoResume;

    fn upload(f: &Folder, file: &Path, name: &str, cancel: &Cancel) -> Result<Stored> {
        let size = fs::metadata(file)?.len();
        f.put(&Upload {
            file,
            name,
            size,
            sha256: "",
            resume: &NoResume,
            throttle: &Throttle::unlimited(),
            cancel,
            progress: &|_| {},
        })
    }

    #[test]
    fn put_list_get_rename_delete() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a.zip");
        fs::write(&src, b"archive bytes").unwrap();
        let f = Folder::at(d.path().join("remote"));
        let s = upload(&f, &src, "base/a.zip", &Cancel::new()).unwrap();
        assert_eq!((s.bytes, s.proof), (13, Proof::Size));
        let listed = f.list("").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].name.as_str(), listed[0].size),
            ("base/a.zip", 13)
        );
        assert_eq!(f.list("base").unwrap(), listed);
        assert!(f.list("nothing").unwrap().is_empty());
        let mut got = Vec::new();
        f.get(Download {
            name: "base/a.zip",
            to: &mut got,
            throttle: &Throttle::unlimited(),
            cancel: &Cancel::new(),
        })
        .unwrap();
        assert_eq!(got, b"archive bytes");
        f.rename("base/a.zip", "base/daily.zip").unwrap();
        assert!(f.stat("base/a.zip").unwrap().is_none());
        assert_eq!(f.stat("base/daily.zip").unwrap().unwrap().size, 13);
        f.delete("base/daily.zip").unwrap();
        f.delete("base/daily.zip").unwrap();
        assert!(f.list("").unwrap().is_empty());
    }

    #[test]
    fn a_cancelled_upload_leaves_nothing_and_the_old_copy_stands() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a.zip");
        fs::write(&src, vec![7u8; 3 * CHUNK]).unwrap();
        let f = Folder::at(d.path().join("remote"));
        upload(&f, &src, "b/daily.zip", &Cancel::new()).unwrap();
        fs::write(&src, vec![8u8; 3 * CHUNK]).unwrap();
        let c = Cancel::new();
        c.cancel();
        assert!(upload(&f, &src, "b/daily.zip", &c).is_err());
        let names: Vec<String> = f.list("").unwrap().into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["b/daily.zip"]);
        let mut got = Vec::new();
        f.get(Download {
            name: "b/daily.zip",
            to: &mut got,
            throttle: &Throttle::unlimited(),
            cancel: &Cancel::new(),
        })
        .unwrap();
        assert!(got.iter().all(|b| *b == 7));
    }

    #[test]
    fn names_cannot_leave_the_root() {
        let f = Folder::at(PathBuf::from("/tmp/x"));
        for bad in ["../x", "a/../../x", "/abs", "a//b", r"a\b", "C:x", ""] {
            assert!(f.stat(bad).is_err(), "{bad}");
        }
    }
}
