//! What the agent's collectors find beyond metrics: disks, RAID, sensors, services, packages,
//! OS support, antivirus, time and certificates.
//!
//! Field names are snake case with the unit in the name. A value the tool did not give is
//! `None`, never a made-up zero. An item whose tool output could not be read carries `error` and
//! whatever fields could be read; one bad item never costs the others.

use serde::{Deserialize, Serialize};

macro_rules! wire {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name { $($body)* }
    };
}

wire! {
    /// One disk as smartctl sees it.
    pub struct Disk {
        /// The device as scanned, e.g. `/dev/sda` or `/dev/bus/0`.
        pub device: String,
        /// smartctl's `-d` type, e.g. `sat`, `nvme`, `megaraid,3`.
        pub device_type: Option<String>,
        /// `ATA`, `SCSI` or `NVMe`.
        pub protocol: Option<String>,
        pub model: Option<String>,
        pub serial: Option<String>,
        pub firmware: Option<String>,
        pub capacity_bytes: Option<u64>,
        /// The drive's own overall health verdict.
        pub smart_passed: Option<bool>,
        pub temperature_celsius: Option<f64>,
        pub power_on_hours: Option<u64>,
        pub reallocated_sectors: Option<u64>,
        pub pending_sectors: Option<u64>,
        pub offline_uncorrectable: Option<u64>,
        pub udma_crc_errors: Option<u64>,
        /// NVMe: share of the rated endurance used, may exceed 100.
        pub percentage_used: Option<u64>,
        pub available_spare_percent: Option<u64>,
        pub media_errors: Option<u64>,
        /// NVMe critical warning bit field; 0 when all is well.
        pub critical_warning: Option<u64>,
        pub error: Option<String>,
    }
}

wire! {
    /// Software and hardware RAID.
    pub struct Raid {
        pub arrays: Vec<RaidArray>,
        pub controllers: Vec<RaidController>,
    }
}

wire! {
    /// A Linux software RAID array (/proc/mdstat, `mdadm --detail`).
    pub struct RaidArray {
        /// e.g. `md0`.
        pub name: String,
        /// e.g. `raid1`.
        pub level: Option<String>,
        /// `active`, `inactive`, `read-only` or `auto-read-only`.
        pub state: String,
        pub disks_total: Option<u32>,
        pub disks_active: Option<u32>,
        pub disks_failed: u32,
        pub disks_spare: u32,
        pub degraded: bool,
        pub members: Vec<RaidMember>,
        /// `resync`, `recovery`, `check`, `reshape` or `none`.
        pub sync_action: String,
        pub sync_percent: Option<f64>,
        pub sync_eta_seconds: Option<u64>,
        /// `delayed` or `pending` when a resync waits its turn.
        pub sync_waiting: Option<String>,
        pub error: Option<String>,
    }
}

wire! {
    pub struct RaidMember {
        /// e.g. `sda1`.
        pub name: String,
        /// `active`, `spare` or `failed`.
        pub role: String,
    }
}

wire! {
    /// A hardware RAID controller and what its vendor tool says, when installed.
    pub struct RaidController {
        /// Kernel driver, e.g. `megaraid_sas`, `mpt3sas`, `aacraid`, `hpsa`, `smartpqi`.
        pub driver: String,
        /// The vendor tool that could report on it, e.g. `storcli`.
        pub tool: Option<String>,
        pub tool_present: bool,
        /// The tool's summary, as it says it.
        pub status: Option<String>,
        pub error: Option<String>,
    }
}

wire! {
    /// A temperature, fan or voltage sensor.
    pub struct Sensor {
        /// `hwmon` or `ipmi`.
        pub source: String,
        /// Chip or entity, e.g. `coretemp` or `k10temp`.
        pub chip: String,
        pub label: String,
        /// `temperature` (°C), `fan` (RPM) or `voltage` (V).
        pub kind: String,
        pub value: Option<f64>,
        pub max: Option<f64>,
        pub crit: Option<f64>,
        pub min: Option<f64>,
        pub alarm: Option<bool>,
    }
}

wire! {
    /// systemd units and listening sockets.
    pub struct Services {
        pub units_total: u32,
        pub units_failed: u32,
        /// Failed units and watched units (the agent's configured list), others omitted.
        pub units: Vec<ServiceUnit>,
        pub listening: Vec<ListeningPort>,
        /// Why no unit could be listed (no systemd on this host, as in a container), when none
        /// could; the listening sockets are reported all the same.
        pub units_unavailable: Option<String>,
    }
}

