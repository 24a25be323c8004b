//! The command line: every command, its flags and its help text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tend",
    version,
    about = "Keep your customers' servers healthy: control plane, agent and CLI in one binary."
)]
#[command(after_help = "Exit codes: 0 success, 1 failure, 2 usage error, 3 not logged in or not allowed, \
4 not found, 5 server or database unreachable, 6 request refused as invalid or conflicting.")]
pub struct Cli {
    /// Log lines as human-readable text or JSON objects (levels: TEND_LOG, e.g. "debug").
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try tend on this machine: server on embedded SQLite plus an agent for this host.
    Up(UpArgs),
    /// Run the control plane: HTTP API, web UI, agent endpoint.
    Server(ServerArgs),
    /// Run or enroll the agent of a managed server.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Log in to a tend server; the API token is kept in your config directory.
    Login(LoginArgs),
    /// Revoke the stored API token and forget it.
    Logout,
    /// Managed hosts.
    #[command(subcommand)]
    Host(HostCommand),
    /// Clients: the provider's customer companies.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Tokens with which machines enroll their agent.
    #[command(subcommand, name = "enroll-token")]
    EnrollToken(EnrollTokenCommand),
    /// The server's configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Alerts: list and acknowledge.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Maintenance windows: alerts inside them are recorded, not notified.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// Checks: the catalogue, a host's effective settings, overrides.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run one synthetic probe now, from here: exit 0 when it passes, 1 when it fails, 2 on
    /// bad arguments.
    Probe(ProbeArgs),
    /// Heartbeat checks: cron jobs and backup tools ping a URL; late or failed ones alert.
    #[command(subcommand)]
    Ping(PingCommand),
    /// Service desk tickets: file, follow, answer, escalate, resolve, confirm.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// The credential vault: access credentials for a host, sealed; revealed only to the
    /// technician assigned to an open ticket on the host, with a reason, and audited.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// The audit trail: reveals of credentials and other actions on customers' machines.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Jobs agents run on their host (reboot, shutdown, power cycle, script), each allowed only
    /// by the customer's authorization for that host at that moment.
    #[command(subcommand)]
    Job(JobCommand),
    /// Security advisories: import OSV files or the Debian security tracker's export.
    #[command(subcommand)]
    Advisory(AdvisoryCommand),
    /// Patch management: a host's exposures, compliance with the security promise.
    #[command(subcommand)]
    Patch(PatchCommand),
    /// Backups with restic: hosts' plans, what their agents reported, the overview.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// tend's own database: back it up while the server runs, check a backup's age, restore
    /// one while the server is stopped.
    #[command(subcommand)]
    Db(DbCommand),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Write a consistent copy of the server's database to FILE while the server runs (SQLite:
    /// an online copy checked for integrity; PostgreSQL: pg_dump), and FILE.json beside it
    /// recording when. With --check: exit 0 when FILE's record is younger than --max-age, 1
    /// when it is older or unreadable.
    #[command(after_help = "Exit codes: 0 done or fresh, 1 failed or stale, 2 usage error.\nExamples:\n  \
tend db backup /srv/backups/tend.db\n  tend db backup --check /srv/backups/tend.db --max-age 26h")]
    Backup(DbBackupArgs),
    /// Replace the server's database with a backup. Stop the server first: a database in use
    /// is refused. SQLite keeps the replaced file as <db>.before-restore.
    Restore(DbRestoreArgs),
}

