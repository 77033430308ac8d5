//! The nested JSON of `GET /api/metrics` and `metrics --format json`,
//! shaped like the prototype's `collect_all_metrics` (same top-level keys,
//! psutil-style field names), plus our additions: `filesystems` per
//! mountpoint inside `disk.all_disks`, `sessions`, `onec_clients`,
//! `backup`, `collectors` and `agent`. A failed collector's section is
//! `null`.

use super::BackupState;
use crate::metrics::{SessionKind, SessionState, Snapshot};
use serde_json::{Value, json};

/// Build the JSON document.
pub fn to_json(s: &Snapshot, b: &BackupState) -> Value {
    let ts = jiff::Timestamp::from_millisecond((s.collected_at_unix * 1000.0) as i64)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let cpu = s.cpu.as_ref().map(|c| {
        json!({
            "percent": c.percent,
            "count_logical": c.logical_cores,
            "count_physical": c.physical_cores,
            "freq_current": c.freq_current_mhz,
            "freq_max": c.freq_max_mhz,
            "user_time": c.user_percent,
            "system_time": c.system_percent,
            "idle_time": c.idle_percent,
            "iowait_time": c.iowait_percent,
            "per_core": c.per_core_percent,
        })
    });
    let memory = s.memory.as_ref().map(|m| {
        json!({
            "total": m.total, "available": m.available, "used": m.used, "free": m.free,
            "percent": m.percent,
            "swap_total": m.swap_total, "swap_used": m.swap_used, "swap_free": m.swap_free,
            "swap_percent": m.swap_percent,
        })
    });
    let all_disks: Vec<Value> = s
        .filesystems
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            json!({
                "device": f.device, "mountpoint": f.mountpoint, "fstype": f.fstype,
                "total": f.size, "used": f.used(), "free": f.avail,
                "percent": f.used_percent(),
            })
        })
        .collect();
    let disk = json!({
        "backup_disk": s.backup_disk.as_ref().map(|d| json!({
            "path": d.path, "total": d.total, "used": d.used, "free": d.free, "percent": d.percent,
        })),
        "all_disks": all_disks,
    });
    let disk_io = s.disk_io.as_ref().map(|d| {
        let t = &d.total;
        json!({
            "read_count": t.read_count, "write_count": t.write_count,
            "read_bytes": t.read_bytes, "write_bytes": t.write_bytes,
            "read_time": t.read_time_ms, "write_time": t.write_time_ms,
            "devices": d.devices,
        })
    });
    let network = s.network.as_ref().map(|n| {
        let t = &n.total;
        json!({
            "bytes_sent": t.bytes_sent, "bytes_recv": t.bytes_recv,
            "packets_sent": t.packets_sent, "packets_recv": t.packets_recv,
            "errin": t.errin, "errout": t.errout, "dropin": t.dropin, "dropout": t.dropout,
            "active_connections": n.tcp_established,
            "interfaces": n.interfaces,
        })
    });
    let top = |v: &[crate::metrics::TopProcess]| -> Vec<Value> {
        v.iter()
            .map(|p| {
                json!({
                    "rank": p.rank, "pid": p.pid, "name": p.name, "username": p.user,
                    "cpu_percent": p.cpu_percent, "memory_bytes": p.rss_bytes,
                })
            })
            .collect()
    };
    let processes = s.processes.as_ref().map(|p| {
        json!({
            "total_count": p.count,
            "top_cpu": top(&p.top_cpu),
            "top_memory": top(&p.top_memory),
        })
    });
    let sessions = s.sessions.as_ref();
    let logged_users: Option<Vec<Value>> = sessions.map(|x| {
        x.sessions
            .iter()
            .map(|u| json!({"name": u.user, "terminal": u.line, "host": u.host, "kind": u.kind, "state": u.state}))
            .collect()
    });
    let rdp_sessions: Option<Vec<Value>> = sessions.map(|x| {
        x.sessions
            .iter()
            .filter(|u| u.kind == SessionKind::Rdp)
            .map(|u| {
                json!({
                    "username": u.user, "session_name": u.line, "id": u.id,
                    "state": u.state, "active": u.state == SessionState::Active, "host": u.host,
                })
            })
            .collect()
    });
    let system = s.system.as_ref().map(|x| {
        json!({
            "hostname": x.hostname, "os": x.os, "os_version": x.os_version,
            "kernel": x.kernel, "arch": x.arch, "boot_time": x.boot_time_unix,
        })
    });
    json!({
        "timestamp": ts,
        "timestamp_unix": s.collected_at_unix,
        "system": system,
        "uptime_seconds": s.system.as_ref().map(|x| x.uptime_seconds),
        "cpu_percent": s.cpu.as_ref().map(|c| c.percent),
        "cpu": cpu,
        "memory_percent": s.memory.as_ref().map(|m| m.percent),
        "memory": memory,
        "disk_percent": s.backup_disk.as_ref().map(|d| d.percent),
        "disk": disk,
        "disk_io": disk_io,
        "network": network,
        "processes": processes,
        "logged_users": logged_users,
        "logged_users_count": sessions.map(|x| x.logged_users),
        "rdp_sessions": rdp_sessions,
        "rdp_active_count": sessions.map(|x| x.active_rdp),
        "onec_clients": s.onec,
        "backup": b,
        "collectors": s.collectors,
        "agent": s.agent,
        "version": env!("CARGO_PKG_VERSION"),
    })
}
