use tend_proto::backups::{BackupRun, CheckRun, ForgetRun, RestoreTestRun};

use super::*;

const H: i64 = 3600;
const D: i64 = 24 * H;
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn ms(secs: i64) -> i64 {
    at(secs).as_millisecond()
}

fn plan(name: &str, repository: &str) -> BackupPlanFacts {
    BackupPlanFacts {
        name: name.into(),
        repository: repository.into(),
        schedule: "02:00".into(),
        check_every_days: 7,
        restore_test_every_days: 7,
        created_at: at(0),
    }
}

fn daily() -> BackupPlanFacts {
    plan("daily", "sftp:backup@nas:/srv/restic")
}

fn run(secs: i64, ok: bool) -> BackupRun {
    BackupRun {
        plan: "daily".into(),
        started_at_ms: ms(secs),
        exit_code: Some(if ok { 0 } else { 1 }),
        ok,
        snapshot_id: ok.then(|| format!("snap{secs}")),
        data_added_bytes: 100 * MIB,
        total_bytes_processed: GIB,
        errors: if ok { vec![] } else { vec!["Fatal: unable to open repository".into()] },
        ..BackupRun::default()
    }
}

fn backup(secs: i64, ok: bool) -> BackupEvent {
    BackupEvent::Backup(run(secs, ok))
}

fn sized(secs: i64, data_added_bytes: u64, total_bytes_processed: u64) -> BackupEvent {
    BackupEvent::Backup(BackupRun { data_added_bytes, total_bytes_processed, ..run(secs, true) })
}

/// restic exit 3: a snapshot was made but some files could not be read.
fn incomplete(secs: i64) -> BackupEvent {
    BackupEvent::Backup(BackupRun {
        exit_code: Some(3),
        snapshot_id: Some(format!("part{secs}")),
        errors: vec!["open /srv/locked.db: permission denied".into()],
        ..run(secs, false)
    })
}

fn forget(secs: i64, ok: bool) -> BackupEvent {
    BackupEvent::Forget(ForgetRun {
        plan: "daily".into(),
        started_at_ms: ms(secs),
        ok,
        error: (!ok).then(|| "repository is already locked".into()),
        ..ForgetRun::default()
    })
}

fn check(secs: i64, ok: bool) -> BackupEvent {
    BackupEvent::Check(CheckRun {
        plan: "daily".into(),
        started_at_ms: ms(secs),
        ok,
        read_data_subset: "5%".into(),
        errors: if ok { vec![] } else { vec!["pack 1a2b: not referenced in any index".into()] },
        ..CheckRun::default()
    })
}

fn restore_test(secs: i64, ok: bool) -> BackupEvent {
    BackupEvent::RestoreTest(RestoreTestRun {
        plan: "daily".into(),
        started_at_ms: ms(secs),
        files_sampled: 20,
        files_verified: if ok { 20 } else { 19 },
        mismatches: if ok { vec![] } else { vec!["/etc/passwd: sha256 differs".into()] },
        ok,
        ..RestoreTestRun::default()
    })
}

/// A plan in good order at `now`: backed up, pruned, checked and tested recently.
fn healthy(now: i64) -> Vec<BackupEvent> {
    vec![backup(now - H, true), forget(now - H + 600, true), check(now - D, true), restore_test(now - D, true)]
}

fn with_plan(mut event: BackupEvent, name: &str) -> BackupEvent {
    match &mut event {
        BackupEvent::Backup(run) => run.plan = name.into(),
        BackupEvent::Forget(run) => run.plan = name.into(),
        BackupEvent::Check(run) => run.plan = name.into(),
        BackupEvent::RestoreTest(run) => run.plan = name.into(),
    }
    event
}

fn evaluate(events: &[BackupEvent], now: i64) -> Vec<BackupFinding> {
    evaluate_plan(&daily(), events, at(now), &BackupPolicy::default())
}

fn level_of(findings: &[BackupFinding], kind: FindingKind) -> Option<Level> {
    findings.iter().find(|finding| finding.kind == kind).map(|finding| finding.level)
}

fn kinds(findings: &[BackupFinding]) -> Vec<FindingKind> {
    findings.iter().map(|finding| finding.kind).collect()
}

#[test]
fn a_healthy_plan_has_no_findings() {
    let now = 100 * D;
    assert_eq!(evaluate(&healthy(now), now), vec![]);
}

