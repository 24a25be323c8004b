use super::*;
use crate::checks::default_checks;

fn disk_usage() -> CheckDefinition {
    default_checks().into_iter().find(|check| check.name == "disk_usage").unwrap()
}

fn host() -> HostContext {
    HostContext { client_id: 3, site_id: Some(4), groups: vec![9, 2], host_id: 12 }
}

fn set(layer: Layer, settings: PartialSettings) -> Override {
    Override { layer, check: "disk_usage".into(), settings }
}

fn warning(value: f64) -> PartialSettings {
    PartialSettings { warning: Some(Some(value)), ..PartialSettings::default() }
}

fn change(field: &str, old: &str, new: &str) -> Change {
    Change { field: field.into(), old: old.into(), new: new.into() }
}

#[test]
fn without_overrides_the_defaults_apply() {
    let explained = effective(&disk_usage(), &[], &host());
    assert_eq!(explained.settings, disk_usage().defaults);
    assert!(explained.steps.is_empty());
}

#[test]
fn layers_apply_from_general_to_specific_whatever_the_given_order() {
    // Each layer sets the warning to its own value: the order of the steps is the proof.
    let overrides = [
        set(Layer::Host(12), warning(86.0)),
        set(Layer::HostGroup(9), warning(85.0)),
        set(Layer::Client(3), warning(82.0)),
        set(Layer::HostGroup(2), warning(84.0)),
        set(Layer::Site(4), warning(83.0)),
        set(Layer::Default, warning(81.0)),
    ];
    let explained = effective(&disk_usage(), &overrides, &host());
    let layers: Vec<Layer> = explained.steps.iter().map(|step| step.layer).collect();
    assert_eq!(
        layers,
        [Layer::Default, Layer::Client(3), Layer::Site(4), Layer::HostGroup(2), Layer::HostGroup(9), Layer::Host(12)]
    );
    let changes: Vec<&Change> = explained.steps.iter().flat_map(|step| &step.changed).collect();
    let expected = [
        change("warning", "90", "81"),
        change("warning", "81", "82"),
        change("warning", "82", "83"),
        change("warning", "83", "84"),
        change("warning", "84", "85"),
        change("warning", "85", "86"),
    ];
    assert_eq!(changes, expected.iter().collect::<Vec<_>>());
    assert_eq!(explained.settings.warning, Some(86.0));
}

#[test]
fn overrides_of_other_hosts_and_checks_do_not_apply() {
    let mut other_check = set(Layer::Host(12), warning(1.0));
    other_check.check = "inode_usage".into();
    let cases = [
        // (override, host, applies)
        (set(Layer::Client(5), warning(1.0)), host(), false),
        (set(Layer::Site(5), warning(1.0)), host(), false),
        (set(Layer::Site(4), warning(1.0)), HostContext { site_id: None, ..host() }, false),
        (set(Layer::HostGroup(7), warning(1.0)), host(), false),
        (set(Layer::HostGroup(2), warning(1.0)), HostContext { groups: vec![], ..host() }, false),
        (set(Layer::Host(13), warning(1.0)), host(), false),
        (other_check, host(), false),
        (set(Layer::Client(3), warning(1.0)), host(), true),
        (set(Layer::Site(4), warning(1.0)), host(), true),
        (set(Layer::HostGroup(9), warning(1.0)), host(), true),
    ];
    for (candidate, host, applies) in cases {
        let explained = effective(&disk_usage(), std::slice::from_ref(&candidate), &host);
        assert_eq!(explained.steps.len() == 1, applies, "{candidate:?} on {host:?}");
        assert_eq!(explained.settings.warning == Some(1.0), applies, "{candidate:?} on {host:?}");
    }
}

#[test]
fn within_one_layer_the_later_override_wins() {
    let overrides = [set(Layer::Client(3), warning(80.0)), set(Layer::Client(3), warning(70.0))];
    let explained = effective(&disk_usage(), &overrides, &host());
    assert_eq!(explained.settings.warning, Some(70.0));
    assert_eq!(explained.steps[1].changed, [change("warning", "80", "70")]);
}

