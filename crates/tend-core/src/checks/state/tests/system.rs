use super::*;

pub(super) fn sensor(value: f64, max: Option<f64>, crit: Option<f64>, alarm: Option<bool>) -> inv::Sensor {
    inv::Sensor {
        source: "hwmon".into(),
        chip: "coretemp".into(),
        label: "Package id 0".into(),
        kind: "temperature".into(),
        value: Some(value),
        max,
        crit,
        alarm,
        min: None,
    }
}

pub(super) fn unit(name: &str, active_state: &str, watched: bool) -> inv::ServiceUnit {
    inv::ServiceUnit {
        name: name.into(),
        load_state: "loaded".into(),
        active_state: active_state.into(),
        sub_state: if active_state == "active" { "running".into() } else { active_state.into() },
        restarts: None,
        watched,
    }
}

pub(super) fn services(units: Vec<inv::ServiceUnit>) -> inv::Services {
    let listen = |protocol: &str, port: u16, process: &str| inv::ListeningPort {
        protocol: protocol.into(),
        address: "0.0.0.0".into(),
        port,
        process: Some(process.into()),
        pid: None,
    };
    let listening = vec![listen("tcp", 22, "sshd"), listen("tcp", 443, "nginx"), listen("tcp", 53, "unbound")];
    inv::Services { units_total: 120, units_failed: 0, units, listening, units_unavailable: None }
}

pub(super) fn os(eol_date: Option<&str>, eol: Option<bool>) -> inv::OsSupport {
    inv::OsSupport {
        id: "debian".into(),
        version_id: "12".into(),
        pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        eol_date: eol_date.map(Into::into),
        eol,
        ..Default::default()
    }
}

/// ClamAV with databases built the given days from now (negative: in the past).
pub(super) fn clamav(databases: &[(&str, Option<f64>)]) -> inv::Antivirus {
    let database = |(name, built): &(&str, Option<f64>)| inv::SignatureDatabase {
        name: (*name).into(),
        built_at_ms: built.map(ms),
        ..Default::default()
    };
    inv::Antivirus {
        engine: "clamav".into(),
        databases: databases.iter().map(database).collect(),
        ..Default::default()
    }
}

/// A certificate expiring the given days from now.
pub(super) fn certificate(expires_in_days: Option<f64>) -> inv::Certificate {
    inv::Certificate {
        path: "/etc/ssl/certs/portal.pem".into(),
        subject: Some("CN=portal.example.com".into()),
        not_after_ms: expires_in_days.map(ms),
        ..Default::default()
    }
}

fn with_sensors(sensors: Vec<inv::Sensor>) -> Inventory {
    Inventory { sensors: Some(sensors), ..Default::default() }
}

#[test]
fn temperature_against_the_sensors_own_limits() {
    let cases = [
        // (value, max, crit, alarm, level, summary)
        (45.0, Some(80.0), Some(100.0), None, None, "45 °C (max 80 °C, crit 100 °C)"),
        (80.0, Some(80.0), Some(100.0), None, Some(Level::Warning), "too hot: 80 °C (max 80 °C, crit 100 °C)"),
        (104.0, Some(80.0), Some(100.0), None, Some(Level::Critical), "too hot: 104 °C (max 80 °C, crit 100 °C)"),
        (95.0, None, Some(90.0), None, Some(Level::Critical), "too hot: 95 °C (crit 90 °C)"),
        (60.0, None, None, Some(true), Some(Level::Warning), "too hot: 60 °C, alarm raised"),
        (60.0, None, None, Some(false), None, "60 °C"),
        // Placeholder limits at 0 °C are ignored.
        (60.0, Some(0.0), Some(95.0), None, None, "60 °C (crit 95 °C)"),
    ];
    for (value, max, crit, alarm, level, summary) in cases {
        let finding = only(evaluate("temperature", None, &with_sensors(vec![sensor(value, max, crit, alarm)])));
        assert_eq!(
            (finding.target.as_str(), finding.problem, finding.summary.as_str()),
            ("coretemp Package id 0", level, summary)
        );
    }
}

#[test]
fn temperature_without_limits_needs_thresholds() {
    let unlimited = with_sensors(vec![
        sensor(70.0, None, None, None),
        sensor(70.0, Some(0.0), Some(-273.0), None),
        inv::Sensor { kind: "fan".into(), ..sensor(9000.0, Some(100.0), None, None) },
    ]);
    assert_eq!(evaluate("temperature", None, &unlimited), []);
    let mut configured = defaults("temperature");
    configured.warning = Some(65.0);
    configured.critical = Some(75.0);
    let findings = evaluate_with("temperature", configured, None, &unlimited);
    let expected =
        [("coretemp Package id 0", Some(Level::Warning)), ("coretemp Package id 0 #2", Some(Level::Warning))];
    assert_eq!(verdicts(&findings), expected, "one name, two chips");
}

