use std::path::Path;

use super::*;
use crate::collect::compliance;

const TELEGRAF_SDR: &str = include_str!("../../../testdata/sensors/telegraf-ipmitool-sdr");
const TELEGRAF_ELIST: &str = include_str!("../../../testdata/sensors/telegraf-ipmitool-sdr-elist");
const HP_SDR: &str = include_str!("../../../testdata/sensors/hardware-ipmitool-sdr");
const INTEL_SDR: &str = include_str!("../../../testdata/sensors/actsys-ipmitool-sdr");

fn captured_hwmon() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sensors/node_exporter-sys/sys/class/hwmon")
}

fn sensor<'a>(sensors: &'a [inv::Sensor], chip: &str, label: &str) -> &'a inv::Sensor {
    sensors
        .iter()
        .find(|sensor| sensor.chip == chip && sensor.label == label)
        .unwrap_or_else(|| panic!("no {chip}/{label} in {sensors:#?}"))
}

fn count(sensors: &[inv::Sensor], kind: &str) -> usize {
    sensors.iter().filter(|sensor| sensor.kind == kind).count()
}

#[test]
fn hwmon_capture_every_chip() {
    let sensors = read_hwmon(&captured_hwmon()).unwrap();
    let chips: Vec<(&str, &str)> = sensors.iter().map(|sensor| (sensor.chip.as_str(), sensor.label.as_str())).collect();
    assert_eq!(chips.len(), 17, "{chips:?}");
    assert_eq!(&chips[..2], [("coretemp", "Physical id 0"), ("coretemp", "Core 0")]);
    assert_eq!((count(&sensors, "temperature"), count(&sensors, "fan"), count(&sensors, "voltage")), (12, 3, 2));
    assert!(sensors.iter().all(|sensor| sensor.source == "hwmon"));
    assert!(!sensors.iter().any(|sensor| sensor.chip == "bogus"), "bogus1_* files are no sensor kind tend knows");
}

#[test]
fn hwmon_temperatures_in_degrees() {
    let sensors = read_hwmon(&captured_hwmon()).unwrap();
    let package = sensor(&sensors, "coretemp", "Physical id 0");
    assert_eq!(
        *package,
        inv::Sensor {
            source: "hwmon".into(),
            chip: "coretemp".into(),
            label: "Physical id 0".into(),
            kind: "temperature".into(),
            value: Some(55.0),
            max: Some(84.0),
            crit: Some(100.0),
            min: None,
            alarm: Some(false),
        }
    );
    assert_eq!(sensor(&sensors, "coretemp", "Core 3").value, Some(50.0));
    let unnamed = sensor(&sensors, "hwmon4", "foosensor");
    assert_eq!((unnamed.value, unnamed.max, unnamed.crit), (Some(55.0), Some(100.0), Some(100.0)));
}

#[test]
fn hwmon_fans_and_voltages_in_rpm_and_volts() {
    let sensors = read_hwmon(&captured_hwmon()).unwrap();
    // applesmc keeps its files in the device directory the hwmon entry links to.
    let left = sensor(&sensors, "applesmc", "Left side");
    assert_eq!(
        (left.kind.as_str(), left.value, left.min, left.max, left.alarm),
        ("fan", Some(0.0), Some(2160.0), Some(6156.0), None)
    );
    assert_eq!(sensor(&sensors, "applesmc", "Right side").value, Some(1998.0));
    let fan2 = sensor(&sensors, "nct6779", "fan2");
    assert_eq!((fan2.value, fan2.min, fan2.alarm), (Some(1098.0), Some(0.0), Some(false)));
    let in0 = sensor(&sensors, "nct6779", "in0");
    assert_eq!(
        (in0.kind.as_str(), in0.value, in0.max, in0.min, in0.alarm),
        ("voltage", Some(0.792), Some(1.744), Some(0.0), Some(false))
    );
    let in1 = sensor(&sensors, "nct6779", "in1");
    assert_eq!((in1.value, in1.alarm), (Some(1.024), Some(true)));
}

