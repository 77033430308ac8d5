//! Whole-snapshot tests: exact values from the captured fixture tree in
//! `tests/fixtures/proc/`, and the shape of what the real host returns.

// The fixture helpers serve the Linux-only tests below.
#![cfg_attr(not(target_os = "linux"), allow(unused))]

use super::*;
use std::path::PathBuf;
use std::time::Duration;

fn fixture_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[cfg(target_os = "linux")]
mod fixture {
    use super::*;

    fn snapshot() -> Snapshot {
        let root = fixture_root();
        let opts = MetricsOptions {
            proc_root: root.clone(),
            backup_dir: root,
            utmp_path: PathBuf::from("/definitely/not/here/utmp"),
            ..MetricsOptions::default()
        };
        Collectors::new(opts).collect()
    }

    #[test]
    fn every_collector_succeeds_on_the_fixture() {
        let s = snapshot();
        let names: Vec<_> = s.collectors.iter().map(|c| c.collector).collect();
        assert_eq!(names, Collector::ALL);
        for c in &s.collectors {
            assert!(c.success, "{:?}: {:?}", c.collector, c.error);
        }
    }

    #[test]
    fn cpu_from_fixture() {
        let c = snapshot().cpu.unwrap();
        assert_eq!(c.logical_cores, 2);
        assert_eq!(c.physical_cores, Some(2));
        assert_eq!(c.freq_current_mhz, Some(2198.0));
        assert_eq!(c.freq_max_mhz, Some(3500.0));
        assert!(close(c.percent, 46.0286394913258), "{}", c.percent);
        assert!(close(c.user_percent, 40.20244241549402));
        assert!(close(c.system_percent, 5.786788994075504));
        assert!(close(c.idle_percent, 53.592334463917254));
        assert!(close(c.iowait_percent, 0.37902604475695395));
        assert_eq!(c.per_core_percent.len(), 2);
        assert!(close(c.per_core_percent[0], 45.04782993799823));
        assert!(close(c.per_core_percent[1], 47.00856214416632));
        assert_eq!(c.interval_seconds, 1500.0);
    }

    #[test]
    fn memory_from_fixture() {
        let m = snapshot().memory.unwrap();
        assert_eq!(m.total, 24_684_084 * 1024);
        assert_eq!(m.available, 22_423_132 * 1024);
        assert_eq!(m.free, 18_770_028 * 1024);
        assert_eq!(m.used, 1_939_164 * 1024);
        assert!(close(m.percent, 9.159553986285252));
        assert_eq!(
            (m.swap_total, m.swap_used, m.swap_free, m.swap_percent),
            (0, 0, 0, 0.0)
        );
    }

    #[test]
    fn disk_io_from_fixture_sums_whole_disks() {
        let d = snapshot().disk_io.unwrap();
        let vda = IoCounters {
            read_count: 51_950,
            write_count: 79_850,
            read_bytes: 7_809_434 * 512,
            write_bytes: 23_881_624 * 512,
            read_time_ms: 42_868,
            write_time_ms: 63_708,
        };
        assert_eq!(d.total, vda);
        assert_eq!(
            d.devices,
            [DiskDevice {
                name: "vda".into(),
                partition: false,
                counters: vda
            }]
        );
    }

