//! Filesystems: the one holding the backup directory ([`DiskUsage`], psutil's
//! `disk_usage` figures) and every real mounted filesystem ([`Filesystem`],
//! node_exporter's size/free/avail). Pseudo filesystems (proc, sysfs, tmpfs,
//! cgroup, overlay, …) are left out by an allow-list of real types.

use super::{MetricsError, percent};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[cfg(unix)]
#[path = "filesystem/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "filesystem/windows.rs"]
mod sys;
pub(crate) use sys::read;

/// Space on the filesystem holding a path, bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskUsage {
    pub path: PathBuf,
    pub total: u64,
    /// `total - free-including-reserved`.
    pub used: u64,
    /// Free for an unprivileged writer.
    pub free: u64,
    /// `used / (used + free)`, as `df` and psutil compute it.
    pub percent: f64,
}

/// One mounted filesystem, bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filesystem {
    /// Block device or share (`/dev/sda1`, `//srv/share`, `C:\`).
    pub device: String,
    pub mountpoint: String,
    pub fstype: String,
    pub size: u64,
    /// Free including blocks reserved for root.
    pub free: u64,
    /// Free for an unprivileged writer.
    pub avail: u64,
}

impl Filesystem {
    /// Bytes in use (`size - free`).
    pub fn used(&self) -> u64 {
        self.size.saturating_sub(self.free)
    }

    /// [`used_percent`] of this filesystem.
    pub fn used_percent(&self) -> f64 {
        used_percent(self.used(), self.avail)
    }
}

/// Percent used as `df` and psutil say it: `used / (used + available)`,
/// blocks reserved for root counting as neither. The one definition for
/// the backup disk and every filesystem, in every output.
pub fn used_percent(used: u64, available: u64) -> f64 {
    percent(used as f64, used.saturating_add(available) as f64)
}

/// Filesystem types worth reporting (real disks and network shares).
pub const REAL_FSTYPES: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "ntfs", "ntfs3",
    "vfat", "exfat", "msdos", "fuseblk", "nfs", "nfs4", "cifs", "smb3", "smbfs", "hfs", "hfsplus",
    "apfs", "ufs", "refs", "fat32",
];

/// Whether `fstype` names a real filesystem (case-insensitive).
pub fn is_real_fstype(fstype: &str) -> bool {
    REAL_FSTYPES.iter().any(|t| t.eq_ignore_ascii_case(fstype))
}

/// `(device, mountpoint, fstype)` of every real filesystem in `/proc/mounts`,
/// octal escapes (`\040` for space) decoded, each mountpoint once.
pub fn parse_mounts(text: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(dev), Some(mnt), Some(fstype)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if !is_real_fstype(fstype) {
            continue;
        }
        let entry = (unescape(dev), unescape(mnt), fstype.to_string());
        match out.iter_mut().find(|e| e.1 == entry.1) {
            Some(e) => *e = entry,
            None => out.push(entry),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// psutil-style usage of the filesystem holding `path`.
pub(crate) fn disk_usage(path: &Path) -> Result<DiskUsage, MetricsError> {
    let d = crate::platform::disk_space(path).map_err(|source| MetricsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let used = d.total.saturating_sub(d.free);
    Ok(DiskUsage {
        path: path.to_path_buf(),
        total: d.total,
        used,
        free: d.available,
        percent: used_percent(used, d.available),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_keep_real_filesystems_only() {
        let text = "proc /proc proc rw 0 0\n\
            /dev/sda1 / ext4 rw 0 0\n\
            tmpfs /run tmpfs rw 0 0\n\
            overlay /var/lib/docker/x overlay rw 0 0\n\
            //srv/share /mnt/my\\040share cifs rw 0 0\n\
            cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n\
            /dev/sdb1 /data xfs rw 0 0\n\
            /dev/sdc1 /data btrfs rw 0 0\n";
        let m = parse_mounts(text);
        assert_eq!(
            m,
            vec![
                ("/dev/sda1".into(), "/".into(), "ext4".into()),
                ("//srv/share".into(), "/mnt/my share".into(), "cifs".into()),
                ("/dev/sdc1".into(), "/data".into(), "btrfs".into()),
            ]
        );
    }

    #[test]
    fn fstype_allow_list() {
        assert!(is_real_fstype("NTFS"));
        assert!(is_real_fstype("fuseblk"));
        assert!(!is_real_fstype("tmpfs"));
        assert!(!is_real_fstype("devtmpfs"));
        assert!(!is_real_fstype("overlay"));
    }

    /// One definition of "percent used" everywhere (`df`, psutil): blocks
    /// reserved for root are neither used nor available.
    #[test]
    fn used_percent_leaves_reserved_blocks_out() {
        let f = Filesystem {
            device: "/dev/sda1".into(),
            mountpoint: "/".into(),
            fstype: "ext4".into(),
            size: 1000,
            free: 610,
            avail: 610 - 50,
        };
        assert_eq!(f.used(), 390);
        assert!((f.used_percent() - 390.0 * 100.0 / 950.0).abs() < 1e-9);
        assert_eq!(used_percent(0, 0), 0.0);
        assert_eq!(used_percent(5, 0), 100.0);
    }

    #[test]
    fn usage_of_temp_dir_is_consistent() {
        let u = disk_usage(&std::env::temp_dir()).unwrap();
        assert!(u.total > 0 && u.used <= u.total && u.free <= u.total);
        assert!((0.0..=100.0).contains(&u.percent));
    }
}