#[test]
fn hwmon_odd_trees_hand_written() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(read_hwmon(&dir.path().join("absent")), Err(Error::Read { .. })));
    assert_eq!(read_hwmon(dir.path()).unwrap(), []);
    let chip = dir.path().join("hwmon10");
    std::fs::create_dir(&chip).unwrap();
    for (file, content) in [
        ("name", "k10temp\n"),
        ("temp1_input", "41250\n"),
        ("temp2_input", "garbage\n"),
        ("temp2_label", "Tccd1\n"),
        ("temp3_input", ""),
        ("temp3_max_alarm", "1\n"),
        ("fan_input", "1\n"),
        ("tempx_input", "1\n"),
        ("in1_input", "12.5\n"),
        ("power1_input", "12000000\n"),
    ] {
        std::fs::write(chip.join(file), content).unwrap();
    }
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("hwmon2")).unwrap();
    std::fs::create_dir(dir.path().join("hwmon9")).unwrap();
    std::fs::write(dir.path().join("hwmon9/temp1_input"), "-5000\n").unwrap();
    let sensors = read_hwmon(dir.path()).unwrap();
    let seen: Vec<(&str, &str, Option<f64>)> =
        sensors.iter().map(|sensor| (sensor.chip.as_str(), sensor.label.as_str(), sensor.value)).collect();
    assert_eq!(
        seen,
        [
            ("hwmon9", "temp1", Some(-5.0)),
            ("k10temp", "temp1", Some(41.25)),
            ("k10temp", "Tccd1", None),
            ("k10temp", "temp3", None),
            ("k10temp", "in1", None),
        ]
    );
    assert_eq!(sensors[3].alarm, Some(true));
}

#[test]
fn ipmitool_sdr_from_an_ibm_server() {
    let sensors = parse_ipmitool_sdr(TELEGRAF_SDR).unwrap();
    assert_eq!((count(&sensors, "temperature"), count(&sensors, "fan"), count(&sensors, "voltage")), (1, 6, 4));
    assert_eq!(
        *sensor(&sensors, "bmc", "Planar 12V"),
        inv::Sensor {
            source: "ipmi".into(),
            chip: "bmc".into(),
            label: "Planar 12V".into(),
            kind: "voltage".into(),
            value: Some(12.04),
            alarm: Some(false),
            ..Default::default()
        }
    );
    assert_eq!(sensor(&sensors, "bmc", "Ambient Temp").value, Some(20.0));
    assert_eq!(sensor(&sensors, "bmc", "Fan 1A Tach").value, Some(2610.0));
}

#[test]
fn ipmitool_sdr_with_disabled_no_reading_and_negative_readings() {
    let hp = parse_ipmitool_sdr(HP_SDR).unwrap();
    assert_eq!((hp.len(), count(&hp, "temperature")), (28, 28), "percent fans and disabled temps are skipped");
    assert_eq!(sensor(&hp, "bmc", "Temp 30").value, Some(58.0));
    assert!(!hp.iter().any(|sensor| sensor.label == "Temp 18"));

    let intel = parse_ipmitool_sdr(INTEL_SDR).unwrap();
    assert_eq!((count(&intel, "temperature"), count(&intel, "fan"), count(&intel, "voltage")), (19, 4, 14));
    assert_eq!(sensor(&intel, "bmc", "P1 Therm Margin").value, Some(-65.0));
    assert_eq!(sensor(&intel, "bmc", "BB VBAT").value, Some(3.08));
    assert!(!intel.iter().any(|sensor| sensor.label == "P1 MTT" || sensor.label == "System Airflow"));
}