#[test]
fn backup_staleness_boundaries() {
    // The last good backup started at 0; stale after 24 h + 6 h, critical after 48 h.
    let cases = [
        (30 * H - 1, None),
        (30 * H, None),
        (30 * H + 1, Some(Level::Warning)),
        (48 * H - 1, Some(Level::Warning)),
        (48 * H, Some(Level::Warning)),
        (48 * H + 1, Some(Level::Critical)),
        (-H, None), // a backup from the future (agent clock ahead) is not stale
    ];
    for (now, expected) in cases {
        let findings = evaluate(&[backup(0, true), forget(60, true)], now);
        assert_eq!(level_of(&findings, FindingKind::BackupStale), expected, "now = {now}");
        assert_eq!(level_of(&findings, FindingKind::NeverBackedUp), None);
    }
}

#[test]
fn a_plan_without_events_is_never_backed_up_counted_from_its_creation() {
    let cases = [
        (30 * H, None),
        (30 * H + 1, Some(Level::Warning)),
        (48 * H, Some(Level::Warning)),
        (48 * H + 1, Some(Level::Critical)),
    ];
    for (now, expected) in cases {
        let findings = evaluate(&[], now);
        assert_eq!(level_of(&findings, FindingKind::NeverBackedUp), expected, "now = {now}");
        // Nothing to check or restore yet: only the one finding, never a stale one.
        assert!(kinds(&findings).iter().all(|kind| *kind == FindingKind::NeverBackedUp), "{findings:?}");
    }
    let findings = evaluate(&[], 100 * D);
    assert_eq!(findings[0].target, "daily");
    assert_eq!(findings[0].summary, "no backup in the 100 days since the plan was made");
}

#[test]
fn the_latest_backup_failing_is_a_warning_and_twice_in_a_row_critical() {
    let cases: [(&[bool], Option<Level>); 6] = [
        (&[true], None),
        (&[true, false], Some(Level::Warning)),
        (&[false, false], Some(Level::Critical)),
        (&[false, true], None),
        (&[false, false, true, false], Some(Level::Warning)),
        (&[true, false, false, false], Some(Level::Critical)),
    ];
    for (outcomes, expected) in cases {
        let events: Vec<_> = outcomes.iter().enumerate().map(|(day, ok)| backup(day as i64 * D, *ok)).collect();
        let now = outcomes.len() as i64 * D - H;
        let findings = evaluate(&events, now);
        assert_eq!(level_of(&findings, FindingKind::BackupFailed), expected, "{outcomes:?}");
    }
    let findings = evaluate(&[backup(0, false), backup(D, false)], D + H);
    let failed = findings.iter().find(|finding| finding.kind == FindingKind::BackupFailed).unwrap();
    assert_eq!(failed.summary, "the last backup failed: Fatal: unable to open repository (2 failed backups in a row)");
    assert_eq!(failed.evidence["failures_in_a_row"], 2);
    assert_eq!(failed.evidence["exit_code"], 1);
}

#[test]
fn exit_code_3_fails_but_its_snapshot_is_there() {
    // A good backup at 0, an incomplete one a day later.
    let events = [backup(0, true), forget(60, true), incomplete(D)];
    let findings = evaluate(&events, D + H);
    assert_eq!(kinds(&findings), [FindingKind::BackupFailed]);
    assert_eq!(findings[0].level, Level::Warning);
    assert!(
        findings[0].summary.starts_with(&format!("the last backup made snapshot part{D}")),
        "{}",
        findings[0].summary
    );
    assert!(findings[0].summary.contains("but it is incomplete"));
    assert_eq!(findings[0].evidence["snapshot_id"], format!("part{D}"));
    // Not good: staleness still counts from the complete backup at 0.
    let status = PlanStatus::of("daily", &events);
    assert_eq!(status.last_good_backup_at, Some(at(0)));
    assert_eq!(status.last_backup, Some(LastRun { at: at(D), ok: false }));
    assert_eq!(level_of(&evaluate(&events, 30 * H + 1), FindingKind::BackupStale), Some(Level::Warning));
}

