//! The catalogue: every metric family [`build`] returns, in exposition
//! order (CPU, memory, disks, network, host, backups, restore drills, offsite copies, the agent and its
//! push sinks), with its name, type and help. The order is pinned by the
//! golden test; names are what users' dashboards use.

use super::Kind::{Counter, Gauge};
use super::{BackupState, BaseBackup, BaseOffsite, Builder, Family, Labels, SinkState};
use crate::metrics::Snapshot;

/// Every family, in a fixed order. A family whose collector failed is still
/// listed (HELP and TYPE) with no samples; `onec_scrape_collector_success`
/// says which collector failed. `sinks` are the enabled push sinks (none
/// outside the agent).
pub fn build(s: &Snapshot, b: &BackupState, sinks: &[SinkState]) -> Vec<Family> {
    let mut out = Builder(Vec::with_capacity(90));
    let o = &mut out;

    // CPU.
    let cpu = s.cpu.as_ref();
    o.single(
        "onec_cpu_percent",
        Gauge,
        "CPU utilisation over the last sampling interval, percent.",
        cpu.map(|c| c.percent),
    );
    o.single(
        "onec_cpu_count_logical",
        Gauge,
        "Number of logical CPUs.",
        cpu.map(|c| c.logical_cores as f64),
    );
    o.single(
        "onec_cpu_count_physical",
        Gauge,
        "Number of physical CPU cores.",
        cpu.and_then(|c| c.physical_cores).map(f64::from),
    );
    o.single(
        "onec_cpu_freq_current",
        Gauge,
        "Current CPU frequency, MHz (0 when the OS does not report it, as in the prototype).",
        cpu.map(|c| c.freq_current_mhz.unwrap_or(0.0)),
    );
    o.single(
        "onec_cpu_freq_max",
        Gauge,
        "Maximum CPU frequency, MHz (0 when the OS does not report it, as in the prototype).",
        cpu.map(|c| c.freq_max_mhz.unwrap_or(0.0)),
    );
    o.single(
        "onec_cpu_user_time",
        Gauge,
        "Share of CPU time in user mode over the last sampling interval, percent.",
        cpu.map(|c| c.user_percent),
    );
    o.single(
        "onec_cpu_system_time",
        Gauge,
        "Share of CPU time in kernel mode over the last sampling interval, percent.",
        cpu.map(|c| c.system_percent),
    );
    o.single(
        "onec_cpu_idle_time",
        Gauge,
        "Share of idle CPU time over the last sampling interval, percent.",
        cpu.map(|c| c.idle_percent),
    );
    let f = o.family(
        "onec_cpu_core_percent",
        Gauge,
        "Utilisation of each logical CPU over the last sampling interval, percent.",
    );
    for (i, p) in cpu
        .map(|c| c.per_core_percent.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        f.push(Labels::Core { core: i as u32 }, *p);
    }

    // Memory.
    let m = s.memory.as_ref();
    o.single(
        "onec_memory_percent",
        Gauge,
        "Used physical memory, percent.",
        m.map(|m| m.percent),
    );
    o.single(
        "onec_memory_total",
        Gauge,
        "Total physical memory, bytes.",
        m.map(|m| m.total as f64),
    );
    o.single(
        "onec_memory_available",
        Gauge,
        "Memory available to programs (including reclaimable cache), bytes.",
        m.map(|m| m.available as f64),
    );
    o.single(
        "onec_memory_used",
        Gauge,
        "Used physical memory, bytes.",
        m.map(|m| m.used as f64),
    );
    o.single(
        "onec_memory_free",
        Gauge,
        "Completely free physical memory, bytes.",
        m.map(|m| m.free as f64),
    );
    o.single(
        "onec_memory_swap_percent",
        Gauge,
        "Used swap or page file, percent.",
        m.map(|m| m.swap_percent),
    );
    o.single(
        "onec_memory_swap_total",
        Gauge,
        "Swap or page file size, bytes.",
        m.map(|m| m.swap_total as f64),
    );
    o.single(
        "onec_memory_swap_used",
        Gauge,
        "Used swap, bytes.",
        m.map(|m| m.swap_used as f64),
    );
    o.single(
        "onec_memory_swap_free",
        Gauge,
        "Free swap, bytes.",
        m.map(|m| m.swap_free as f64),
    );

    // The disk holding BACKUP_DIR.
    let d = s.backup_disk.as_ref();
    o.single(
        "onec_disk_percent",
        Gauge,
        "Used space on the disk holding BACKUP_DIR, percent.",
        d.map(|d| d.percent),
    );
    o.single(
        "onec_disk_backup_disk_total",
        Gauge,
        "Size of the disk holding BACKUP_DIR, bytes.",
        d.map(|d| d.total as f64),
    );
    o.single(
        "onec_disk_backup_disk_used",
        Gauge,
        "Used space on the disk holding BACKUP_DIR, bytes.",
        d.map(|d| d.used as f64),
    );
    o.single(
        "onec_disk_backup_disk_free",
        Gauge,
        "Free space on the disk holding BACKUP_DIR, bytes.",
        d.map(|d| d.free as f64),
    );

    // Disk I/O totals (prototype counter names without _total).
    let io = s.disk_io.as_ref().map(|d| &d.total);
    o.single(
        "onec_disk_io_read_count",
        Counter,
        "Read operations on all disks since boot.",
        io.map(|c| c.read_count as f64),
    );
    o.single(
        "onec_disk_io_write_count",
        Counter,
        "Write operations on all disks since boot.",
        io.map(|c| c.write_count as f64),
    );
    o.single(
        "onec_disk_io_read_bytes",
        Counter,
        "Bytes read from all disks since boot.",
        io.map(|c| c.read_bytes as f64),
    );
    o.single(
        "onec_disk_io_write_bytes",
        Counter,
        "Bytes written to all disks since boot.",
        io.map(|c| c.write_bytes as f64),
    );
    o.single(
        "onec_disk_io_read_time",
        Counter,
        "Time spent reading from all disks since boot, milliseconds.",
        io.map(|c| c.read_time_ms as f64),
    );
    o.single(
        "onec_disk_io_write_time",
        Counter,
        "Time spent writing to all disks since boot, milliseconds.",
        io.map(|c| c.write_time_ms as f64),
    );

    // Filesystems.
    let fss = s.filesystems.as_deref().unwrap_or_default();
    let mount = |fs: &crate::metrics::Filesystem| Labels::Mount {
        mountpoint: fs.mountpoint.clone(),
        fstype: fs.fstype.clone(),
    };
    let f = o.family(
        "onec_filesystem_size_bytes",
        Gauge,
        "Filesystem size, bytes.",
    );
    fss.iter().for_each(|fs| f.push(mount(fs), fs.size as f64));
    let f = o.family(
        "onec_filesystem_free_bytes",
        Gauge,
        "Filesystem free space including the part reserved for root, bytes.",
    );
    fss.iter().for_each(|fs| f.push(mount(fs), fs.free as f64));
    let f = o.family(
        "onec_filesystem_avail_bytes",
        Gauge,
        "Filesystem space available to unprivileged users, bytes.",
    );
    fss.iter().for_each(|fs| f.push(mount(fs), fs.avail as f64));

    // Per-device disk I/O (whole disks only, so sums are not doubled).
    let devs: Vec<_> = s
        .disk_io
        .as_ref()
        .map(|d| d.devices.iter().filter(|d| !d.partition).collect())
        .unwrap_or_default();
    type IoField = fn(&crate::metrics::IoCounters) -> f64;
    let per_dev: [(&'static str, &'static str, IoField); 6] = [
        (
            "onec_disk_reads_completed_total",
            "Completed read operations per disk.",
            |c| c.read_count as f64,
        ),
        (
            "onec_disk_writes_completed_total",
            "Completed write operations per disk.",
            |c| c.write_count as f64,
        ),
        ("onec_disk_read_bytes_total", "Bytes read per disk.", |c| {
            c.read_bytes as f64
        }),
        (
            "onec_disk_written_bytes_total",
            "Bytes written per disk.",
            |c| c.write_bytes as f64,
        ),
        (
            "onec_disk_read_time_seconds_total",
            "Time spent reading per disk, seconds.",
            |c| c.read_time_ms as f64 / 1000.0,
        ),
        (
            "onec_disk_write_time_seconds_total",
            "Time spent writing per disk, seconds.",
            |c| c.write_time_ms as f64 / 1000.0,
        ),
    ];
    for (name, help, get) in per_dev {
        let f = o.family(name, Counter, help);
        for d in &devs {
            f.push(
                Labels::Device {
                    device: d.name.clone(),
                },
                get(&d.counters),
            );
        }
    }

    // Network totals (prototype counter names without _total).
    let net = s.network.as_ref();
    let nt = net.map(|n| &n.total);
    o.single(
        "onec_network_bytes_sent",
        Counter,
        "Bytes sent on all interfaces but loopback.",
        nt.map(|c| c.bytes_sent as f64),
    );
    o.single(
        "onec_network_bytes_recv",
        Counter,
        "Bytes received on all interfaces but loopback.",
        nt.map(|c| c.bytes_recv as f64),
    );
    o.single(
        "onec_network_packets_sent",
        Counter,
        "Packets sent on all interfaces but loopback.",
        nt.map(|c| c.packets_sent as f64),
    );
    o.single(
        "onec_network_packets_recv",
        Counter,
        "Packets received on all interfaces but loopback.",
        nt.map(|c| c.packets_recv as f64),
    );
    o.single(
        "onec_network_errin",
        Counter,
        "Receive errors on all interfaces but loopback.",
        nt.map(|c| c.errin as f64),
    );
    o.single(
        "onec_network_errout",
        Counter,
        "Transmit errors on all interfaces but loopback.",
        nt.map(|c| c.errout as f64),
    );
    o.single(
        "onec_network_dropin",
        Counter,
        "Dropped incoming packets on all interfaces but loopback.",
        nt.map(|c| c.dropin as f64),
    );
    o.single(
        "onec_network_dropout",
        Counter,
        "Dropped outgoing packets on all interfaces but loopback.",
        nt.map(|c| c.dropout as f64),
    );
    o.single(
        "onec_network_active_connections",
        Gauge,
        "Established TCP connections.",
        net.map(|n| n.tcp_established as f64),
    );
    let ifaces = net.map(|n| n.interfaces.as_slice()).unwrap_or_default();
    type NetField = fn(&crate::metrics::NetCounters) -> f64;
    let per_if: [(&'static str, &'static str, NetField); 8] = [
        (
            "onec_network_receive_bytes_total",
            "Bytes received per interface.",
            |c| c.bytes_recv as f64,
        ),
        (
            "onec_network_transmit_bytes_total",
            "Bytes sent per interface.",
            |c| c.bytes_sent as f64,
        ),
        (
            "onec_network_receive_packets_total",
            "Packets received per interface.",
            |c| c.packets_recv as f64,
        ),
        (
            "onec_network_transmit_packets_total",
            "Packets sent per interface.",
            |c| c.packets_sent as f64,
        ),
        (
            "onec_network_receive_errors_total",
            "Receive errors per interface.",
            |c| c.errin as f64,
        ),
        (
            "onec_network_transmit_errors_total",
            "Transmit errors per interface.",
            |c| c.errout as f64,
        ),
        (
            "onec_network_receive_drop_total",
            "Dropped incoming packets per interface.",
            |c| c.dropin as f64,
        ),
        (
            "onec_network_transmit_drop_total",
            "Dropped outgoing packets per interface.",
            |c| c.dropout as f64,
        ),
    ];
    for (name, help, get) in per_if {
        let f = o.family(name, Counter, help);
        for i in ifaces {
            f.push(
                Labels::Device {
                    device: i.name.clone(),
                },
                get(&i.counters),
            );
        }
    }

    // Processes, users, sessions.
    let procs = s.processes.as_ref();
    let sess = s.sessions.as_ref();
    let sys = s.system.as_ref();
    o.single(
        "onec_processes_total_count",
        Gauge,
        "Number of processes.",
        procs.map(|p| p.count as f64),
    );
    o.single(
        "onec_logged_users_count",
        Gauge,
        "Number of distinct logged-in users.",
        sess.map(|x| x.logged_users as f64),
    );
    o.single(
        "onec_rdp_active_count",
        Gauge,
        "Active RDP sessions.",
        sess.map(|x| x.active_rdp as f64),
    );
    o.single(
        "onec_uptime_seconds",
        Gauge,
        "Time since the OS booted, seconds.",
        sys.map(|x| x.uptime_seconds),
    );
    o.single(
        "onec_timestamp_unix",
        Gauge,
        "When the agent took these measurements, unix seconds.",
        Some(s.collected_at_unix),
    );
    let f = o.family(
        "onec_process_top_cpu_percent",
        Gauge,
        "Top 5 processes by CPU utilisation, percent of one CPU (rank 1-5).",
    );
    for p in procs.map(|p| p.top_cpu.as_slice()).unwrap_or_default() {
        f.push(
            Labels::Top {
                rank: p.rank,
                name: p.name.clone(),
            },
            p.cpu_percent,
        );
    }
    let f = o.family(
        "onec_process_top_memory_bytes",
        Gauge,
        "Top 5 processes by resident memory, bytes (rank 1-5).",
    );
    for p in procs.map(|p| p.top_memory.as_slice()).unwrap_or_default() {
        f.push(
            Labels::Top {
                rank: p.rank,
                name: p.name.clone(),
            },
            p.rss_bytes as f64,
        );
    }
    let f = o.family(
        "onec_session_info",
        Gauge,
        "One series per user session, always 1; kind is rdp, console, ssh, tty or other.",
    );
    let sessions = sess.map(|x| x.sessions.as_slice()).unwrap_or_default();
    for x in sessions {
        f.push(
            Labels::Session {
                user: x.user.clone(),
                kind: x.kind.as_str(),
                state: x.state.as_str(),
                host: x.host.clone(),
            },
            1.0,
        );
    }
    let f = o.family("onec_rdp_sessions", Gauge, "RDP sessions in each state.");
    if sess.is_some() {
        use crate::metrics::{SessionKind, SessionState};
        for st in [
            SessionState::Active,
            SessionState::Disconnected,
            SessionState::Idle,
            SessionState::Connected,
            SessionState::Other,
        ] {
            let n = sessions
                .iter()
                .filter(|x| x.kind == SessionKind::Rdp && x.state == st)
                .count();
            f.push(Labels::State { state: st.as_str() }, n as f64);
        }
    }
    let onec = s.onec.as_ref();
    let f = o.family(
        "onec_1c_client_processes",
        Gauge,
        "1C client processes (1cv8, 1cv8c, 1cv8s, 1cv8t) per OS user.",
    );
    for u in onec.map(|x| x.per_user.as_slice()).unwrap_or_default() {
        f.push(
            Labels::User {
                user: u.user.clone(),
            },
            u.count as f64,
        );
    }
    o.single(
        "onec_1c_clients",
        Gauge,
        "1C client processes on the host.",
        onec.map(|x| x.total as f64),
    );
    let f = o.family(
        "onec_1c_clients_per_base",
        Gauge,
        "1C client processes whose command line names the configured base (clients whose base cannot be told are not counted).",
    );
    for x in onec.map(|x| x.per_base.as_slice()).unwrap_or_default() {
        f.push(
            Labels::Base {
                base: x.base.clone(),
            },
            x.clients as f64,
        );
    }
    let f = o.family(
        "onec_system_info",
        Gauge,
        "Always 1; the host's identity in labels.",
    );
    if let Some(x) = sys {
        f.push(
            Labels::System {
                hostname: x.hostname.clone(),
                os: x.os.clone(),
                os_version: x.os_version.clone(),
                kernel: x.kernel.clone(),
                arch: x.arch.clone(),
            },
            1.0,
        );
    }
    o.single(
        "onec_boot_time_seconds",
        Gauge,
        "When the OS booted, unix seconds.",
        sys.map(|x| x.boot_time_unix as f64),
    );

    // Backups.
    let last = b.default_last.as_ref();
    o.single(
        "onec_backup_status",
        Gauge,
        "Last finished backup of the default base: 1 ok, 0 failed or interrupted.",
        last.map(|l| if l.ok { 1.0 } else { 0.0 }),
    );
    o.single(
        "onec_backup_timestamp",
        Gauge,
        "When the last finished backup of the default base ended, unix seconds.",
        last.map(|l| l.timestamp_unix),
    );
    o.single(
        "onec_backup_size_bytes",
        Gauge,
        "Archive size of the last finished backup of the default base, bytes.",
        last.map(|l| l.size_bytes as f64),
    );
    o.single(
        "onec_backup_duration_seconds",
        Gauge,
        "Duration of the last finished backup of the default base, seconds.",
        last.map(|l| l.duration_seconds),
    );
    let base = |x: &BaseBackup| Labels::Base {
        base: x.name.clone(),
    };
    let f = o.family(
        "onec_backup_last_success_timestamp_seconds",
        Gauge,
        "When the last successful backup of the base ended, unix seconds.",
    );
    for x in &b.bases {
        if let Some(t) = x.last_success_unix {
            f.push(base(x), t);
        }
    }
    let f = o.family(
        "onec_backup_runs_total",
        Counter,
        "Backup runs recorded in the history, by base and final status.",
    );
    for x in &b.bases {
        for (status, n) in &x.runs {
            f.push(
                Labels::BaseStatus {
                    base: x.name.clone(),
                    status,
                },
                *n as f64,
            );
        }
    }
    let f = o.family(
        "onec_backup_blocked_by_users_total",
        Counter,
        "Failed backup runs of the base recorded in the history whose cause was users inside (1C could not lock it exclusively, or a copy found it in use).",
    );
    for x in &b.bases {
        f.push(base(x), x.blocked_by_users as f64);
    }
    let f = o.family(
        "onec_backup_running",
        Gauge,
        "1 while a backup of the base runs in this agent, else 0.",
    );
    for x in &b.bases {
        f.push(base(x), if x.running { 1.0 } else { 0.0 });
    }
    let f = o.family(
        "onec_backup_archives",
        Gauge,
        "Archives of the base found in BACKUP_DIR.",
    );
    for x in b.bases.iter().filter(|x| x.archives.is_some()) {
        f.push(base(x), x.archives.map(|a| a.0).unwrap_or(0) as f64);
    }
    let f = o.family(
        "onec_backup_archives_bytes",
        Gauge,
        "Total size of the base's archives in BACKUP_DIR, bytes.",
    );
    for x in b.bases.iter().filter(|x| x.archives.is_some()) {
        f.push(base(x), x.archives.map(|a| a.1).unwrap_or(0) as f64);
    }

    // Restore drills.
    let f = o.family(
        "onec_restore_drill_last_success_timestamp_seconds",
        Gauge,
        "When the last successful restore drill of the base ended, unix seconds.",
    );
    for x in &b.bases {
        if let Some(t) = x.drill.last_success_unix {
            f.push(base(x), t);
        }
    }
    let f = o.family(
        "onec_restore_drill_duration_seconds",
        Gauge,
        "How long the last restore drill of the base took (ok or failed), seconds.",
    );
    for x in &b.bases {
        if let Some(d) = x.drill.last_duration_seconds {
            f.push(base(x), d);
        }
    }
    let f = o.family(
        "onec_restore_drill_last_ok",
        Gauge,
        "Last restore drill of the base that ran: 1 passed, 0 failed (the archive is damaged or did not restore).",
    );
    for x in &b.bases {
        if let Some(s) = x.drill.last_status {
            f.push(base(x), if s == "ok" { 1.0 } else { 0.0 });
        }
    }
    let f = o.family(
        "onec_restore_drill_stale",
        Gauge,
        "1 when the base has a drill schedule and no successful restore drill for longer than BACKUP_DRILL_MAX_AGE_DAYS, else 0.",
    );
    for x in &b.bases {
        f.push(
            base(x),
            if x.drill.stale_for.is_some() {
                1.0
            } else {
                0.0
            },
        );
    }

    // Offsite copies.
    let pair = |x: &BaseBackup, o: &BaseOffsite| Labels::BaseTarget {
        base: x.name.clone(),
        target: o.target.clone(),
    };
    let f = o.family(
        "onec_offsite_last_success_timestamp_seconds",
        Gauge,
        "When the newest verified offsite copy of the base on the target was uploaded, unix seconds.",
    );
    for x in &b.bases {
        for t in &x.offsite {
            if let Some(at) = t.last_success_unix {
                f.push(pair(x, t), at);
            }
        }
    }
    let f = o.family(
        "onec_offsite_uploads_total",
        Counter,
        "Upload attempts to the offsite target recorded in the history, by status (ok, failed).",
    );
    for t in &b.offsite {
        for (status, n) in [("ok", t.uploads_ok), ("failed", t.uploads_failed)] {
            f.push(
                Labels::TargetStatus {
                    target: t.target.clone(),
                    status,
                },
                n as f64,
            );
        }
    }
    let f = o.family(
        "onec_offsite_queue_bytes",
        Gauge,
        "Bytes of archives waiting in the queue for the offsite target (not yet uploaded).",
    );
    for t in &b.offsite {
        f.push(
            Labels::Target {
                target: t.target.clone(),
            },
            t.queued_bytes as f64,
        );
    }
    let f = o.family(
        "onec_offsite_stale",
        Gauge,
        "1 when the newest offsite copy of the base on the target is older than OFFSITE_MAX_AGE_HOURS (or there is none that long after the target appeared), else 0.",
    );
    for x in &b.bases {
        for t in &x.offsite {
            f.push(pair(x, t), if t.stale_for.is_some() { 1.0 } else { 0.0 });
        }
    }

    // The agent itself.
    let f = o.family(
        "onec_agent_build_info",
        Gauge,
        "Always 1; the agent's version in a label.",
    );
    f.push(
        Labels::Version {
            version: env!("CARGO_PKG_VERSION"),
        },
        1.0,
    );
    let f = o.family(
        "onec_scrape_collector_success",
        Gauge,
        "1 if the collector succeeded in the last collection round, else 0.",
    );
    for c in &s.collectors {
        f.push(
            Labels::Collector {
                collector: c.collector.as_str(),
            },
            if c.success { 1.0 } else { 0.0 },
        );
    }
    let f = o.family(
        "onec_scrape_collector_duration_seconds",
        Gauge,
        "How long the collector took in the last collection round, seconds.",
    );
    for c in &s.collectors {
        f.push(
            Labels::Collector {
                collector: c.collector.as_str(),
            },
            c.duration_seconds,
        );
    }
    let ag = s.agent.as_ref();
    o.single(
        "onec_agent_resident_memory_bytes",
        Gauge,
        "Resident memory of the agent process, bytes.",
        ag.map(|a| a.rss_bytes as f64),
    );
    o.single(
        "onec_agent_cpu_seconds_total",
        Counter,
        "CPU time used by the agent process (user + system), seconds.",
        ag.map(|a| a.cpu_seconds),
    );

    // Push sinks.
    let sink = |x: &SinkState| Labels::Sink { sink: x.sink };
    let f = o.family(
        "onec_sink_up",
        Gauge,
        "1 if the push sink's last attempt succeeded (or none was made yet), else 0.",
    );
    for x in sinks {
        f.push(sink(x), if x.up { 1.0 } else { 0.0 });
    }
    let f = o.family(
        "onec_sink_errors_total",
        Counter,
        "Failed attempts of the push sink since the agent started (retries included).",
    );
    for x in sinks {
        f.push(sink(x), x.errors_total as f64);
    }
    let f = o.family(
        "onec_sink_queue_samples",
        Gauge,
        "Samples or log lines queued for the push sink, waiting to be sent.",
    );
    for x in sinks {
        f.push(sink(x), x.queue_samples as f64);
    }
    out.0
}
