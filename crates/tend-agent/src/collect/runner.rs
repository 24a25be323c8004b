//! Runs the collectors: each when it is due, all at once, each within its own deadline.

use std::time::{Duration, Instant};

use tend_proto::agent::Sections;
use tend_proto::inventory::CollectorStatus;
use tokio::task::JoinHandle;

use super::{Collector, Section};
use crate::Error;

type Run = JoinHandle<(Box<dyn Collector>, Result<Section, Error>)>;

/// The collectors of one agent and when each is next due.
pub struct CollectorSet {
    slots: Vec<Slot>,
}

struct Slot {
    name: &'static str,
    timeout: Duration,
    period: Duration,
    next_due: Option<Instant>,
    state: State,
    /// The problem last logged, so a lasting one is logged once.
    problem: Option<String>,
}

enum State {
    Idle(Box<dyn Collector>),
    /// Past its deadline and still running: not started again until it returns.
    Abandoned(Run),
    /// Transient, while a run is being awaited.
    Taken,
}

impl CollectorSet {
    pub fn new(collectors: Vec<Box<dyn Collector>>) -> CollectorSet {
        let slots = collectors
            .into_iter()
            .map(|c| Slot {
                name: c.name(),
                timeout: c.timeout(),
                period: c.period(),
                next_due: None,
                state: State::Idle(c),
                problem: None,
            })
            .collect();
        CollectorSet { slots }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.slots.iter().map(|s| s.name).collect()
    }

    /// Makes the collector named `name` due at the next [`CollectorSet::collect`], whenever it
    /// last ran: something (a job) changed what it reads.
    pub fn make_due(&mut self, name: &str) {
        for slot in self.slots.iter_mut().filter(|slot| slot.name == name && slot.period != Duration::MAX) {
            slot.next_due = None;
        }
    }

    /// Runs every due collector concurrently and gathers their sections and statuses.
    pub async fn collect(&mut self) -> Sections {
        let now = Instant::now();
        let mut running = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            slot.reclaim_finished().await;
            if slot.next_due.is_some_and(|due| due > now) {
                continue;
            }
            if let State::Idle(_) = slot.state {
                let State::Idle(mut collector) = std::mem::replace(&mut slot.state, State::Taken) else {
                    continue;
                };
                slot.next_due = Some(now + slot.period);
                let run = tokio::task::spawn_blocking(move || {
                    let result = collector.collect();
                    (collector, result)
                });
                running.push((index, now + slot.timeout, now, run));
            }
        }
        let mut sections = Sections::default();
        for (index, deadline, started, mut run) in running {
            let slot = &mut self.slots[index];
            let outcome = match tokio::time::timeout_at(deadline.into(), &mut run).await {
                Ok(Ok((collector, result))) => {
                    slot.state = State::Idle(collector);
                    result
                }
                Ok(Err(join)) => {
                    // A panicking collector is a bug; it is not run again, the others go on.
                    slot.next_due = None;
                    slot.period = Duration::MAX;
                    Err(Error::Failed(format!("collector crashed: {join}")))
                }
                Err(_) => {
                    slot.state = State::Abandoned(run);
                    Err(Error::TimedOut { tool: slot.name.to_owned(), seconds: slot.timeout.as_secs() })
                }
            };
            let status = slot.record(outcome, started.elapsed(), &mut sections);
            sections.collectors.push(status);
        }
        sections
    }
}

impl Slot {
    async fn reclaim_finished(&mut self) {
        if let State::Abandoned(run) = &self.state
            && run.is_finished()
        {
            let State::Abandoned(run) = std::mem::replace(&mut self.state, State::Taken) else { return };
            // Finished, so this does not wait; the stale result is dropped.
            if let Ok((collector, _)) = run.await {
                self.state = State::Idle(collector);
            }
        }
    }

    fn record(&mut self, outcome: Result<Section, Error>, took: Duration, sections: &mut Sections) -> CollectorStatus {
        let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let (status, problem) = match outcome {
            Ok(section) => {
                section.apply(sections);
                ("ok", None)
            }
            Err(error) => (error.collector_outcome(), Some(error.to_string())),
        };
        if problem != self.problem {
            match &problem {
                Some(problem) => tracing::warn!(collector = self.name, outcome = status, %problem, "collector problem"),
                None => tracing::info!(collector = self.name, "collector recovered"),
            }
            self.problem.clone_from(&problem);
        }
        CollectorStatus { name: self.name.to_owned(), outcome: status.to_owned(), detail: problem, duration_ms }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    struct Fake {
        name: &'static str,
        delay: Duration,
        period: Duration,
        runs: Arc<AtomicU32>,
        fail: bool,
    }

    impl Collector for Fake {
        fn name(&self) -> &'static str {
            self.name
        }
        fn timeout(&self) -> Duration {
            Duration::from_millis(300)
        }
        fn period(&self) -> Duration {
            self.period
        }
        fn collect(&mut self) -> Result<Section, Error> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
            if self.fail { Err(Error::Unavailable("no such tool".into())) } else { Ok(Section::Metrics(vec![])) }
        }
    }

    fn fake(name: &'static str, delay_ms: u64, period: Duration, fail: bool) -> (Box<dyn Collector>, Arc<AtomicU32>) {
        let runs = Arc::new(AtomicU32::new(0));
        let collector = Fake { name, delay: Duration::from_millis(delay_ms), period, runs: runs.clone(), fail };
        (Box::new(collector), runs)
    }

    fn outcome(sections: &Sections, name: &str) -> Option<String> {
        sections.collectors.iter().find(|c| c.name == name).map(|c| c.outcome.clone())
    }

    #[tokio::test]
    async fn a_slow_collector_is_abandoned_without_holding_up_the_others() {
        let (fast, _) = fake("fast", 0, Duration::ZERO, false);
        let (slow, slow_runs) = fake("slow", 1000, Duration::ZERO, false);
        let (missing, _) = fake("missing", 0, Duration::ZERO, true);
        let mut set = CollectorSet::new(vec![fast, slow, missing]);
        let started = Instant::now();
        let first = set.collect().await;
        assert!(started.elapsed() < Duration::from_millis(900), "waited for the slow one");
        assert_eq!(outcome(&first, "fast").as_deref(), Some("ok"));
        assert_eq!(outcome(&first, "slow").as_deref(), Some("failed"));
        assert_eq!(outcome(&first, "missing").as_deref(), Some("unavailable"));

        // Still running: not started a second time.
        let second = set.collect().await;
        assert_eq!(outcome(&second, "slow"), None);
        assert_eq!(slow_runs.load(Ordering::SeqCst), 1);

        tokio::time::sleep(Duration::from_millis(800)).await;
        set.collect().await;
        assert_eq!(slow_runs.load(Ordering::SeqCst), 2, "reclaimed after it finished, and run again");
    }

    #[tokio::test]
    async fn collectors_run_only_when_due() {
        let (hourly, hourly_runs) = fake("hourly", 0, Duration::from_secs(3600), false);
        let (always, always_runs) = fake("always", 0, Duration::ZERO, false);
        let mut set = CollectorSet::new(vec![hourly, always]);
        for _ in 0..3 {
            set.collect().await;
        }
        assert_eq!((hourly_runs.load(Ordering::SeqCst), always_runs.load(Ordering::SeqCst)), (1, 3));
        assert_eq!(set.names(), vec!["hourly", "always"]);
        set.make_due("hourly");
        set.collect().await;
        set.collect().await;
        assert_eq!(hourly_runs.load(Ordering::SeqCst), 2, "made due once, then hourly again");
    }
}