#[test]
fn every_field_can_be_overridden_and_each_change_is_recorded() {
    let everything = PartialSettings {
        enabled: Some(false),
        warning: Some(None),
        critical: Some(Some(98.0)),
        pending_for_secs: Some(600),
        params: [("history_hours".to_owned(), 24.0)].into(),
        lists: [("ports".to_owned(), vec!["22".to_owned(), "udp/53".to_owned()])].into(),
    };
    let explained = effective(&disk_usage(), &[set(Layer::Host(12), everything)], &host());
    let settings = &explained.settings;
    assert_eq!(
        (settings.enabled, settings.warning, settings.critical, settings.pending_for_secs),
        (false, None, Some(98.0), 600)
    );
    assert_eq!(settings.param("history_hours"), Some(24.0));
    assert_eq!(settings.list("ports"), ["22", "udp/53"]);
    assert_eq!(
        explained.steps[0].changed,
        [
            change("enabled", "true", "false"),
            change("warning", "90", "none"),
            change("critical", "95", "98"),
            change("pending_for_secs", "300", "600"),
            change("params.history_hours", "none", "24"),
            change("lists.ports", "none", "[22, udp/53]"),
        ]
    );
}

#[test]
fn params_and_lists_merge_by_name() {
    let definition = default_checks().into_iter().find(|check| check.name == "disk_full_forecast").unwrap();
    let mut partial = PartialSettings::default();
    partial.params.insert("extra".into(), 1.0);
    let explained = effective(
        &definition,
        &[Override { layer: Layer::Site(4), check: definition.name.into(), settings: partial }],
        &host(),
    );
    // The inherited param stays next to the new one.
    assert_eq!(explained.settings.params, [("extra".to_owned(), 1.0), ("history_hours".to_owned(), 48.0)].into());
}

#[test]
fn repeating_an_inherited_value_is_a_step_without_changes() {
    let explained = effective(&disk_usage(), &[set(Layer::Client(3), warning(90.0))], &host());
    assert_eq!(explained.steps, [ExplainStep { layer: Layer::Client(3), changed: vec![] }]);
}

#[test]
fn the_explanation_reads_top_to_bottom() {
    let mut group = PartialSettings { critical: Some(Some(98.0)), pending_for_secs: Some(600), ..Default::default() };
    group.lists.insert("ports".into(), vec!["443".into()]);
    let overrides =
        [set(Layer::Host(12), warning(85.0)), set(Layer::HostGroup(9), group), set(Layer::Client(3), warning(85.0))];
    let text = effective(&disk_usage(), &overrides, &host()).to_string();
    let expected = "\
disk_usage
  built-in      enabled=true warning=90 critical=95 pending_for_secs=300
  client 3      warning 90 → 85
  host group 9  critical 95 → 98, pending_for_secs 300 → 600, lists.ports none → [443]
  host 12       no change (same as inherited)
  effective     enabled=true warning=85 critical=98 pending_for_secs=600 lists.ports=[443]
";
    assert_eq!(text, expected);
}

#[test]
fn an_organisation_default_is_named_as_such() {
    let text = effective(&disk_usage(), &[set(Layer::Default, warning(80.0))], &host()).to_string();
    assert!(text.contains("\n  organisation  warning 90 → 80\n"), "{text}");
}

#[test]
fn partial_settings_tell_absent_from_null() {
    let cases = [
        // (JSON, warning, critical)
        (r#"{}"#, None, None),
        (r#"{"warning": null}"#, Some(None), None),
        (r#"{"warning": 85, "critical": null}"#, Some(Some(85.0)), Some(None)),
    ];
    for (json, warning, critical) in cases {
        let partial: PartialSettings = serde_json::from_str(json).unwrap();
        assert_eq!((partial.warning, partial.critical), (warning, critical), "{json}");
        let again: PartialSettings = serde_json::from_str(&serde_json::to_string(&partial).unwrap()).unwrap();
        assert_eq!(again, partial, "{json} round trip");
    }
}

#[test]
fn overrides_and_explanations_serialize() {
    let json = serde_json::to_value(set(Layer::HostGroup(9), warning(85.0))).unwrap();
    let expected = serde_json::json!({
        "layer": {"layer": "host_group", "id": 9}, "check": "disk_usage", "settings": {"warning": 85.0}
    });
    assert_eq!(json, expected);
    let default: Layer = serde_json::from_str(r#"{"layer": "default"}"#).unwrap();
    assert_eq!(default, Layer::Default);
    let explained = effective(&disk_usage(), &[set(Layer::Host(12), warning(85.0))], &host());
    let again: Explained = serde_json::from_value(serde_json::to_value(&explained).unwrap()).unwrap();
    assert_eq!(again, explained);
}