    #[test]
    fn network_from_fixture() {
        let n = snapshot().network.unwrap();
        let names: Vec<_> = n.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["ifb0", "ifb1", "eth0"]);
        assert_eq!(n.total.bytes_recv, 818_998_964);
        assert_eq!(n.total.bytes_sent, 1_036_050);
        assert_eq!(n.total.packets_recv, 19_760);
        assert_eq!(n.total.packets_sent, 11_917);
        assert_eq!(
            n.total.errin + n.total.errout + n.total.dropin + n.total.dropout,
            0
        );
        assert_eq!(n.tcp_established, 2);
    }

    #[test]
    fn filesystems_from_fixture() {
        let f = snapshot().filesystems.unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (
                f[0].device.as_str(),
                f[0].mountpoint.as_str(),
                f[0].fstype.as_str()
            ),
            ("/dev/vda", "/", "ext4")
        );
        assert!(f[0].size > 0 && f[0].avail <= f[0].free && f[0].free <= f[0].size);
    }

    #[test]
    fn processes_and_onec_from_fixture() {
        let s = snapshot();
        let (_, page) = crate::platform::clock_ticks_and_page_size();
        let p = s.processes.unwrap();
        assert_eq!(p.count, 3);
        let cpu: Vec<_> = p
            .top_cpu
            .iter()
            .map(|t| (t.rank, t.pid, t.name.as_str(), t.user.as_deref()))
            .collect();
        assert_eq!(
            cpu,
            [
                (1, 2345, "1cv8c", Some("buh")),
                (2, 1, "systemd", Some("root")),
                (3, 2400, "sshd", Some("root"))
            ]
        );
        assert!(
            close(p.top_cpu[0].cpu_percent, 4.0),
            "{}",
            p.top_cpu[0].cpu_percent
        );
        assert!(close(p.top_cpu[1].cpu_percent, 0.30538219448445086));
        assert!(close(p.top_cpu[2].cpu_percent, 0.010067114093959731));
        let mem: Vec<_> = p.top_memory.iter().map(|t| (t.pid, t.rss_bytes)).collect();
        assert_eq!(
            mem,
            [
                (2345, 250_000 * page),
                (1, 3690 * page),
                (2400, 2000 * page)
            ]
        );
        let o = s.onec.unwrap();
        assert_eq!(o.total, 1);
        assert_eq!(
            o.per_user,
            [OnecUser {
                user: "buh".into(),
                count: 1
            }]
        );
    }

    #[test]
    fn system_and_agent_from_fixture() {
        let s = snapshot();
        let sys = s.system.unwrap();
        assert_eq!(sys.hostname, "onec-test-host");
        assert_eq!(sys.kernel, "6.1.0-18-amd64");
        assert_eq!(sys.os, "linux");
        assert_eq!(sys.os_version, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(sys.boot_time_unix, 1_795_576_696);
        assert_eq!(sys.uptime_seconds, 1500.0);
        let (tck, page) = crate::platform::clock_ticks_and_page_size();
        let a = s.agent.unwrap();
        assert_eq!(a.pid, 4242);
        assert_eq!(a.rss_bytes, 6000 * page);
        assert!(close(a.cpu_seconds, 300.0 / tck));
        let b = s.backup_disk.unwrap();
        assert!(b.total > 0 && b.used <= b.total);
        assert_eq!(s.sessions.unwrap(), Sessions::default());
    }

    #[test]
    fn snapshot_serializes_with_snake_case_names() {
        let v = serde_json::to_value(snapshot()).unwrap();
        assert_eq!(v["collectors"][2]["collector"], "backup_disk");
        assert_eq!(v["collectors"][2]["success"], true);
        assert_eq!(v["network"]["interfaces"][2]["name"], "eth0");
        assert_eq!(v["network"]["interfaces"][2]["bytes_recv"], 818_998_964u64);
        assert_eq!(v["onec"]["per_user"][0]["user"], "buh");
    }

    #[test]
    fn a_broken_collector_does_not_sink_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(
            dir.path().join("proc/meminfo"),
            "MemTotal: 2048 kB\nMemFree: 1024 kB\n",
        )
        .unwrap();
        let opts = MetricsOptions {
            proc_root: dir.path().to_path_buf(),
            backup_dir: dir.path().to_path_buf(),
            ..MetricsOptions::default()
        };
        let mut c = Collectors::new(opts);
        let s = c.collect();
        assert_eq!(s.memory.as_ref().map(|m| m.total), Some(2048 * 1024));
        assert!(s.cpu.is_none());
        let cpu = s.status(Collector::Cpu).unwrap();
        assert!(!cpu.success);
        assert!(
            cpu.error.as_deref().unwrap().contains("proc/stat"),
            "{:?}",
            cpu.error
        );
        assert!(s.status(Collector::Memory).unwrap().success);
        // The second round fails the same way (logged only once).
        assert!(!c.collect().status(Collector::Cpu).unwrap().success);
    }
}