#[test]
fn only_incomplete_snapshots_are_never_backed_up_but_the_restore_test_clock_runs() {
    let events = [incomplete(H)];
    let status = PlanStatus::of("daily", &events);
    assert_eq!((status.last_good_backup_at, status.first_snapshot_at), (None, Some(at(H))));
    let findings = evaluate(&events, 8 * D + H + 1);
    assert_eq!(
        kinds(&findings),
        [
            FindingKind::NeverBackedUp,
            FindingKind::BackupFailed,
            FindingKind::CheckOverdue,
            FindingKind::RestoreTestOverdue
        ]
    );
    assert!(findings[0].summary.contains("(1 incomplete snapshots)"), "{}", findings[0].summary);
    assert_eq!(findings[0].level, Level::Critical);
}

#[test]
fn events_in_any_order_give_the_same_verdict() {
    let now = 40 * D;
    let mut events: Vec<BackupEvent> = (0..20).map(|day| sized(day * D, 100 * MIB, GIB)).collect();
    events.push(sized(20 * D, 100 * MIB, 10 * GIB));
    events.push(backup(21 * D, false));
    events.extend([forget(5 * D, true), check(D, false), check(2 * D, true), restore_test(3 * D, true)]);
    events.push(restore_test(4 * D, false));
    let sorted = evaluate(&events, now);
    assert_eq!(
        kinds(&sorted),
        [
            FindingKind::BackupStale,
            FindingKind::BackupFailed,
            FindingKind::CheckOverdue,
            FindingKind::RetentionNotApplied,
            FindingKind::SizeAnomaly,
            FindingKind::RestoreTestFailed,
            FindingKind::RestoreTestOverdue
        ]
    );
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(evaluate(&reversed, now), sorted);
    for shift in [1, 7, 13] {
        let mut rotated = events.clone();
        rotated.rotate_left(shift);
        assert_eq!(evaluate(&rotated, now), sorted, "rotated by {shift}");
    }
}

#[test]
fn runs_starting_in_the_same_millisecond_count_the_good_one_as_newer() {
    for events in [[backup(0, false), backup(0, true)], [backup(0, true), backup(0, false)]] {
        assert_eq!(level_of(&evaluate(&events, H), FindingKind::BackupFailed), None);
    }
}

#[test]
fn other_plans_events_are_ignored() {
    let now = 10 * D;
    let mut events = healthy(now);
    events.extend([with_plan(backup(now - 10, false), "weekly"), with_plan(check(now - 10, false), "weekly")]);
    assert_eq!(evaluate(&events, now), vec![]);
    let weekly = evaluate_plan(&plan("weekly", "/srv/backup"), &events, at(now), &BackupPolicy::default());
    assert_eq!(level_of(&weekly, FindingKind::CheckFailed), Some(Level::Critical));
    assert!(weekly.iter().all(|finding| finding.target == "weekly"));
}

#[test]
fn an_event_at_an_impossible_instant_is_left_out() {
    let mut broken = run(0, false);
    broken.started_at_ms = i64::MAX;
    let events = [backup(0, true), forget(1, true), BackupEvent::Backup(broken)];
    assert_eq!(evaluate(&events, H), vec![]);
}

#[test]
fn retention_is_not_applied_when_good_backups_pile_up_after_the_last_good_forget() {
    let cases: [(&str, Vec<BackupEvent>, bool); 7] = [
        ("one backup, no forget yet", vec![backup(0, true)], false),
        ("two backups, no forget ever", vec![backup(0, true), backup(D, true)], true),
        ("forget after each backup", vec![backup(0, true), forget(600, true), backup(D, true)], false),
        (
            "two backups since the forget",
            vec![backup(0, true), forget(600, true), backup(D, true), backup(2 * D, true)],
            true,
        ),
        ("failed backups do not count", vec![forget(0, true), backup(D, true), backup(2 * D, false)], false),
        (
            "a failed forget is no forget",
            vec![forget(-D, true), backup(0, true), forget(600, false), backup(D, true)],
            true,
        ),
        (
            "a backup in the forget's millisecond is not after it",
            vec![forget(0, true), backup(0, true), backup(D, true)],
            false,
        ),
    ];
    for (case, events, expected) in cases {
        let findings = evaluate(&events, D + H);
        let found = level_of(&findings, FindingKind::RetentionNotApplied);
        assert_eq!(found, expected.then_some(Level::Warning), "{case}");
    }
    let findings = evaluate(&[forget(-D, true), backup(0, true), forget(600, false), backup(D, true)], D + H);
    let retention = findings.iter().find(|finding| finding.kind == FindingKind::RetentionNotApplied).unwrap();
    assert_eq!(
        retention.summary,
        "retention was not applied: 2 good backups since, the last forget failed: repository is already locked"
    );
    assert_eq!(retention.evidence["good_backups_since"], 2);
}