#[test]
fn ipmitool_sdr_elist_names_the_entity() {
    let sensors = parse_ipmitool_sdr(TELEGRAF_ELIST).unwrap();
    let seen: Vec<(&str, &str, &str, Option<f64>)> = sensors
        .iter()
        .map(|sensor| (sensor.chip.as_str(), sensor.label.as_str(), sensor.kind.as_str(), sensor.value))
        .collect();
    assert_eq!(seen, [("7.1", "Fan1", "fan", Some(5040.0)), ("7.1", "Inlet Temp", "temperature", Some(25.0))]);
}

#[test]
fn ipmitool_statuses_and_garbage_hand_written() {
    let text = "Unable to send command: Invalid argument\nCPU Temp | 91 degrees C | cr\nFAN1 | 600 RPM | nc\n\
                12V | 12.19 Volts | ns\nOdd | NaN Volts | ok\nOdd2 | 45 degrees | ok\nOdd3 | 1e400 RPM | ok\n";
    let sensors = parse_ipmitool_sdr(text).unwrap();
    let alarms: Vec<(&str, Option<bool>)> =
        sensors.iter().map(|sensor| (sensor.label.as_str(), sensor.alarm)).collect();
    assert_eq!(alarms, [("CPU Temp", Some(true)), ("FAN1", Some(true)), ("12V", None)]);
    assert_eq!(parse_ipmitool_sdr("").unwrap(), []);
    for (text, line) in [("CPU Temp | 45 degrees C\n", 1), ("ok\n | 45 degrees C | ok\n", 2), ("a | b | c | d\n", 1)] {
        assert!(matches!(parse_ipmitool_sdr(text), Err(ParseError::Line { line: l, .. }) if l == line), "{text:?}");
    }
    for cut in 0..INTEL_SDR.len() {
        if let Some(prefix) = INTEL_SDR.get(..cut) {
            let _ = parse_ipmitool_sdr(prefix);
        }
    }
}

#[test]
fn the_collector_reads_hwmon_and_skips_a_missing_bmc() {
    let mut collector = SensorsCollector { hwmon: captured_hwmon(), ipmi_devices: Vec::new(), ipmi_problem: None };
    let Section::Sensors(sensors) = collector.collect().unwrap() else { panic!("not a sensors section") };
    assert_eq!(sensors.len(), 17);
    let dir = tempfile::tempdir().unwrap();
    let mut bare = SensorsCollector { hwmon: dir.path().join("hwmon"), ipmi_devices: Vec::new(), ipmi_problem: None };
    assert_eq!(bare.collect().unwrap(), Section::Sensors(Vec::new()), "a VM has no sensors, which is no error");
}

#[test]
fn a_failing_bmc_keeps_the_hwmon_sensors() {
    // A device node that exists but is no BMC: ipmitool, when installed here, fails on it.
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("ipmi0");
    std::fs::write(&device, "").unwrap();
    let mut collector =
        SensorsCollector { hwmon: captured_hwmon(), ipmi_devices: vec![device.clone()], ipmi_problem: None };
    let Section::Sensors(sensors) = collector.collect().unwrap() else { panic!("not a sensors section") };
    assert_eq!(sensors.len(), 17);
    let mut without_hwmon =
        SensorsCollector { hwmon: dir.path().join("hwmon"), ipmi_devices: vec![device], ipmi_problem: None };
    match without_hwmon.collect() {
        Ok(section) => assert_eq!(section, Section::Sensors(Vec::new()), "only without ipmitool"),
        Err(error) => assert!(error.to_string().contains("ipmitool"), "{error}"),
    }
}

#[test]
fn compliance_on_this_machine() {
    let mut collector = SensorsCollector::new();
    match compliance::check(&mut collector) {
        Ok(Section::Sensors(sensors)) => assert!(sensors.iter().all(|sensor| !sensor.label.is_empty())),
        Ok(other) => panic!("sensors collector produced {other:?}"),
        Err(error) => panic!("sensors collector failed on this machine: {error}"),
    }
}