#[derive(Debug, Args)]
pub struct DbBackupArgs {
    /// The backup file.
    pub file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Check FILE's age instead of backing up.
    #[arg(long)]
    pub check: bool,
    /// With --check: the oldest FILE may be, e.g. 26h.
    #[arg(long, default_value = "26h", requires = "check", value_parser = crate::duration::parse)]
    pub max_age: jiff::SignedDuration,
    #[command(flatten)]
    pub output: JsonFlag,
    // Where the database is: the server's configuration, read as `tend server` reads it.
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct DbRestoreArgs {
    /// A backup made by `tend db backup` or the scheduled self-backup.
    pub file: PathBuf,
    /// Do not ask before replacing the database (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    // Where the database is: the server's configuration, read as `tend server` reads it.
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum AdvisoryCommand {
    /// Import an advisory file (staff): OSV JSON (one record, an array, or JSON lines) or the
    /// Debian security tracker's JSON export. Importing the same file again changes nothing;
    /// tend keeps when it first learned of each advisory.
    #[command(after_help = "Examples:\n  tend advisory import tracker.json\n  \
tend advisory import DSA-5678-1.json --format osv")]
    Import {
        /// The file, as published.
        file: PathBuf,
        /// osv or debian_tracker; detected from the file when absent.
        #[arg(long, value_parser = ["osv", "debian_tracker"])]
        format: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum PatchCommand {
    /// Compliance with the security promise, per host: pending updates, pending security fixes
    /// with their age, open advisories, the OS's end of life, the host's ring and when an update
    /// job last succeeded on it. Exits 1 when a host has a security fix pending past its promise
    /// (its patch policy's; 24 h unless configured otherwise), held packages aside.
    #[command(after_help = "Exit codes: 0 every host keeps the promise, 1 a host is outside it \
(or another failure).\nExample:\n  tend patch status --client acme")]
    Status {
        /// Client id or name; default: every client you may see.
        #[arg(long)]
        client: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// A host's open advisories: vulnerable (fixed version, update offered or not), exposed (no
    /// fix), mitigated, or deferred by the distribution (no-dsa, postponed, ignored).
    Exposures {
        /// Host id or hostname.
        host: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Patch rollouts through rings: test before production.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Patch policies: the security promise, held packages, reboots and the health gate, for a
    /// client, a site or a host. A host follows its own policy, else its site's, else its
    /// client's, else the server's default; the nearest replaces the others as a whole.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// A client's stored policies (its own, its sites' and its hosts'), or with --host the
    /// policy in force for that host and where it comes from (host, site, client or default).
    #[command(after_help = "Examples:\n  tend patch policy show --client acme\n  \
tend patch policy show --client acme --host db1 --json")]
    Show {
        /// Client id or name.
        #[arg(long)]
        client: String,
        /// Host id or hostname: show the policy in force for it instead.
        #[arg(long)]
        host: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Set the policy of a client, or of one of its sites or hosts (staff), replacing the one it
    /// had. What is not given takes its default (promise 24h, no holds, reboot in_window, health
    /// gate 30m, no automatic security rollouts), not the value of the policy above.
    #[command(after_help = "Examples:\n  tend patch policy set --client acme --promise 72h --reboot ask\n  \
tend patch policy set --client acme --host db1 --hold 'postgresql-*=vendor certification' \\\n      \
--hold-until 2027-01-01T00:00:00Z")]
    Set {
        /// Client id or name.
        #[arg(long)]
        client: String,
        /// For this site of the client (id or name) instead of the whole client.
        #[arg(long, conflicts_with = "host")]
        site: Option<String>,
        /// For this host of the client (id or hostname) instead of the whole client.
        #[arg(long)]
        host: Option<String>,
        /// Security fixes are applied within this time of tend learning of them, e.g. 24h, 4h
        /// or 3d (at most 31 days).
        #[arg(long, value_parser = crate::duration::parse)]
        promise: Option<jiff::SignedDuration>,
        /// Whether a host that needs a reboot after its updates gets one: never, in_window (in
        /// its maintenance window) or ask (a ticket asks the customer first).
        #[arg(long, value_parser = ["never", "in_window", "ask"])]
        reboot: Option<String>,
        /// How long a host has after an update to report again with no new problem before the
        /// update counts as failed on it, e.g. 30m (at most 24h).
        #[arg(long, value_parser = crate::duration::parse)]
        health_gate: Option<jiff::SignedDuration>,
        /// Start an emergency rollout by itself for every security fix the hosts need.
        #[arg(long)]
        auto_security_rollouts: bool,
        /// Keep packages out of patch sets and out of the promise: PATTERN=REASON, where `*` in
        /// the pattern stands for any run of characters and `?` for one. Repeatable.
        #[arg(long = "hold", value_name = "PATTERN=REASON")]
        holds: Vec<String>,
        /// When the holds given end by themselves (RFC 3339); default: until lifted.
        #[arg(long, requires = "holds")]
        hold_until: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Delete a stored policy (staff) by its id (see `show`): its client, site or host then
    /// follows the next policy up.
    Clear { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Roll packages out through a client's rings (staff): the first ring at once, each next
    /// ring after the one before applied them and soaked with no new critical alert.
    #[command(
        after_help = "Examples:\n  tend patch rollout new acme 'openssl DSA-5678-1' openssl libssl3 --emergency\n  \
tend patch rollout new acme kernel linux-image-amd64 --rings test,staging,production"
    )]
    New {
        /// Client id or name.
        client: String,
        /// What the patch set is, for people.
        name: String,
        /// The packages to update.
        #[arg(required = true)]
        packages: Vec<String>,
        /// The rings in order (comma-separated); default test,production.
        #[arg(long, value_delimiter = ',')]
        rings: Option<Vec<String>>,
        /// An emergency: each ring soaks 2 h instead of 24 h.
        #[arg(long)]
        emergency: bool,
        /// How long each ring soaks, in seconds (overrides the urgency's soak).
        #[arg(long)]
        soak_secs: Option<i64>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// List rollouts, newest first.
    List {
        /// Only this client's (id or name).
        #[arg(long)]
        client: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// One rollout per ring and host: applied, failed, queued, running or pending.
    Show {
        id: i64,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Start the next ring without waiting for the soak (staff); the reason is audited.
    Promote {
        id: i64,
        /// Why the soak is cut short.
        #[arg(long, required = true)]
        reason: String,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Ask the host's agent to run a job. Refused (exit 3, with the reason) unless an open
    /// ticket or a standing authorization of the contract allows it on this host now.
    #[command(after_help = "Examples:\n  tend job run web1 reboot --ticket 42\n  \
tend job run 7 script --script 'df -h'   (runs only where the agent sets allow_scripts)\n  \
tend job run web1 apply_updates --packages openssl,libssl3")]
    Run {
        /// Host id or hostname.
        host: String,
        /// What to do; `script` runs the shell script given with --script; `apply_updates`
        /// installs pending updates (needs `patching` in the client's contract, no ticket).
        #[arg(value_parser = ["reboot", "shutdown", "power_cycle", "script", "apply_updates"])]
        kind: String,
        /// The ticket the work is for: its authorization is tried first and the job is
        /// recorded in its history.
        #[arg(long)]
        ticket: Option<i64>,
        /// The shell script of a `script` job.
        #[arg(long, required_if_eq("kind", "script"))]
        script: Option<String>,
        /// The packages an `apply_updates` job upgrades, comma-separated; default: every
        /// pending update.
        #[arg(long, value_delimiter = ',')]
        packages: Vec<String>,
        /// An `apply_updates` job installs security updates only.
        #[arg(long)]
        security_only: bool,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// A host's jobs, newest first.
    List {
        /// Host id or hostname.
        host: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// One job with its result.
    Show {
        id: i64,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// File a ticket. Structured kinds (intervention, os_reinstall, hardware_change) take their
    /// form as JSON with --form.
    New {
        /// incident, service_request, intervention, os_reinstall, hardware_change or change.
        #[arg(long, default_value = "incident")]
        kind: String,
        /// Client id or name (the provider's staff).
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        subject: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Host ids or hostnames the ticket is about.
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// high, medium or low.
        #[arg(long, default_value = "medium")]
        impact: String,
        /// high, medium or low.
        #[arg(long, default_value = "medium")]
        urgency: String,
        /// The structured form, JSON, e.g. '{"kind":"os_reinstall", ...}'; @FILE reads a file.
        #[arg(long)]
        form: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Tickets, earliest SLA deadline first.
    List {
        /// Only this queue: L1, L2 or L3.
        #[arg(long)]
        level: Option<String>,
        /// Include closed tickets.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// A ticket with its SLA clocks and history.
    Show {
        id: i64,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// A public reply.
    Reply { id: i64, text: String },
    /// An internal note.
    Note { id: i64, text: String },
    /// Hand the ticket to the next support level; the note is required.
    Escalate { id: i64, note: String },
    /// Assign the ticket to a member of staff (user id or username); --none unassigns.
    Assign {
        id: i64,
        #[arg(required_unless_present = "none")]
        user: Option<String>,
        #[arg(long)]
        none: bool,
    },
    /// Mark the ticket resolved, with a note to the customer.
    Resolve { id: i64, note: String },
    /// Confirm the fix as the customer, and rate the service from 1 to 5.
    Confirm {
        id: i64,
        #[arg(long)]
        rating: Option<u8>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reopen a resolved ticket, saying why.
    Reopen { id: i64, reason: String },
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  tend probe http https://example.net --contains Welcome --status 200\n  \
tend probe tcp 127.0.0.1:22\n  tend probe dns example.net --server 127.0.0.1:53 --type A --expect 192.0.2.1\n  \
tend probe tls example.net:443 --min-days 21\n  tend probe ping 192.0.2.1 --count 3")]
pub struct ProbeArgs {
    /// http, tcp, dns, ping, tls or mail.
    pub kind: String,
    /// What to probe: a URL, host:port, name, host or (mail) the recipient address.
    pub target: String,
    /// Seconds before the probe gives up.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[command(flatten)]
    pub output: JsonFlag,
    /// The probe's own options, e.g. --contains TEXT --status 200 --server IP:PORT.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "OPTIONS")]
    pub options: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the database, the agent's state and everything else are kept.
    #[arg(long, default_value = "tend-data", env = "TEND_DATA")]
    pub data: PathBuf,
    /// Address of the web UI and API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// TOML configuration file (see `tend config example`); TEND_* variables override it.
    #[arg(long, env = "TEND_CONFIG")]
    pub config: Option<PathBuf>,
    /// Overrides `listen`.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Overrides `database_url`: postgres://… for PostgreSQL.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Overrides `data_dir`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Exchange an enrollment token for this machine's credential.
    Enroll(EnrollArgs),
    /// Collect and report until stopped (SIGTERM or Ctrl-C send a last report first).
    Run(AgentRunArgs),
    /// Run every collector once and print what it found; enrolls nowhere, sends nothing.
    Collect {
        /// Required: run once and exit (the only mode; the flag says so in scripts).
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        settings: AgentSettingsArgs,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Parse one captured tool output and print the normalized JSON (see docs/collectors.md).
    Parse {
        /// What the file is: smartctl, mdstat, hwmon (a directory), apt-upgradable, apt-simulate,
        /// dpkg-status, rpm-qa, dnf-updateinfo, os-release, clamav-db (a directory),
        /// systemctl-units, …; `tend agent parse list` names them all.
        kind: String,
        /// The captured output (or directory); required unless KIND is `list`.
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The tend server, e.g. https://tend.example.net
    #[arg(long, env = "TEND_SERVER")]
    pub server: String,
    /// The enrollment token (tnd_e_…).
    #[arg(long, env = "TEND_TOKEN", hide_env_values = true)]
    pub token: String,
    #[command(flatten)]
    pub settings: AgentSettingsArgs,
}

#[derive(Debug, Args)]
pub struct AgentRunArgs {
    #[command(flatten)]
    pub settings: AgentSettingsArgs,
    /// Seconds between reports (at least 10); default: what the server asks for, 60.
    #[arg(long, env = "TEND_AGENT_INTERVAL", value_parser = clap::value_parser!(u64).range(10..))]
    pub interval: Option<u64>,
    /// Most disk space for reports waiting for the server, in bytes (default 64 MiB).
    #[arg(long, env = "TEND_AGENT_SPOOL_MAX_BYTES")]
    pub spool_max_bytes: Option<u64>,
}

/// Where the agent's settings come from: its TOML file, then these flags and variables.
#[derive(Debug, Args)]
pub struct AgentSettingsArgs {
    /// Agent configuration file (TOML; keys as in docs/collectors.md).
    #[arg(long, env = "TEND_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Identity, sequence counter and spool (default /var/lib/tend-agent).
    #[arg(long, env = "TEND_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// A systemd unit to always report on; repeatable.
    #[arg(long = "watch-service", value_name = "UNIT")]
    pub watch_services: Vec<String>,
    /// A PEM certificate file whose expiry to report; repeatable.
    #[arg(long = "certificate", value_name = "FILE")]
    pub certificates: Vec<PathBuf>,
    /// A collector not to run (e.g. sensors); repeatable.
    #[arg(long = "disable-collector", value_name = "NAME")]
    pub disabled: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The tend server, e.g. https://tend.example.net
    #[arg(long, env = "TEND_SERVER")]
    pub server: String,
    #[arg(long)]
    pub user: String,
    /// Read the password from the first line of standard input instead of a prompt.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List hosts with status, last seen and headline metrics.
    List {
        /// Only this client's hosts (id or name).
        #[arg(long)]
        client: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// One host: facts, status and latest values.
    Show {
        /// Host id or hostname.
        host: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Put a host in a ring for patch rollouts (staff); `none` takes it out of every ring.
    #[command(after_help = "Example:\n  tend host ring web1 test")]
    Ring {
        /// Host id or hostname.
        host: String,
        /// The ring, e.g. test or production; none for no ring.
        ring: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List clients.
    List {
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Add a client.
    Add {
        name: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// List a client's contacts.
    Contacts {
        /// Client id or name.
        client: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Add a contact to a client: they get notices of planned maintenance unless told not to.
    AddContact {
        /// Client id or name.
        client: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        phone: String,
        /// What they are to the client, e.g. "IT manager".
        #[arg(long, default_value = "")]
        role: String,
        /// Do not send them maintenance notices.
        #[arg(long)]
        no_maintenance_notices: bool,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnrollTokenCommand {
    /// Create an enrollment token and print it with the command to enroll an agent.
    Create {
        /// Client id or name.
        #[arg(long)]
        client: String,
        /// Site id or name within the client.
        #[arg(long)]
        site: Option<String>,
        /// RFC 3339 time or a span such as 24h or 7d (default 24h).
        #[arg(long)]
        expires: Option<String>,
        /// How many machines may enroll with it (default 1).
        #[arg(long)]
        uses: Option<u32>,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration with every key and its environment variable.
    Example,
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Open alerts (pending, firing, flapping), newest first.
    List {
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Acknowledge an alert: no reminders or escalation while it lasts.
    Ack {
        id: i64,
        #[arg(long)]
        comment: String,
        /// RFC 3339 time or a span such as 2h after which the acknowledgement lapses.
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the largest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum MaintenanceCommand {
    /// Maintenance windows with their next occurrence.
    List {
        /// Only this client's (id or name).
        #[arg(long)]
        client: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Plan a window, one-off or recurring.
    Add {
        /// Client id or name.
        #[arg(long)]
        client: String,
        #[arg(long)]
        title: String,
        /// Local start, e.g. 2026-12-08T22:00.
        #[arg(long)]
        start: String,
        /// IANA time zone of the start, e.g. Europe/Paris.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Length in minutes.
        #[arg(long)]
        duration: i64,
        /// RFC 5545 recurrence, e.g. FREQ=MONTHLY;BYDAY=2TU.
        #[arg(long)]
        rrule: Option<String>,
        /// Only this host (id).
        #[arg(long)]
        host: Option<i64>,
        /// Only this check.
        #[arg(long)]
        check: Option<String>,
        /// planned (default) or emergency.
        #[arg(long)]
        kind: Option<String>,
        /// What the client's contacts are told in the notice before a planned window.
        #[arg(long, default_value = "")]
        description: String,
        /// Days before each occurrence the client's contacts get a notice (default: the
        /// server's, 3); 0: none.
        #[arg(long)]
        notice_days: Option<i64>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// End a window now.
    End { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// The check catalogue and its defaults.
    List {
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Which layer set what for a check on a host.
    Explain {
        /// Host id or hostname.
        host: String,
        check: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Run a check once now on the host's stored data and print what it finds and how long it
    /// took; nothing is recorded. Exit 0 when every target is ok, 1 when one has a problem.
    Test {
        /// Host id or hostname.
        host: String,
        check: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Override a check's settings for a host, its site, its client or the organisation.
    #[command(visible_alias = "add")]
    Set {
        /// Host id or hostname (the layer is found from it).
        host: String,
        check: String,
        /// host, site, client or organisation.
        #[arg(long, default_value = "host")]
        layer: String,
        #[arg(long)]
        warning: Option<f64>,
        #[arg(long)]
        critical: Option<f64>,
        /// Seconds a problem must last before it fires.
        #[arg(long)]
        pending: Option<u64>,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// A host's backup plans: set, list, delete.
    #[command(subcommand)]
    Plan(BackupPlanCommand),
    /// Per host and plan: the last good backup and its age, the last run, restore test and
    /// check, and each host's worst finding. Exits 1 when a host has a critical finding (no
    /// good backup past the server's critical bound, a failed check or restore test).
    Status {
        /// Only this client's hosts (id).
        #[arg(long)]
        client: Option<i64>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// The backup work a host's agent reported, newest first.
    Events {
        /// Host id or hostname.
        host: String,
        /// How many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Restore files, or a whole snapshot, of a host's plan through its agent (staff), and wait
    /// for the result. Into a directory it needs `backups` in the client's contract; into `/`
    /// (over the live files) an authorization like any destructive job, and the agent's
    /// `allow_restore_in_place`. With no --path it is the full-restore drill.
    #[command(
        after_help = "Examples:\n  tend backup restore --host web1 --plan nightly --path /etc/nginx --target /var/tmp/nginx\n  \
        tend backup restore --host web1 --plan nightly --target /var/tmp/drill-2026-11   # the drill\n  \
        tend backup restore --host web1 --plan nightly --path /etc/hosts --target / --ticket 42"
    )]
    Restore {
        /// Host id or hostname.
        #[arg(long)]
        host: String,
        /// The backup plan whose snapshot to restore.
        #[arg(long)]
        plan: String,
        /// `latest` or a snapshot id.
        #[arg(long, default_value = "latest")]
        snapshot: String,
        /// An absolute path in the snapshot; repeat for more; none: the whole snapshot.
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<String>,
        /// Absolute directory on the host to restore into (a path P lands at TARGET/P); `/`:
        /// in place.
        #[arg(long)]
        target: String,
        /// The ticket the work is for (its authorization is tried first).
        #[arg(long)]
        ticket: Option<i64>,
        /// Return once the job is queued instead of waiting for its result.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupPlanCommand {
    /// Create or replace a host's plan (staff). Every setting is given anew; the password is
    /// read from a file (never the command line), required for a new plan and kept when left out.
    #[command(
        after_help = "Example:\n  tend backup plan set db1 daily --repository sftp:backup@nas:/srv/restic \\\n    \
--password-file /root/restic.pass --path /etc --path /srv/data --exclude '*.tmp' --pre-hook dump-db"
    )]
    Set(Box<BackupPlanSetArgs>),
    /// List a host's plans (never their passwords).
    List {
        /// Host id or hostname.
        host: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Delete a host's plan (staff); its events stay.
    Delete {
        /// Host id or hostname.
        host: String,
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct BackupPlanSetArgs {
    /// Host id or hostname.
    pub host: String,
    /// Plan name: a-z, 0-9, '-' and '_'.
    pub name: String,
    /// The restic repository: a path, sftp:…, rest:…, s3:…
    #[arg(long)]
    pub repository: String,
    /// A file holding the repository password (one trailing line break is ignored).
    #[arg(long)]
    pub password_file: Option<std::path::PathBuf>,
    /// An absolute path to back up; repeat for more.
    #[arg(long = "path", required = true)]
    pub paths: Vec<String>,
    /// A restic exclude pattern; repeat for more.
    #[arg(long = "exclude")]
    pub excludes: Vec<String>,
    /// Daily at this local time of the host.
    #[arg(long, default_value = "02:00")]
    pub schedule: String,
    /// Daily snapshots kept (default 7).
    #[arg(long)]
    pub keep_daily: Option<u32>,
    /// Weekly snapshots kept (default 5).
    #[arg(long)]
    pub keep_weekly: Option<u32>,
    /// Monthly snapshots kept (default 3).
    #[arg(long)]
    pub keep_monthly: Option<u32>,
    /// A hook of the agent's `[backup.hooks]` run before restic.
    #[arg(long)]
    pub pre_hook: Option<String>,
    /// A hook of the agent's `[backup.hooks]` run after restic.
    #[arg(long)]
    pub post_hook: Option<String>,
    #[command(flatten)]
    pub output: JsonFlag,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Store a credential for a host. The secret is read from standard input (a prompt on a
    /// terminal), never from the command line, where other users and the shell history see it.
    #[command(after_help = "Examples:\n  tend vault put db1 --name root --kind password --username root\n  \
tend vault put db1 --name deploy-key --kind ssh_key --username deploy --ticket 42 < id_ed25519")]
    Put {
        /// Host id or hostname.
        host: String,
        /// What it is, e.g. "root on db1"; unique among the host's credentials.
        #[arg(long)]
        name: String,
        /// password, ssh_key, ipmi, kvm or other.
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        username: String,
        /// The open ticket it is given for: purged when that ticket closes, unless the contract
        /// keeps credentials.
        #[arg(long)]
        ticket: Option<i64>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// List a host's credentials (never their secrets).
    List {
        /// Host id or hostname.
        host: String,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Print a credential's secret: only for the technician assigned to an open ticket on its
    /// host. Every attempt is audited with the reason.
    Reveal {
        /// Credential id (see `tend vault list`).
        id: i64,
        /// Why you need it now; written to the audit log.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The newest audit entries you may see.
    List {
        /// Only this host's (id or hostname).
        #[arg(long)]
        host: Option<String>,
        /// How many entries, 1 to 1000.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        output: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum PingCommand {
    /// Add a check (staff) and print its ping URL, shown only this once.
    #[command(after_help = "Example:\n  tend ping add --client acme nightly-dump --period 1d --grace 1h")]
    Add {
        /// Client id or name.
        #[arg(long)]
        client: String,
        name: String,
        /// How often the job succeeds (90s, 15m, 1h, 1d, 2w).
        #[arg(long, value_parser = crate::duration::parse)]
        period: jiff::SignedDuration,
        /// Lateness tolerated, and how long a started run may last.
        #[arg(long, value_parser = crate::duration::parse)]
        grace: jiff::SignedDuration,
        /// The host the job runs on (id or name).
        #[arg(long)]
        host: Option<String>,
    },
    /// Checks with their status and last success.
    List {
        /// Client id or name.
        #[arg(long)]
        client: Option<String>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Delete a check and its pings (staff).
    Delete { id: i64 },
}