/// `earlier` good backups of the given total size then the newest one, daily.
fn size_history(earlier: &[u64], latest: u64) -> Vec<BackupEvent> {
    let mut events: Vec<_> =
        earlier.iter().enumerate().map(|(day, total)| sized(day as i64 * D, 100 * MIB, *total)).collect();
    events.push(sized(earlier.len() as i64 * D, 100 * MIB, latest));
    events.push(forget(earlier.len() as i64 * D + 600, true));
    events
}

fn size_verdict(events: &[BackupEvent]) -> Option<BackupFinding> {
    let now = events.iter().filter_map(|e| if let BackupEvent::Backup(r) = e { Some(r.started_at_ms) } else { None });
    let now = now.max().unwrap() / 1000 - 1_800_000_000 + H;
    evaluate(events, now).into_iter().find(|finding| finding.kind == FindingKind::SizeAnomaly)
}

#[test]
fn size_anomaly_boundaries_against_the_median() {
    let five = [GIB; 5];
    let cases = [
        ("exactly three times", size_history(&five, 3 * GIB), None),
        ("a byte more than three times", size_history(&five, 3 * GIB + 1), Some("grew")),
        ("exactly a third", size_history(&[3 * GIB; 5], GIB), None),
        ("a byte less than a third", size_history(&[3 * GIB; 5], GIB - 1), Some("shrank")),
        ("four samples are no baseline", size_history(&[GIB; 4], 100 * GIB), None),
        ("the median, not the mean", size_history(&[GIB, GIB, GIB, 100 * GIB, 100 * GIB], 3 * GIB), None),
        (
            "median of an even count",
            size_history(&[GIB, GIB, 3 * GIB, 3 * GIB, GIB, 3 * GIB], 6 * GIB + 1),
            Some("grew"),
        ),
        (
            "median of an even count, at the bound",
            size_history(&[GIB, GIB, 3 * GIB, 3 * GIB, GIB, 3 * GIB], 6 * GIB),
            None,
        ),
    ];
    for (case, events, expected) in cases {
        let finding = size_verdict(&events);
        let change = finding.as_ref().map(|f| f.evidence["total_processed"]["change"].as_str().unwrap().to_owned());
        assert_eq!(change.as_deref(), expected, "{case}");
        if let Some(finding) = finding {
            assert_eq!(finding.level, Level::Warning);
        }
    }
}

#[test]
fn size_anomaly_looks_at_the_last_fourteen_good_backups_only() {
    // 20 old backups of 100 GiB, then 14 of 1 GiB: the newest 1 GiB is usual, though the
    // median of all 34 would make it a drop.
    let mut earlier = vec![100 * GIB; 20];
    earlier.extend([GIB; 14]);
    assert_eq!(size_verdict(&size_history(&earlier, GIB)), None);
    // Failed backups neither count as samples nor as the newest one.
    let mut events = size_history(&[GIB; 5], GIB);
    let mut zero = run(5 * D + 60, false);
    zero.total_bytes_processed = 0;
    events.push(BackupEvent::Backup(zero));
    assert_eq!(size_verdict(&events), None);
    let mut four_good = size_history(&[GIB; 4], 10 * GIB);
    four_good.extend((0..5).map(|i| backup(i * D + 60, false)));
    assert_eq!(size_verdict(&four_good), None);
}

#[test]
fn small_sizes_are_floored_so_quiet_hosts_do_not_alert() {
    let quiet: Vec<BackupEvent> = (0..6).map(|day| sized(day * D, MIB, GIB)).collect();
    let with_latest = |data_added: u64| {
        let mut events = quiet.clone();
        events.push(sized(6 * D, data_added, GIB));
        events.push(forget(6 * D + 600, true));
        events
    };
    // 50× the median of 1 MiB, but both under the 64 MiB floor.
    assert_eq!(size_verdict(&with_latest(50 * MIB)), None);
    assert_eq!(size_verdict(&with_latest(192 * MIB)), None);
    let finding = size_verdict(&with_latest(192 * MIB + 1)).unwrap();
    assert_eq!(finding.evidence["data_added"]["change"], "grew");
    assert!(finding.evidence.get("total_processed").is_none());
    assert!(
        finding.summary.contains("data added grew to 192.0 MiB against a median of 1.0 MiB"),
        "{}",
        finding.summary
    );
}