wire! {
    pub struct ServiceUnit {
        pub name: String,
        pub load_state: String,
        pub active_state: String,
        pub sub_state: String,
        pub restarts: Option<u64>,
        pub watched: bool,
    }
}

wire! {
    pub struct ListeningPort {
        /// `tcp` or `udp`.
        pub protocol: String,
        pub address: String,
        pub port: u16,
        pub process: Option<String>,
        pub pid: Option<u32>,
    }
}

wire! {
    /// Installed packages, pending updates and whether a reboot is needed.
    pub struct Packages {
        /// `dpkg` or `rpm`.
        pub manager: String,
        pub installed: Vec<InstalledPackage>,
        pub updates: Vec<PendingUpdate>,
        pub reboot_required: Option<bool>,
        /// Packages that asked for the reboot, when the system says.
        pub reboot_required_packages: Vec<String>,
        /// When the reboot became required (ms since the epoch), when known.
        pub reboot_required_since_ms: Option<i64>,
        pub error: Option<String>,
    }
}

wire! {
    pub struct InstalledPackage {
        pub name: String,
        pub version: String,
        pub architecture: Option<String>,
        /// The source package, when it differs from the binary package's name.
        pub source: Option<String>,
    }
}

wire! {
    pub struct PendingUpdate {
        pub name: String,
        pub current_version: Option<String>,
        pub new_version: String,
        pub architecture: Option<String>,
        /// e.g. `Debian-Security:12/stable-security` or an advisory id.
        pub origin: Option<String>,
        pub security: bool,
    }
}

wire! {
    /// The operating system and how long it is supported.
    pub struct OsSupport {
        pub id: String,
        pub version_id: String,
        pub pretty_name: String,
        pub kernel: String,
        /// End of (security) support, `YYYY-MM-DD`, from the agent's release table.
        pub eol_date: Option<String>,
        /// Past its end of life at collection time.
        pub eol: Option<bool>,
        pub days_until_eol: Option<i64>,
    }
}

wire! {
    pub struct Antivirus {
        /// `clamav`.
        pub engine: String,
        pub databases: Vec<SignatureDatabase>,
        pub freshclam_active: Option<bool>,
        pub clamd_active: Option<bool>,
        pub last_scan: Option<ScanSummary>,
        pub error: Option<String>,
    }
}

wire! {
    /// A ClamAV signature database file (.cvd/.cld header).
    pub struct SignatureDatabase {
        /// e.g. `main`, `daily`, `bytecode`.
        pub name: String,
        pub version: Option<u64>,
        pub signatures: Option<u64>,
        /// Build time from the header, ms since the epoch.
        pub built_at_ms: Option<i64>,
        pub error: Option<String>,
    }
}

wire! {
    pub struct ScanSummary {
        pub finished_at_ms: Option<i64>,
        pub scanned_files: Option<u64>,
        pub infected_files: Option<u64>,
        pub errors: Option<u64>,
    }
}

wire! {
    pub struct TimeSync {
        /// `timedatectl` or `chrony`.
        pub source: String,
        pub synchronized: bool,
        pub ntp_enabled: Option<bool>,
        pub offset_seconds: Option<f64>,
        pub server: Option<String>,
    }
}

wire! {
    /// A configured certificate file.
    pub struct Certificate {
        pub path: String,
        pub subject: Option<String>,
        pub issuer: Option<String>,
        pub not_after_ms: Option<i64>,
        pub days_left: Option<i64>,
        pub error: Option<String>,
    }
}

wire! {
    /// How each collector fared this cycle.
    pub struct CollectorStatus {
        pub name: String,
        /// `ok`, `unavailable` (tool missing, access denied) or `failed` (timeout, unreadable output).
        pub outcome: String,
        pub detail: Option<String>,
        pub duration_ms: u64,
    }
}

wire! {
    /// The agent's own health.
    pub struct AgentStatus {
        pub version: String,
        /// Reports dropped since the agent started because the spool was full or unwritable.
        pub dropped_reports: u64,
        /// Bytes waiting in the spool.
        pub spool_bytes: u64,
        /// Backup events dropped because the agent's queue of unsent ones was full.
        pub dropped_backup_events: u64,
    }
}
