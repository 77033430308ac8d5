//! Disk I/O counters since boot (`/proc/diskstats`, 512-byte sectors), per
//! device and summed over whole physical disks only, like psutil's
//! `disk_io_counters(perdisk=False)`: partitions, loop/ram/zram devices and
//! stacked devices (dm-*, md*) would count the same bytes twice.

use super::MetricsError;
use serde::Serialize;
use std::collections::HashSet;

#[cfg(unix)]
#[path = "disk/linux.rs"]
mod sys;
#[cfg(windows)]
#[path = "disk/windows.rs"]
mod sys;
pub(crate) use sys::read;

/// Cumulative I/O counters (monotonic since boot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IoCounters {
    pub read_count: u64,
    pub write_count: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_time_ms: u64,
    pub write_time_ms: u64,
}

impl IoCounters {
    fn add(&mut self, o: &IoCounters) {
        self.read_count += o.read_count;
        self.write_count += o.write_count;
        self.read_bytes += o.read_bytes;
        self.write_bytes += o.write_bytes;
        self.read_time_ms += o.read_time_ms;
        self.write_time_ms += o.write_time_ms;
    }
}

/// One block device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskDevice {
    /// Kernel name (`sda`, `nvme0n1p2`) or `PhysicalDrive0` on Windows.
    pub name: String,
    /// A partition or a stacked device (dm, md): not part of the totals.
    pub partition: bool,
    #[serde(flatten)]
    pub counters: IoCounters,
}

/// Disk I/O since boot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskIo {
    /// Sum over whole physical disks.
    pub total: IoCounters,
    /// Every device except loop, ram and zram ones.
    pub devices: Vec<DiskDevice>,
}

fn is_ignored(name: &str) -> bool {
    ["loop", "ram", "zram", "fd"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Whether `name` is a partition or stacked device, judged by the list of
/// whole disks in `/sys/block` when known, else by the usual naming.
pub fn is_partition(name: &str, whole_disks: Option<&HashSet<String>>) -> bool {
    if name.starts_with("dm-") || name.starts_with("md") {
        return true;
    }
    if let Some(w) = whole_disks {
        return !w.contains(name);
    }
    let ends_digit = name.ends_with(|c: char| c.is_ascii_digit());
    if name.starts_with("nvme") || name.starts_with("mmcblk") {
        // nvme0n1 is a disk, nvme0n1p1 a partition.
        return name.rsplit_once('p').is_some_and(|(h, t)| {
            h.ends_with(|c: char| c.is_ascii_digit())
                && !t.is_empty()
                && t.chars().all(|c| c.is_ascii_digit())
        });
    }
    ends_digit
}

/// Parse `/proc/diskstats`; `whole_disks` as in [`is_partition`].
pub fn parse_diskstats(
    text: &str,
    whole_disks: Option<&HashSet<String>>,
) -> Result<DiskIo, MetricsError> {
    let mut io = DiskIo::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 14 {
            return Err(MetricsError::parse(
                "/proc/diskstats",
                format!("expected at least 14 fields, got {line:?}"),
            ));
        }
        let name = f[2];
        if is_ignored(name) {
            continue;
        }
        let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
        let counters = IoCounters {
            read_count: n(3),
            read_bytes: n(5) * 512,
            read_time_ms: n(6),
            write_count: n(7),
            write_bytes: n(9) * 512,
            write_time_ms: n(10),
        };
        let partition = is_partition(name, whole_disks);
        if !partition {
            io.total.add(&counters);
        }
        io.devices.push(DiskDevice {
            name: name.to_string(),
            partition,
            counters,
        });
    }
    Ok(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
         8       0 sda 100 5 2000 30 50 7 800 40 0 60 70 0 0 0 0 0 0\n\
         8       1 sda1 90 5 1800 25 45 7 700 35 0 50 60 0 0 0 0 0 0\n\
       259       0 nvme0n1 10 0 64 2 20 0 128 3 0 4 5\n\
       259       1 nvme0n1p1 9 0 60 2 19 0 120 3 0 4 5\n\
       253       0 dm-0 80 0 1600 20 40 0 640 30 0 40 50\n";

    #[test]
    fn totals_sum_whole_disks_only() {
        let io = parse_diskstats(STATS, None).unwrap();
        assert_eq!(io.total.read_count, 110);
        assert_eq!(io.total.read_bytes, (2000 + 64) * 512);
        assert_eq!(io.total.write_bytes, (800 + 128) * 512);
        assert_eq!(io.total.read_time_ms, 32);
        assert_eq!(io.total.write_time_ms, 43);
        assert_eq!(io.total.write_count, 70);
        let names: Vec<_> = io
            .devices
            .iter()
            .map(|d| (d.name.as_str(), d.partition))
            .collect();
        assert_eq!(
            names,
            [
                ("sda", false),
                ("sda1", true),
                ("nvme0n1", false),
                ("nvme0n1p1", true),
                ("dm-0", true)
            ]
        );
    }

    #[test]
    fn sys_block_list_decides_when_present() {
        let whole: HashSet<String> = ["sda1".to_string()].into();
        assert!(!is_partition("sda1", Some(&whole)));
        assert!(is_partition("sda", Some(&whole)));
        assert!(!is_partition("vda", None));
        assert!(is_partition("mmcblk0p1", None));
        assert!(!is_partition("mmcblk0", None));
    }

    #[test]
    fn short_line_is_an_error() {
        assert!(parse_diskstats("8 0 sda 1 2\n", None).is_err());
    }
}