#[test]
fn check_failed_is_critical_and_overdue_a_warning() {
    // Checked at 0, every 7 days plus a day of grace.
    let base = |check_ok: bool| vec![backup(-D, true), check(0, check_ok)];
    let cases = [
        (true, 8 * D - 1, None, None),
        (true, 8 * D, None, None),
        (true, 8 * D + 1, None, Some(Level::Warning)),
        (false, H, Some(Level::Critical), None),
        (false, 8 * D + 1, Some(Level::Critical), Some(Level::Warning)),
    ];
    for (ok, now, failed, overdue) in cases {
        let mut events = base(ok);
        events.extend([backup(now - H, true), forget(now - H + 1, true), restore_test(now - H, true)]);
        let findings = evaluate(&events, now);
        assert_eq!(level_of(&findings, FindingKind::CheckFailed), failed, "ok = {ok}, now = {now}");
        assert_eq!(level_of(&findings, FindingKind::CheckOverdue), overdue, "ok = {ok}, now = {now}");
    }
    let findings = evaluate(&[backup(0, true), forget(1, true), check(H, false)], 2 * H);
    assert_eq!(findings[0].summary, "the last repository check failed: pack 1a2b: not referenced in any index");
}

#[test]
fn a_plan_never_checked_is_overdue_counted_from_its_first_snapshot() {
    // First snapshot at D (the backup at 0 failed without one).
    let events = |now: i64| vec![backup(0, false), backup(D, true), backup(now - H, true), forget(now, true)];
    for (now, expected) in [(9 * D, None), (9 * D + 1, Some(Level::Warning))] {
        let findings = evaluate(&events(now), now);
        assert_eq!(level_of(&findings, FindingKind::CheckOverdue), expected, "now = {now}");
    }
    let findings = evaluate(&events(20 * D), 20 * D);
    let overdue = findings.iter().find(|finding| finding.kind == FindingKind::CheckOverdue).unwrap();
    assert_eq!(overdue.summary, "the repository was never checked, 19 days after the first snapshot");
    // The plan's own interval counts.
    let mut monthly = daily();
    monthly.check_every_days = 30;
    let findings = evaluate_plan(&monthly, &events(31 * D), at(31 * D), &BackupPolicy::default());
    assert_eq!(level_of(&findings, FindingKind::CheckOverdue), None);
}

#[test]
fn restore_tests_failed_is_critical_and_overdue_a_warning() {
    let cases = [
        (true, 8 * D, None, None),
        (true, 8 * D + 1, None, Some(Level::Warning)),
        (false, H, Some(Level::Critical), None),
        (false, 8 * D + 1, Some(Level::Critical), Some(Level::Warning)),
    ];
    for (ok, now, failed, overdue) in cases {
        let events =
            vec![backup(-D, true), restore_test(0, ok), backup(now - H, true), forget(now, true), check(now, true)];
        let findings = evaluate(&events, now);
        assert_eq!(level_of(&findings, FindingKind::RestoreTestFailed), failed, "ok = {ok}, now = {now}");
        assert_eq!(level_of(&findings, FindingKind::RestoreTestOverdue), overdue, "ok = {ok}, now = {now}");
    }
    let findings = evaluate(&[backup(0, true), forget(1, true), restore_test(H, false)], 2 * H);
    assert_eq!(findings[0].summary, "the last restore test failed: 1 of 20 files differ: /etc/passwd: sha256 differs");
    let mut errored = RestoreTestRun { plan: "daily".into(), started_at_ms: ms(H), ..RestoreTestRun::default() };
    errored.error = Some("restic restore: exit 1".into());
    let findings = evaluate(&[backup(0, true), forget(1, true), BackupEvent::RestoreTest(errored)], 2 * H);
    assert_eq!(findings[0].summary, "the last restore test failed: restic restore: exit 1");
}