#[test]
fn failed_and_watched_units() {
    let not_found = inv::ServiceUnit { load_state: "not-found".into(), ..unit("backup.service", "inactive", true) };
    let restarted = inv::ServiceUnit { restarts: Some(3), ..unit("php-fpm.service", "failed", true) };
    let units = vec![
        unit("logrotate.service", "failed", false),
        restarted,
        unit("nginx.service", "active", true),
        unit("postgresql.service", "inactive", true),
        unit("mysql.service", "activating", true),
        unit("redis.service", "reloading", true),
        not_found,
        unit("ignored.service", "failed", false),
    ];
    let mut settings = defaults("service_failed");
    settings.lists.insert("ignored_units".into(), vec!["ignored.service".into()]);
    let current = Inventory { services: Some(services(units)), ..Default::default() };
    let findings = evaluate_with("service_failed", settings, None, &current);
    let table: Vec<(&str, Option<Level>, &str)> =
        findings.iter().map(|f| (f.target.as_str(), f.problem, f.summary.as_str())).collect();
    assert_eq!(
        table,
        [
            ("logrotate.service", Some(Level::Warning), "failed (failed)"),
            ("php-fpm.service", Some(Level::Critical), "failed (failed), restarted 3 times, watched"),
            ("nginx.service", None, "active (running), watched"),
            ("postgresql.service", Some(Level::Critical), "inactive (inactive), watched"),
            ("mysql.service", Some(Level::Warning), "activating (activating), watched"),
            ("redis.service", None, "reloading (reloading), watched"),
            ("backup.service", Some(Level::Critical), "not found, watched"),
        ]
    );
}

#[test]
fn expected_ports_must_listen() {
    let mut settings = defaults("listening_port_missing");
    let ports = ["22", "tcp/443", "UDP/53", "8080", "http", "tcp/22", "udp/0"];
    settings.lists.insert("ports".into(), ports.iter().map(|port| (*port).to_owned()).collect());
    let current = Inventory { services: Some(services(vec![])), ..Default::default() };
    let findings = evaluate_with("listening_port_missing", settings, None, &current);
    let table: Vec<(&str, Option<Level>, &str)> =
        findings.iter().map(|f| (f.target.as_str(), f.problem, f.summary.as_str())).collect();
    assert_eq!(
        table,
        [
            ("tcp/22", None, "sshd listens on 0.0.0.0:22"),
            ("tcp/443", None, "nginx listens on 0.0.0.0:443"),
            // Only TCP listens on 53.
            ("udp/53", Some(Level::Critical), "nothing listens on udp/53"),
            ("tcp/8080", Some(Level::Critical), "nothing listens on tcp/8080"),
            ("http", Some(Level::Warning), "\"http\" is no port: write 443, tcp/443 or udp/53"),
            ("udp/0", Some(Level::Warning), "\"udp/0\" is no port: write 443, tcp/443 or udp/53"),
        ]
    );
    assert_eq!(evaluate("listening_port_missing", None, &current), [], "no ports configured by default");
}

#[test]
fn reboot_required_for_too_long() {
    let cases = [
        // (required, since days ago, level)
        (Some(false), None, None),
        (Some(true), Some(2.0), None),
        (Some(true), Some(7.0), Some(Level::Warning)),
        (Some(true), Some(10.0), Some(Level::Warning)),
        (Some(true), Some(30.0), Some(Level::Critical)),
        (Some(true), None, Some(Level::Warning)),
    ];
    for (required, days_ago, level) in cases {
        let packages = inv::Packages {
            reboot_required: required,
            reboot_required_since_ms: days_ago.map(|days: f64| ms(-days)),
            ..Default::default()
        };
        let finding =
            only(evaluate("reboot_required", None, &Inventory { packages: Some(packages), ..Default::default() }));
        assert_eq!((finding.target.as_str(), finding.problem), ("reboot", level), "{required:?} {days_ago:?}");
    }
    let packages = inv::Packages {
        reboot_required: Some(true),
        reboot_required_since_ms: Some(ms(-10.5)),
        reboot_required_packages: vec!["linux-image-amd64".into()],
        ..Default::default()
    };
    let finding =
        only(evaluate("reboot_required", None, &Inventory { packages: Some(packages), ..Default::default() }));
    assert_eq!(
        finding.summary,
        format!("reboot required (asked by linux-image-amd64) for 10 days, since {}", at(-10.5))
    );
    let unknown = inv::Packages { reboot_required: None, ..Default::default() };
    assert_eq!(evaluate("reboot_required", None, &Inventory { packages: Some(unknown), ..Default::default() }), []);
}

#[test]
fn antivirus_signatures_by_the_newest_database() {
    let cases = [
        // (databases, level, summary)
        (vec![("main", Some(-200.0)), ("daily", Some(-0.5))], None, "newest signatures (daily) built 0.5 days ago"),
        (
            vec![("main", Some(-200.0)), ("daily", Some(-4.0))],
            Some(Level::Warning),
            "newest signatures (daily) built 4.0 days ago",
        ),
        (
            vec![("main", Some(-200.0)), ("daily", Some(-9.0))],
            Some(Level::Critical),
            "newest signatures (daily) built 9.0 days ago",
        ),
        (vec![("daily", None)], Some(Level::Warning), "signature age unknown: no database with a build time"),
        (vec![], Some(Level::Warning), "signature age unknown: no database with a build time"),
    ];
    for (databases, level, summary) in cases {
        let current = Inventory { antivirus: Some(clamav(&databases)), ..Default::default() };
        let finding = only(evaluate("antivirus_signatures_old", None, &current));
        assert_eq!((finding.target.as_str(), finding.problem, finding.summary.as_str()), ("clamav", level, summary));
    }
}