#[cfg(target_os = "linux")]
mod host {
    use super::*;

    fn opts() -> MetricsOptions {
        MetricsOptions {
            backup_dir: std::env::temp_dir(),
            ..MetricsOptions::default()
        }
    }

    #[test]
    fn shape_of_the_real_host() {
        let s = Collectors::new(opts()).collect();
        for c in &s.collectors {
            assert!(c.success, "{:?}: {:?}", c.collector, c.error);
            assert!(c.duration_seconds >= 0.0);
        }
        let cpu = s.cpu.unwrap();
        assert!(cpu.logical_cores >= 1);
        assert_eq!(cpu.per_core_percent.len(), cpu.logical_cores as usize);
        assert!((0.0..=100.0).contains(&cpu.percent));
        let m = s.memory.unwrap();
        assert!(m.total > 0 && m.used <= m.total && m.available <= m.total);
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let fs = s.filesystems.unwrap();
        assert!(
            fs.iter().any(|f| tmp.starts_with(&f.mountpoint)),
            "no filesystem holds {}: {fs:?}",
            tmp.display()
        );
        let net = s.network.unwrap();
        for i in &net.interfaces {
            assert!(!i.name.is_empty());
            assert_ne!(i.name, "lo");
        }
        let p = s.processes.unwrap();
        assert!(p.count >= 1);
        assert!(!p.top_memory.is_empty() && p.top_memory[0].rss_bytes > 0);
        let a = s.agent.unwrap();
        assert_eq!(a.pid, std::process::id());
        assert!(a.rss_bytes > 0);
        let sys = s.system.unwrap();
        assert!(!sys.hostname.is_empty() && sys.boot_time_unix > 0 && sys.uptime_seconds > 0.0);
        assert!(s.backup_disk.unwrap().total > 0);
    }

    #[test]
    fn counters_do_not_decrease() {
        let mut c = Collectors::new(opts());
        let a = c.collect();
        std::thread::sleep(Duration::from_millis(200));
        let b = c.collect();
        let (da, db) = (a.disk_io.unwrap().total, b.disk_io.unwrap().total);
        assert!(db.read_count >= da.read_count && db.write_count >= da.write_count);
        assert!(db.read_bytes >= da.read_bytes && db.write_bytes >= da.write_bytes);
        assert!(db.read_time_ms >= da.read_time_ms && db.write_time_ms >= da.write_time_ms);
        let (na, nb) = (a.network.unwrap().total, b.network.unwrap().total);
        assert!(nb.bytes_recv >= na.bytes_recv && nb.bytes_sent >= na.bytes_sent);
        assert!(nb.packets_recv >= na.packets_recv && nb.packets_sent >= na.packets_sent);
        assert!(b.agent.unwrap().cpu_seconds >= a.agent.unwrap().cpu_seconds);
        assert!(b.system.unwrap().uptime_seconds > a.system.unwrap().uptime_seconds);
        let cpu = b.cpu.unwrap();
        assert!(
            cpu.interval_seconds > 0.1 && cpu.interval_seconds < 5.0,
            "{}",
            cpu.interval_seconds
        );
    }

    /// Micro-benchmark: run with `--nocapture` to see the numbers.
    #[test]
    fn sampler_serves_cached_snapshots_fast() {
        let mut c = Collectors::new(opts());
        let t = std::time::Instant::now();
        let full = c.collect();
        let collect_ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(full.cpu.is_some());

        let sampler = Sampler::start(MetricsOptions {
            interval: Duration::from_millis(100),
            ..opts()
        });
        let first = sampler.snapshot();
        let t = std::time::Instant::now();
        let n = 10_000;
        for _ in 0..n {
            std::hint::black_box(sampler.snapshot());
        }
        let per_call_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        eprintln!(
            "metrics bench: full collection {collect_ms:.2} ms, snapshot() {per_call_us:.3} µs"
        );
        assert!(per_call_us < 100.0, "snapshot() took {per_call_us} µs");

        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sampler.snapshot().collected_at_unix <= first.collected_at_unix {
            assert!(
                std::time::Instant::now() < deadline,
                "sampler never refreshed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sampler.stop();
    }
}