#[test]
fn the_first_restore_test_is_due_eight_days_after_the_first_snapshot_whatever_the_interval() {
    let mut monthly = daily();
    monthly.restore_test_every_days = 30;
    for (now, expected) in [(8 * D - 1, None), (8 * D, None), (8 * D + 1, Some(Level::Warning))] {
        let events = [backup(0, true), backup(now - H, true), forget(now, true), check(now, true)];
        let findings = evaluate_plan(&monthly, &events, at(now), &BackupPolicy::default());
        assert_eq!(level_of(&findings, FindingKind::RestoreTestOverdue), expected, "now = {now}");
    }
    // Once tested, the plan's interval: 30 days plus a day.
    let events =
        [backup(0, true), restore_test(D, true), backup(31 * D, true), forget(31 * D, true), check(31 * D, true)];
    let findings = evaluate_plan(&monthly, &events, at(31 * D + H), &BackupPolicy::default());
    assert_eq!(findings, vec![]);
}

#[test]
fn days_are_elapsed_time_so_a_clock_change_does_not_move_a_verdict() {
    // Europe's clocks went forward on 2026-03-29 at 01:00 UTC; 30 h are 30 h either way.
    let last: Timestamp = "2026-03-28T01:00:00Z".parse().unwrap();
    let mut good = run(0, true);
    good.started_at_ms = last.as_millisecond();
    let events = [BackupEvent::Backup(good)];
    let mut plan = daily();
    plan.created_at = last;
    let stale_at = |now: &str| {
        let findings = evaluate_plan(&plan, &events, now.parse().unwrap(), &BackupPolicy::default());
        level_of(&findings, FindingKind::BackupStale)
    };
    assert_eq!(stale_at("2026-03-29T07:00:00Z"), None);
    assert_eq!(stale_at("2026-03-29T07:00:01Z"), Some(Level::Warning));
}