#[test]
fn clock_synchronisation_and_offset() {
    let cases = [
        // (synchronised, offset, level, summary)
        (true, Some(0.002), None, "synchronised, off by 0.002 s, server ntp.example.net"),
        (true, None, None, "synchronised, server ntp.example.net"),
        (false, None, Some(Level::Warning), "not synchronised, server ntp.example.net"),
        (true, Some(-5.0), Some(Level::Warning), "synchronised, off by -5 s, server ntp.example.net"),
        (false, Some(120.0), Some(Level::Critical), "not synchronised, off by 120 s, server ntp.example.net"),
    ];
    for (synchronized, offset_seconds, level, summary) in cases {
        let time = inv::TimeSync {
            source: "chrony".into(),
            synchronized,
            offset_seconds,
            server: Some("ntp.example.net".into()),
            ..Default::default()
        };
        let finding =
            only(evaluate("clock_unsynchronised", None, &Inventory { time: Some(time), ..Default::default() }));
        assert_eq!((finding.target.as_str(), finding.problem, finding.summary.as_str()), ("clock", level, summary));
    }
}

#[test]
fn certificates_expiring() {
    let cases = [
        // (expires in days, level, summary)
        (Some(90.0), None, "expires in 90 days"),
        (Some(21.5), Some(Level::Warning), "expires in 21 days"),
        (Some(8.0), Some(Level::Warning), "expires in 8 days"),
        (Some(5.0), Some(Level::Critical), "expires in 5 days"),
        (Some(0.5), Some(Level::Critical), "expires in 0 days"),
        (Some(-3.0), Some(Level::Critical), "expired 3 days ago"),
        (None, Some(Level::Warning), "cannot tell when it expires: no expiry date"),
    ];
    for (days, level, summary) in cases {
        let current = Inventory { certificates: Some(vec![certificate(days)]), ..Default::default() };
        let finding = only(evaluate("certificate_expiring", None, &current));
        assert_eq!(
            (finding.target.as_str(), finding.problem, finding.summary.as_str()),
            ("/etc/ssl/certs/portal.pem", level, summary)
        );
    }
    let unreadable = inv::Certificate { error: Some("permission denied".into()), ..certificate(None) };
    let agent_counted = inv::Certificate { days_left: Some(10), ..certificate(None) };
    let current = Inventory { certificates: Some(vec![unreadable, agent_counted]), ..Default::default() };
    let summaries: Vec<String> =
        evaluate("certificate_expiring", None, &current).into_iter().map(|f| f.summary).collect();
    assert_eq!(summaries, ["cannot tell when it expires: permission denied", "expires in 10 days"]);
}

#[test]
fn os_support_ending() {
    // "now" is 2027-01-15 UTC.
    assert_eq!(now().to_string(), "2027-01-15T08:00:00Z");
    let cases = [
        // (end of support, agent's eol flag, level, summary)
        (
            Some("2028-06-30"),
            Some(false),
            None,
            "Debian GNU/Linux 12 (bookworm) is supported until 2028-06-30, 533 days left",
        ),
        (
            Some("2027-04-14"),
            Some(false),
            Some(Level::Warning),
            "Debian GNU/Linux 12 (bookworm) is supported until 2027-04-14, 90 days left",
        ),
        (
            Some("2027-01-15"),
            Some(false),
            Some(Level::Warning),
            "Debian GNU/Linux 12 (bookworm) is supported until 2027-01-15, 1 days left",
        ),
        (
            Some("2027-01-14"),
            Some(false),
            Some(Level::Critical),
            "Debian GNU/Linux 12 (bookworm) is out of support: support ended 2027-01-14",
        ),
        (
            Some("2024-06-10"),
            Some(true),
            Some(Level::Critical),
            "Debian GNU/Linux 12 (bookworm) is out of support: support ended 2024-06-10",
        ),
        (
            None,
            Some(true),
            Some(Level::Critical),
            "Debian GNU/Linux 12 (bookworm) is out of support: support ended an unknown date",
        ),
    ];
    for (date, eol, level, summary) in cases {
        let finding =
            only(evaluate("os_end_of_life", None, &Inventory { os: Some(os(date, eol)), ..Default::default() }));
        assert_eq!((finding.target.as_str(), finding.problem, finding.summary.as_str()), ("os", level, summary));
    }
    let agent_counted = inv::OsSupport { days_until_eol: Some(30), ..os(None, Some(false)) };
    let finding = only(evaluate("os_end_of_life", None, &Inventory { os: Some(agent_counted), ..Default::default() }));
    assert_eq!((finding.problem, finding.evidence["days_left"].as_i64()), (Some(Level::Warning), Some(31)));
    assert_eq!(evaluate("os_end_of_life", None, &Inventory { os: Some(os(None, None)), ..Default::default() }), []);
}