#[test]
fn the_default_policy_is_the_documented_one_and_valid() {
    let policy = BackupPolicy::default();
    assert_eq!(policy.validate(), Ok(()));
    assert_eq!((policy.stale_grace_hours, policy.stale_critical_hours, policy.failures_for_critical), (6, 48, 2));
    assert_eq!((policy.size_factor, policy.size_window, policy.size_min_samples), (3.0, 14, 5));
    assert_eq!((policy.min_copies, policy.min_repositories, policy.require_off_site), (3, 2, true));
    assert_eq!(serde_json::from_str::<BackupPolicy>("{}").unwrap(), policy);
    assert!(serde_json::from_str::<BackupPolicy>(r#"{"stale_grace": 6}"#).is_err());
}

#[test]
fn bad_policies_are_refused_with_the_field_named() {
    type Spoil = fn(&mut BackupPolicy);
    let cases: [(&str, Spoil); 12] = [
        ("stale_critical_hours", |p| p.stale_critical_hours = 29),
        ("stale_grace_hours", |p| p.stale_grace_hours = 100_000),
        ("check_grace_hours", |p| p.check_grace_hours = u32::MAX),
        ("failures_for_critical", |p| p.failures_for_critical = 0),
        ("retention_backups", |p| p.retention_backups = 0),
        ("size_factor", |p| p.size_factor = 1.0),
        ("size_factor", |p| p.size_factor = f64::NAN),
        ("size_window", |p| p.size_window = 0),
        ("size_min_samples", |p| p.size_min_samples = 15),
        ("first_restore_test_days", |p| p.first_restore_test_days = 0),
        ("min_copies", |p| p.min_copies = 0),
        ("min_repositories", |p| p.min_repositories = 11),
    ];
    for (field, spoil) in cases {
        let mut policy = BackupPolicy::default();
        spoil(&mut policy);
        match policy.validate() {
            Err(Error::Invalid { field: named, .. }) => assert_eq!(named, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // At the bound: critical exactly when the warning starts is allowed.
    let policy = BackupPolicy { stale_critical_hours: 30, ..BackupPolicy::default() };
    assert_eq!(policy.validate(), Ok(()));
}

#[test]
fn kinds_are_named_as_serialized() {
    for kind in FindingKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    let names: BTreeSet<_> = FindingKind::ALL.iter().map(|kind| kind.as_str()).collect();
    assert_eq!(names.len(), FindingKind::ALL.len());
}

#[test]
fn repository_locations() {
    let cases = [
        ("/srv/restic", "this host", false),
        ("local:/mnt/usb/restic", "this host", false),
        ("sftp:backup@nas:/srv/restic", "nas", false),
        ("sftp:backup@Backup.Example.COM:/srv/restic", "backup.example.com", true),
        ("sftp://backup@backup.example.com:2222//srv/restic", "backup.example.com", true),
        ("sftp:backup@[2001:db8::1]:/srv", "2001:db8::1", true),
        ("sftp:backup@[fd00::1]:/srv", "fd00::1", false),
        ("sftp:localhost:/srv/restic", "this host", false),
        ("rest:https://user:secret@backup.example.com:8000/host1/", "backup.example.com", true),
        ("rest:http://192.168.1.20:8000/", "192.168.1.20", false),
        ("rest:http://127.0.0.1:8000/", "this host", false),
        ("rest:http://10.0.0.5/", "10.0.0.5", false),
        ("rest:https://nas.local:8000/", "nas.local", false),
        ("rest:https://backup.corp.internal/", "backup.corp.internal", false),
        ("s3:s3.amazonaws.com/bucket/host1", "s3.amazonaws.com", true),
        ("s3:https://minio.lan:9000/bucket", "minio.lan", false),
        ("s3:https://s3.eu-central-1.wasabisys.com/bucket", "s3.eu-central-1.wasabisys.com", true),
        ("b2:bucket:host1", "Backblaze B2", true),
        ("azure:container:/host1", "Azure Blob Storage", true),
        ("gs:bucket:/host1", "Google Cloud Storage", true),
        ("swift:container:/host1", "OpenStack Swift", true),
        ("rclone:onedrive:backups", "rclone remote onedrive", true),
    ];
    for (repository, name, off_site) in cases {
        assert_eq!(location(repository), Location { name: name.into(), off_site }, "{repository}");
    }
}

fn events_for(name: &str, events: Vec<BackupEvent>) -> Vec<BackupEvent> {
    events.into_iter().map(|event| with_plan(event, name)).collect()
}

#[test]
fn posture_counts_current_copies_repositories_and_locations() {
    let now = 10 * D;
    let policy = BackupPolicy::default();
    let local = plan("local", "/srv/restic");
    let cloud = plan("cloud", "b2:bucket:host1");
    let nas = plan("nas", "sftp:backup@nas:/srv/restic");
    let current = |name: &str| events_for(name, vec![backup(now - H, true)]);
    let stale = |name: &str| events_for(name, vec![backup(now - 30 * H - 1, true)]);

    // All three legs: live data, a local repository, a current off-site one.
    let events = [current("local"), current("cloud")].concat();
    let good = posture(&[local.clone(), cloud.clone()], &events, at(now), &policy);
    assert_eq!((good.copies, good.repositories, good.locations, good.off_site), (3, 2, 2, true));
    assert_eq!(good.findings, vec![]);

    // The off-site plan stopped: fix that plan, do not add a repository.
    let events = [current("local"), stale("cloud")].concat();
    let stopped = posture(&[local.clone(), cloud.clone()], &events, at(now), &policy);
    assert_eq!((stopped.copies, stopped.repositories, stopped.off_site), (2, 2, false));
    assert_eq!(kinds(&stopped.findings), [FindingKind::TooFewCopies, FindingKind::NoOffSiteCopy]);
    assert!(stopped.findings[0].summary.ends_with("make plans cloud succeed again"), "{}", stopped.findings[0].summary);
    assert!(stopped.findings[1].summary.contains("the off-site repository has no current backup"));
    assert!(stopped.findings.iter().all(|f| f.level == Level::Warning && f.target == POSTURE_TARGET));

    // One repository on the LAN: every leg short, each with its fix.
    let single = posture(std::slice::from_ref(&nas), &current("nas"), at(now), &policy);
    assert_eq!((single.copies, single.repositories, single.locations, single.off_site), (2, 1, 1, false));
    assert_eq!(
        kinds(&single.findings),
        [FindingKind::TooFewCopies, FindingKind::TooFewRepositories, FindingKind::NoOffSiteCopy]
    );
    assert_eq!(
        single.findings[1].summary,
        "1 backup repositories, 2 wanted: add a second repository at another location"
    );
    assert!(single.findings[2].summary.contains("add a repository off the site"));
}

#[test]
fn posture_counts_a_shared_repository_once_and_two_at_one_place_as_one_location() {
    let now = 10 * D;
    let policy = BackupPolicy { require_off_site: false, ..BackupPolicy::default() };
    let events = [events_for("a", vec![backup(now - H, true)]), events_for("b", vec![backup(now - H, true)])].concat();

    let shared = [plan("a", "sftp:backup@nas:/srv/restic"), plan("b", " sftp:backup@nas:/srv/restic/ ")];
    let posture_shared = posture(&shared, &events, at(now), &policy);
    assert_eq!((posture_shared.copies, posture_shared.repositories), (2, 1));
    assert_eq!(kinds(&posture_shared.findings), [FindingKind::TooFewCopies, FindingKind::TooFewRepositories]);

    let same_place = [plan("a", "sftp:backup@nas:/srv/one"), plan("b", "sftp:backup@nas:/srv/two")];
    let posture_same = posture(&same_place, &events, at(now), &policy);
    assert_eq!((posture_same.copies, posture_same.repositories, posture_same.locations), (3, 2, 1));
    assert_eq!(kinds(&posture_same.findings), [FindingKind::TooFewRepositories]);
    assert!(posture_same.findings[0].summary.contains("only at nas: move one to another location"));
}

#[test]
fn posture_without_plans_asks_for_a_plan_and_never_shows_credentials() {
    let none = posture(&[], &[], at(0), &BackupPolicy::default());
    assert_eq!((none.copies, none.repositories, none.locations, none.off_site), (1, 0, 0, false));
    assert!(none.findings[0].summary.ends_with("add a backup plan, and a second repository at another location"));

    let rest = plan("daily", "rest:https://user:hunter22@backup.example.com/host1/");
    let found = posture(&[rest], &[backup(0, true)], at(H), &BackupPolicy::default());
    assert!(found.off_site);
    let text = serde_json::to_string(&found).unwrap();
    assert!(!text.contains("hunter22") && !text.contains("user:"), "{text}");
}

#[test]
fn host_summary_reports_the_plan_left_furthest_behind() {
    let now = 20 * D;
    let policy = BackupPolicy::default();
    let plans = [plan("local", "/srv/restic"), plan("cloud", "b2:bucket:host1")];
    let mut events = events_for("local", healthy(now));
    events.extend(events_for("cloud", vec![backup(now - 2 * D, true), restore_test(now - 3 * D, true)]));
    let host = summary(&plans, &events, at(now), &policy);
    assert_eq!(host.last_good_backup_at, Some(at(now - 2 * D)));
    assert_eq!(host.age, Some(SignedDuration::from_hours(48)));
    assert_eq!((host.last_restore_test_at, host.last_restore_test_ok), (Some(at(now - 3 * D)), Some(true)));
    // The cloud plan is stale (warning) and, without a current off-site copy, so is the posture.
    assert_eq!(host.worst_level, Some(Level::Warning));

    events.push(with_plan(restore_test(now - H, false), "cloud"));
    let host = summary(&plans, &events, at(now), &policy);
    assert_eq!((host.last_restore_test_at, host.last_restore_test_ok), (Some(at(now - D)), Some(false)));
    assert_eq!(host.worst_level, Some(Level::Critical));
}

#[test]
fn host_summary_of_untested_and_never_backed_up_plans() {
    let now = 5 * D;
    let plans = [plan("local", "/srv/restic"), plan("cloud", "b2:bucket:host1")];
    let events = events_for("local", vec![backup(now - H, true)]);
    let host = summary(&plans, &events, at(now), &BackupPolicy::default());
    assert_eq!((host.last_good_backup_at, host.age), (None, None));
    assert_eq!((host.last_restore_test_at, host.last_restore_test_ok), (None, None));
    assert_eq!(host.worst_level, Some(Level::Critical)); // cloud: never backed up in 5 days

    let none = summary(&[], &[], at(now), &BackupPolicy::default());
    assert_eq!((none.last_good_backup_at, none.last_restore_test_ok), (None, None));
    assert_eq!(none.worst_level, Some(Level::Warning)); // the posture: no backup at all

    let all_well = summary(
        &[plan("local", "/srv/restic"), plan("cloud", "b2:bucket:host1")],
        &[events_for("local", healthy(now)), events_for("cloud", healthy(now))].concat(),
        at(now),
        &BackupPolicy::default(),
    );
    assert_eq!(all_well.worst_level, None);
    assert_eq!(all_well.last_restore_test_ok, Some(true));
}
